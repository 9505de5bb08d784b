"""Settlement: paying merchants' balances out by SEPA credit transfer, one pain.001 file per period's run, and
settling each payout when the bank statement shows it paid or returned.

Public surface: ``Settlement`` (the use cases), the values of ``settlement.model`` and the errors of
``settlement.errors``.
"""

from kleline.settlement.errors import (
    NoSettlementFile,
    PayoutStateConflict,
    SettlementPeriodClosed,
    SettlementRunFailed,
    SettlementRunIncomplete,
    UnknownPayout,
    UnknownSettlementRun,
)
from kleline.settlement.model import Creditor, Payout, PayoutOutlook, PayoutStatus, SettlementRun, payout_id
from kleline.settlement.service import Settlement

__all__ = [
    "Creditor",
    "NoSettlementFile",
    "Payout",
    "PayoutOutlook",
    "PayoutStateConflict",
    "PayoutStatus",
    "Settlement",
    "SettlementPeriodClosed",
    "SettlementRun",
    "SettlementRunFailed",
    "SettlementRunIncomplete",
    "UnknownPayout",
    "UnknownSettlementRun",
    "payout_id",
]
