"""What statements and exports refuse.

KlelineError
 └── ReportError
      ├── InvalidMonth          (400 validation_error) not a YYYY-MM month, or one that has not begun
      ├── UnknownFormat         (400 validation_error) a format this document does not come in
      ├── StatementPeriodOpen   (409) an invoice asked for a month that is not over
      ├── NothingToInvoice      (409) an invoice asked for a month without any commission
      └── StatementMismatch     (500) the movements do not lead from the opening to the closing balance
"""

from __future__ import annotations

from kleline.errors import KlelineError

__all__ = [
    "InvalidMonth",
    "NothingToInvoice",
    "ReportError",
    "StatementMismatch",
    "StatementPeriodOpen",
    "UnknownFormat",
]


class ReportError(KlelineError):
    """A statement or an export could not be produced."""

    code = "report_error"


class InvalidMonth(ReportError):
    """The month is not written YYYY-MM, or it has not begun yet."""

    code = "validation_error"
    status = 400

    def __init__(self, detail: str, param: str = "month") -> None:
        super().__init__(detail, param=param)


class UnknownFormat(ReportError):
    """The document was asked for in a format it does not come in."""

    code = "validation_error"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail, param="format")


class StatementPeriodOpen(ReportError):
    """A commission invoice was asked for a month that is not over: an invoice never changes once issued, so it
    waits for the month's end."""

    code = "statement_period_open"
    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail, param="month")


class NothingToInvoice(ReportError):
    """A commission invoice was asked for a month in which Kleline charged and gave back no commission: there is
    no service to bill, and an empty invoice would take a number of the legal sequence for nothing."""

    code = "nothing_to_invoice"
    status = 409

    def __init__(self, detail: str) -> None:
        super().__init__(detail, param="month")


class StatementMismatch(ReportError):
    """The books contradict themselves: the month's movements do not lead from the opening to the closing
    balance. Never expected; refused rather than issuing a wrong statement."""

    code = "statement_mismatch"
    status = 500
