"""SEPA file errors: bytes that are not the file they claim to be, or values that cannot be written into one.

KlelineError
 └── SepaError
      ├── SepaFileInvalid      a pain.001/pain.008 that breaks its XSD (or values that would), with where and why
      └── MalformedStatement   bytes that are not a well-formed, schema-valid camt.053 statement

Both say *where* the problem is (``line`` and an XPath-like ``path`` when the schema validator reports them) so that
an operator can open the file at the right place; the API carries them as problem-document extension members.
"""

from __future__ import annotations

from kleline.errors import KlelineError, ValidationError

__all__ = ["MalformedStatement", "SepaError", "SepaFileInvalid"]


class SepaError(KlelineError):
    """Root of the SEPA file refusals."""

    code = "sepa_error"
    status = 400

    def __init__(
        self, detail: str, *, param: str | None = None, line: int | None = None, path: str | None = None
    ) -> None:
        super().__init__(detail, param=param)
        self.line = line
        self.path = path

    def extensions(self) -> dict[str, object]:
        """The position of the problem in the file, when known."""
        found = {"line": self.line, "path": self.path}
        return {key: value for key, value in found.items() if value is not None}


class SepaFileInvalid(SepaError, ValidationError):
    """A pain.001 or pain.008 file (received or about to be written) breaks its XSD or a SEPA rule."""

    code = "sepa_file_invalid"


class MalformedStatement(SepaError, ValidationError):
    """Bytes that are not XML, not a camt.053 statement of a version we know, or break that version's XSD."""

    code = "malformed_statement"
