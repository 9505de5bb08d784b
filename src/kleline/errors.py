"""The root of every error Kleline raises on purpose.

    KlelineError
     ├── ValidationError          input that breaks a rule before anything is touched
     ├── NotFound                 an object that does not exist (or that the caller may not see)
     ├── Conflict                 a request that clashes with what is already recorded
     └── (families of each package: ledger.errors.LedgerError, ...)

Each error carries a stable machine ``code``: the API turns it into problem JSON, the CLI into a message and exit
status. Only interfaces translate; everything below raises.
"""

from __future__ import annotations

__all__ = ["Conflict", "KlelineError", "NotFound", "ValidationError"]


class KlelineError(Exception):
    """Something Kleline refused on purpose; ``code`` is stable and machine-readable."""

    code = "kleline_error"
    status = 400

    def __init__(self, detail: str, *, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param

    def extensions(self) -> dict[str, object]:
        """Members the problem document carries besides ``code`` and ``param`` (RFC 9457 extension members)."""
        return {}


class ValidationError(KlelineError):
    """Input breaks a rule (a field is missing, malformed or out of range)."""

    code = "validation_error"
    status = 400


class NotFound(KlelineError):
    """The object does not exist, or the caller may not see it (we do not say which)."""

    code = "not_found"
    status = 404


class Conflict(KlelineError):
    """The request clashes with what is already recorded."""

    code = "conflict"
    status = 409
