"""Untrusted XML in, validated trees out: the one place where SEPA bytes meet a parser.

Bank files come from outside (a bank, an operator's upload), so they are parsed with entity resolution, DTD
loading and network access switched off, a DOCTYPE refused outright (camt and pain files never carry one, and
it is the door for XXE and "billion laughs"), libxml2's depth and text-size limits left on, and a size limit
checked before any parsing. Schemas are compiled once per thread: compiling is the slow part, and lxml objects
are best not shared between threads (the bank simulator serves files from several).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ISO20022_NAMESPACE_PREFIX",
    "Paths",
    "XmlProblem",
    "local_name",
    "message_of",
    "namespace_of",
    "parse_untrusted",
    "schema_errors",
    "validated_document",
]

ISO20022_NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # 10,000 transfers make a 6 MB pain.001, 10,000 entries an 11 MB camt.053
_NAMESPACE_IN_BRACES = re.compile(r"\{(?:urn|https?):[^}]*\}")  # not a regex quantifier such as {2,2}
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_local = threading.local()


class XmlProblem(Exception):
    """Why bytes were refused, and where; each module turns it into its own SepaError subclass."""

    def __init__(self, detail: str, *, line: int | None = None, path: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.line = line
        self.path = path


def parse_untrusted(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse bytes from outside into an lxml element tree root, refusing anything dangerous or oversized."""
    if not isinstance(xml, bytes):
        raise TypeError(f"XML is read from bytes, not {type(xml).__name__}")
    if len(xml) > max_bytes:
        raise XmlProblem(f"the file is {len(xml)} bytes, more than the {max_bytes}-byte limit")
    if not xml.strip():
        raise XmlProblem("the file is empty")
    # Refused before parsing, so that even libxml2's handling of the declarations never runs; the check after
    # parsing catches a DOCTYPE this byte search misses (a UTF-16 file).
    doctype = _DOCTYPE.search(xml)
    if doctype is not None:
        raise XmlProblem("a DOCTYPE is not allowed in a bank file", line=xml[: doctype.start()].count(b"\n") + 1)
    parser = etree.XMLParser(
        resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise XmlProblem(f"not well-formed XML: {exc.msg}", line=line) from None
    if root.getroottree().docinfo.internalDTD is not None or root.getroottree().docinfo.doctype:
        raise XmlProblem("a DOCTYPE is not allowed in a bank file", line=1)
    return root


def namespace_of(element: Any) -> str:
    """The namespace URI of an element ('' when it has none)."""
    return str(etree.QName(element).namespace or "")


def local_name(element: Any) -> str:
    """An element's tag without its namespace ('' for a comment or a processing instruction, which have none)."""
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def message_of(root: Any) -> Any:
    """The message inside a ``<Document>`` (``BkToCstmrStmt``, ``CstmrCdtTrfInitn``...), skipping comments."""
    for child in root:
        if isinstance(child.tag, str):
            return child
    raise XmlProblem(f"<{local_name(root)}> holds no message", line=root.sourceline)


def validated_document(
    xml: bytes, schemas: Mapping[str, Path], *, what: str, accepted: str, max_bytes: int
) -> tuple[str, Any]:
    """Parse untrusted bytes whose root must be a ``<Document>`` of one of the ISO 20022 messages in ``schemas``
    (keyed by message name, "camt.053.001.02"), and validate it against that message's XSD: the message name and
    the root, or an ``XmlProblem`` saying what and where (``what`` and ``accepted`` name the kinds for people)."""
    root = parse_untrusted(xml, max_bytes=max_bytes)
    namespace = namespace_of(root)
    kind = namespace.removeprefix(ISO20022_NAMESPACE_PREFIX)
    if local_name(root) != "Document" or not namespace.startswith(ISO20022_NAMESPACE_PREFIX) or kind not in schemas:
        raise XmlProblem(
            f"not {what}: root <{local_name(root)}> in namespace {namespace or '(none)'!r}; expected a <Document> "
            f"of {accepted}",
            line=root.sourceline,
        )
    problems = schema_errors(root, schemas[kind])
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise XmlProblem(
            f"{kind} breaks its schema at line {first.line}, {first.path}: {first.detail}{more}",
            line=first.line,
            path=first.path,
        )
    return kind, root


def schema_errors(root: Any, xsd: Path, *, limit: int = 20) -> list[XmlProblem]:
    """Validate a parsed tree against an XSD; the first ``limit`` violations with line and path (empty: valid)."""
    schemas: dict[Path, Any] = getattr(_local, "schemas", None) or {}
    _local.schemas = schemas
    schema = schemas.get(xsd)
    if schema is None:
        schema = schemas[xsd] = etree.XMLSchema(etree.parse(str(xsd)))
    if schema.validate(root):
        return []
    return [
        XmlProblem(_without_namespaces(error.message), line=error.line, path=_readable_path(root, error.path))
        for error in list(schema.error_log)[:limit]
    ]


def _readable_path(root: Any, xpath: str | None) -> str | None:
    """libxml2 reports ``/*/*/*[2]/*[12]``; an operator wants ``Document/CstmrCdtTrfInitn/PmtInf/CdtTrfTxInf[12]``."""
    if not xpath:
        return None
    try:
        found = root.getroottree().xpath(xpath)
    except etree.XPathError:
        return xpath
    if not found or not isinstance(found[0], etree._Element):
        return xpath
    if found[0] is root:
        return local_name(root)
    return _without_namespaces(f"{local_name(root)}/{root.getroottree().getelementpath(found[0])}")


def _without_namespaces(text: str) -> str:
    return _NAMESPACE_IN_BRACES.sub("", text)


class Paths:
    """An element's descendants by their path of local names (``"Refs/EndToEndId"``), gathered in one walk.

    Why not ``element.find``: lxml's ElementPath runs in Python and costs some 20 microseconds a lookup, which made
    a 10,000-entry statement take seconds to read; one walk per element and dictionary lookups take a tenth of
    that. Namespaces are dropped: the file has passed the XSD of one namespace by the time it is read.
    """

    __slots__ = ("_elements",)

    def __init__(self, element: Any, *, skip: frozenset[str] = frozenset()) -> None:
        """Walk ``element``; children named in ``skip`` are listed but not walked into (a statement's thousands
        of entries, read one by one later)."""
        self._elements: dict[str, list[Any]] = {}
        self._walk(element, "", skip)

    def _walk(self, element: Any, prefix: str, skip: frozenset[str]) -> None:
        for child in element:
            tag = child.tag
            if not isinstance(tag, str):  # a comment or a processing instruction
                continue
            name = tag.rpartition("}")[2]
            path = f"{prefix}/{name}" if prefix else name
            self._elements.setdefault(path, []).append(child)
            if name not in skip:
                self._walk(child, path, frozenset())

    def all(self, path: str) -> list[Any]:
        """Every element at ``path``, in document order."""
        return self._elements.get(path, [])

    def first(self, path: str) -> Any | None:
        """The first element at ``path``, or None."""
        found = self._elements.get(path)
        return found[0] if found else None

    def text(self, *paths: str) -> str | None:
        """The stripped text of the first of ``paths`` that holds some; None when none does."""
        for path in paths:
            found = self._elements.get(path)
            if found and found[0].text is not None:
                value = str(found[0].text).strip()
                if value:
                    return value
        return None

    def texts(self, path: str) -> list[str]:
        """The stripped, non-empty texts of every element at ``path``."""
        return [str(e.text).strip() for e in self._elements.get(path, []) if e.text is not None and e.text.strip()]
