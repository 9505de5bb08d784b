"""Merchants' monthly statements (JSON, CSV, FEC, commission invoice PDF) and Kleline's books as beancount.

Public surface: ``Reports`` (the use cases), the values of ``reports.model`` and the errors of ``reports.errors``.
Reports read the books and the payments tables, the single source of every figure; the one thing they write is a
commission invoice at its first issue, with its number from the year's gapless sequence (``reports.numbering``).
"""

from kleline.reports.beancount_export import ExportSummary, account_names
from kleline.reports.errors import (
    InvalidMonth,
    NothingToInvoice,
    ReportError,
    StatementMismatch,
    StatementPeriodOpen,
    UnknownFormat,
)
from kleline.reports.model import Invoice, Issuer, MerchantStatement, Month, Movement, StatementParty
from kleline.reports.payouts import PayoutContents
from kleline.reports.service import FORMATS, Document, Reports, StatementFormat

__all__ = [
    "FORMATS",
    "Document",
    "ExportSummary",
    "InvalidMonth",
    "Invoice",
    "Issuer",
    "MerchantStatement",
    "Month",
    "Movement",
    "NothingToInvoice",
    "PayoutContents",
    "ReportError",
    "Reports",
    "StatementFormat",
    "StatementMismatch",
    "StatementParty",
    "StatementPeriodOpen",
    "UnknownFormat",
    "account_names",
]
