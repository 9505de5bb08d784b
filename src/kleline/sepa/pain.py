"""What pain.001 and pain.008 files share: telling them apart, checking them against their XSD, and the rules
Kleline enforces before handing values to sepaxml (so that a bad value is refused with the name of the field that
holds it, instead of an XSD error pointing at line 40,312 of a generated file).

The XSDs are the ones sepaxml ships (``sepaxml/schemas``): the same files sepaxml itself validates against, used
here through libxml2 (lxml) because the pure-Python validator sepaxml calls (xmlschema) takes some 7 seconds on a
10,000-transfer file where libxml2 takes a tenth of a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sepaxml
from lxml import etree

from kleline.money import Money
from kleline.sepa.errors import SepaFileInvalid
from kleline.sepa.xml import (
    DEFAULT_MAX_BYTES,
    ISO20022_NAMESPACE_PREFIX,
    Paths,
    XmlProblem,
    local_name,
    message_of,
    namespace_of,
    parse_untrusted,
    schema_errors,
    validated_document,
)

__all__ = [
    "PAIN_NAMESPACE_PREFIX",
    "check_amount",
    "check_bic",
    "check_iban",
    "check_identifier",
    "check_text",
    "check_unique",
    "finish",
    "iso_datetime",
    "parse_date",
    "validate_pain",
    "validated_pain",
]

PAIN_NAMESPACE_PREFIX = ISO20022_NAMESPACE_PREFIX
_SCHEMAS = Path(sepaxml.__file__).parent / "schemas"
_KINDS = {path.stem: path for path in sorted(_SCHEMAS.glob("pain.00[18].*.xsd"))}
_MAX_SEPA_MINOR = 99_999_999_999  # 999,999,999.99 EUR: the largest amount the SEPA rulebooks allow
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}")  # the pain XSDs' pattern
_BIC = re.compile(r"[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?")
_TRANSACTIONS = frozenset({"CdtTrfTxInf", "DrctDbtTxInf"})


def validate_pain(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Check a pain.001/pain.008 file against the XSD its namespace names; return its kind ("pain.001.001.03")."""
    kind, _root = validated_pain(xml, max_bytes=max_bytes)
    return kind


def validated_pain(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, Any]:
    """``validate_pain``, also handing back the parsed tree so that readers do not parse the file twice."""
    try:
        return validated_document(
            xml, _KINDS, what="a pain file we know", accepted=", ".join(_KINDS), max_bytes=max_bytes
        )
    except XmlProblem as problem:
        raise SepaFileInvalid(problem.detail, line=problem.line, path=problem.path) from None


def check_identifier(value: str, param: str, *, max_length: int = 35) -> None:
    """A reference (message id, end-to-end id, mandate id): 1 to 35 characters, no surrounding spaces."""
    if not isinstance(value, str) or not value or value != value.strip() or len(value) > max_length:
        raise SepaFileInvalid(
            f"{param} must be 1 to {max_length} characters without surrounding spaces, got {value!r}", param=param
        )


def check_text(value: str, param: str, *, max_length: int) -> None:
    """A free text (name, remittance information): not blank, at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise SepaFileInvalid(f"{param} must be 1 to {max_length} characters, got {value!r}", param=param)


def check_amount(amount: Money, param: str) -> None:
    """A SEPA amount: euros (SEPA is a euro scheme), more than zero, at most 999,999,999.99."""
    if not isinstance(amount, Money):
        raise TypeError(f"{param} must be Money, not {type(amount).__name__}")
    if amount.currency != "EUR":
        raise SepaFileInvalid(f"{param} is in {amount.currency}: SEPA files carry euros only", param=param)
    if not 0 < amount.minor <= _MAX_SEPA_MINOR:
        raise SepaFileInvalid(f"{param} must be between 0.01 and 999999999.99 EUR, got {amount}", param=param)


def check_iban(value: str, param: str) -> None:
    """The shape of an IBAN as the pain XSDs define it (the checksum is the business of whoever registered it)."""
    if not isinstance(value, str) or not _IBAN.fullmatch(value):
        raise SepaFileInvalid(f"{param} is not an IBAN (upper case, no spaces): {value!r}", param=param)


def check_bic(value: str, param: str) -> None:
    """The shape of a BIC (8 or 11 characters)."""
    if not isinstance(value, str) or not _BIC.fullmatch(value):
        raise SepaFileInvalid(f"{param} is not a BIC (8 or 11 characters, upper case): {value!r}", param=param)


def check_unique(end_to_end_ids: Iterable[str], param: str) -> None:
    """End-to-end ids are how statement lines find their payout or collection again: one file may not repeat one."""
    seen: set[str] = set()
    for index, value in enumerate(end_to_end_ids):
        if value in seen:
            where = f"{param}[{index}].end_to_end_id"
            raise SepaFileInvalid(f"{where} {value!r} appears twice", param=where)
        seen.add(value)


def finish(document: bytes, *, message_id: str, created_at: datetime) -> bytes:
    """Make sepaxml's output deterministic and check it: our message id and time instead of its random id and
    ``now()``, payment-information ids derived from the message id, then the XSD. The same inputs give the same
    bytes, so a settlement run can rebuild its file instead of storing it."""
    root = parse_untrusted(document, max_bytes=len(document))
    namespace = namespace_of(root)
    blocks = 0
    for part in message_of(root):  # the group header, then the payment-information blocks
        name = local_name(part)
        if name == "GrpHdr":
            header = Paths(part)
            _set(header, "MsgId", message_id)
            _set(header, "CreDtTm", iso_datetime(created_at))
        elif name == "PmtInf":
            blocks += 1
            suffix = f"-{blocks}"
            _set(Paths(part, skip=_TRANSACTIONS), "PmtInfId", message_id[: 35 - len(suffix)] + suffix)
    problems = schema_errors(root, _KINDS[namespace.removeprefix(PAIN_NAMESPACE_PREFIX)])
    if problems:
        first = problems[0]
        raise SepaFileInvalid(
            f"the file would break its schema at {first.path}: {first.detail}", line=first.line, path=first.path
        )
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def iso_datetime(moment: datetime) -> str:
    """An ISO 20022 date-time in UTC, to the second (``2026-01-15T09:30:00Z``); naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are refused: every Kleline time is UTC")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str | None, param: str) -> date:
    """A date the XSD already checked (``YYYY-MM-DD``)."""
    if text is None:
        raise SepaFileInvalid(f"{param} is missing", param=param)
    return date.fromisoformat(text[:10])


def _set(paths: Paths, name: str, value: str) -> None:
    element = paths.first(name)
    if element is None:  # sepaxml always writes these; a None here means its output changed shape
        raise SepaFileInvalid(f"sepaxml wrote a file without <{name}>")
    element.text = value
