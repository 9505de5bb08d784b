"""Merchants' monthly statements (JSON, CSV, FEC, commission invoice PDF) and Kleline's books as beancount.

Public surface: ``Reports`` (the use cases), the values of ``reports.model`` and the errors of ``reports.errors``.
Reports only read: the books and the payments tables are the single source of every figure.
"""

from kleline.reports.beancount_export import ExportSummary, account_names
from kleline.reports.errors import (
    InvalidMonth,
    ReportError,
    StatementMismatch,
    StatementPeriodOpen,
    UnknownFormat,
)
from kleline.reports.model import Issuer, MerchantStatement, Month, Movement, StatementParty
from kleline.reports.service import FORMATS, Document, Reports, StatementFormat

__all__ = [
    "FORMATS",
    "Document",
    "ExportSummary",
    "InvalidMonth",
    "Issuer",
    "MerchantStatement",
    "Month",
    "Movement",
    "ReportError",
    "Reports",
    "StatementFormat",
    "StatementMismatch",
    "StatementParty",
    "StatementPeriodOpen",
    "UnknownFormat",
    "account_names",
]
