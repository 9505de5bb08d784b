"""The JSON shape of a merchant's statement: amounts in minor units, times in RFC 3339 UTC (API.md)."""

from __future__ import annotations

import json
from typing import Any

from kleline.clock import to_rfc3339
from kleline.reports.model import MerchantStatement, Movement

__all__ = ["movement_json", "statement_json", "statement_json_bytes"]


def movement_json(movement: Movement) -> dict[str, Any]:
    """One movement of the merchant's balance, signed as the balance moved."""
    return {
        "posted_at": to_rfc3339(movement.posted_at),
        "type": movement.kind,
        "id": movement.object_id,
        "entry_id": movement.entry_id,
        "payment_id": movement.payment_id,
        "reference": movement.reference,
        "description": movement.description,
        "gross": movement.gross,
        "commission": movement.commission,
        "introduction_fee": movement.introduction,
        "net": movement.net,
        "balance_after": movement.balance_after,
    }


def statement_json(statement: MerchantStatement) -> dict[str, Any]:
    """The statement: the month's totals (positive numbers, the closing balance follows from them) and its
    movements in the order they were booked; ``invoice_number`` once the month's commission invoice is issued."""
    return {
        "object": "merchant_statement",
        "merchant_id": statement.merchant.id,
        "merchant_name": statement.merchant.name,
        "month": str(statement.month),
        "period_start": to_rfc3339(statement.month.start),
        "period_end": to_rfc3339(statement.month.end),
        "closed": statement.closed,
        "invoice_number": statement.invoice.number if statement.invoice else None,
        "currency": statement.currency,
        "opening_balance": statement.opening_balance,
        "turnover": statement.turnover,
        "refunds": statement.refunds,
        "commission": statement.commission,
        "commission_charged": statement.commission_charged,
        "commission_returned": statement.commission_returned,
        "introduction_fees": statement.introductions,
        "introduction_fees_charged": statement.introductions_charged,
        "introduction_fees_returned": statement.introductions_returned,
        "payouts": statement.payouts,
        "payouts_returned": statement.payouts_returned,
        "adjustments": statement.adjustments,
        "closing_balance": statement.closing_balance,
        "payment_count": statement.count("payment"),
        "refund_count": statement.count("refund"),
        "payout_count": statement.count("payout"),
        "movements": [movement_json(m) for m in statement.movements],
    }


def statement_json_bytes(statement: MerchantStatement) -> bytes:
    """The statement as UTF-8 JSON bytes, the same for the same statement."""
    return json.dumps(statement_json(statement), ensure_ascii=False, separators=(",", ":")).encode()
