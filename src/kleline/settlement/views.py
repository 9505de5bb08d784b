"""The JSON shape of payouts and settlement runs: one definition for the API's answers and the events' ``data``."""

from __future__ import annotations

from collections.abc import Sequence

from kleline.clock import to_rfc3339
from kleline.settlement.model import Payout, SettlementRun

__all__ = ["payout_json", "run_json"]


def payout_json(payout: Payout) -> dict[str, object]:
    """A payout as API.md names its fields (the creditor's IBAN stays out: the merchant knows its own)."""
    return {
        "id": payout.id,
        "object": "payout",
        "merchant_id": payout.merchant_id,
        "settlement_run_id": payout.settlement_run_id,
        "amount": payout.amount.minor,
        "currency": payout.amount.currency,
        "status": payout.status,
        "end_to_end_id": payout.end_to_end_id,
        "created_at": to_rfc3339(payout.created_at),
        "paid_at": None if payout.paid_at is None else to_rfc3339(payout.paid_at),
        "booked_on": None if payout.booked_on is None else payout.booked_on.isoformat(),
        "failed_at": None if payout.failed_at is None else to_rfc3339(payout.failed_at),
        "failure_reason": payout.failure_reason,
    }


def run_json(run: SettlementRun, payouts: Sequence[Payout] | None, file_url: str | None) -> dict[str, object]:
    """A settlement run; ``payouts`` when the caller read them (one run), left out of lists."""
    body: dict[str, object] = {
        "id": run.id,
        "object": "settlement_run",
        "period": run.period.isoformat(),
        "currency": run.currency,
        "status": run.status,
        "payout_count": run.payout_count,
        "total": run.total,
        "execution_date": run.execution_date.isoformat(),
        "file_url": file_url,
        "created_at": to_rfc3339(run.created_at),
        "completed_at": None if run.completed_at is None else to_rfc3339(run.completed_at),
        "failure_reason": run.failure_reason,
    }
    if payouts is not None:
        body["payouts"] = [payout_json(p) for p in payouts]
    return body
