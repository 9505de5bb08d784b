"""A purse's movements as its owner reads them: each payment or refund names the merchant it was paid to or came from.

The ledger's history knows entries, amounts and balances; the entry's metadata says which payment, refund and
merchant it books (``capture_request``, ``refunds``), and the merchant's name comes from ``Merchants``, read once
per merchant for a page of movements. A top-up or any movement that involves no merchant names none.
"""

from __future__ import annotations

from dataclasses import dataclass

from kleline.ledger import HistoryLine, Ledger
from kleline.merchants import Merchants
from kleline.wallet.customers import purse_code

__all__ = ["PurseMovement", "purse_movements"]


@dataclass(frozen=True, slots=True)
class PurseMovement:
    """One movement of a purse, with the merchant, payment and refund it books (None when it books none)."""

    line: HistoryLine
    merchant_id: str | None
    merchant_name: str | None
    payment_id: str | None
    refund_id: str | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def purse_movements(
    ledger: Ledger, merchants: Merchants, customer_id: str, *, limit: int, before: int | None = None
) -> list[PurseMovement]:
    """The customer's purse movements, newest first (``limit`` of them, before sequence ``before``)."""
    names: dict[str, str] = {}
    movements = []
    for line in ledger.history(purse_code(customer_id), limit=limit, before=before):
        merchant_id = _text(line.metadata.get("merchant"))
        if merchant_id is not None and merchant_id not in names:
            names[merchant_id] = merchants.get(merchant_id).name
        merchant_name = names.get(merchant_id) if merchant_id is not None else None
        payment_id, refund_id = _text(line.metadata.get("payment")), _text(line.metadata.get("refund"))
        movements.append(PurseMovement(line, merchant_id, merchant_name, payment_id, refund_id))
    return movements
