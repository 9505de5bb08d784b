"""One account's movements as the API shows them, for operators (any account) and customers (their purse)."""

from __future__ import annotations

from pydantic import BaseModel

from kleline.clock import to_rfc3339
from kleline.ledger import HistoryLine
from kleline.payments.purse_history import PurseMovement

__all__ = ["MovementList", "MovementOut", "movement_page", "purse_movement_page"]


class MovementOut(BaseModel):
    """One movement, in minor units on the account's normal side, with the balance after it; a purse's movements
    also name the merchant, payment and refund they book (None for a top-up)."""

    sequence: int
    entry_id: str
    posted_at: str
    amount: int
    balance_after: int
    description: str
    merchant_id: str | None = None
    merchant_name: str | None = None
    payment_id: str | None = None
    refund_id: str | None = None


class MovementList(BaseModel):
    """A page of movements, newest first; page on with ``starting_after`` = the last ``sequence``."""

    data: list[MovementOut]
    has_more: bool


def movement_page(lines: list[HistoryLine], limit: int) -> MovementList:
    """A page from ``limit + 1`` history lines (the extra one only says whether there is more)."""
    return MovementList(
        data=[
            MovementOut(
                sequence=line.sequence,
                entry_id=line.entry_id,
                posted_at=to_rfc3339(line.posted_at),
                amount=line.amount,
                balance_after=line.balance_after,
                description=line.description,
            )
            for line in lines[:limit]
        ],
        has_more=len(lines) > limit,
    )


def purse_movement_page(movements: list[PurseMovement], limit: int) -> MovementList:
    """A page of a purse's movements (from ``limit + 1``), each naming its merchant, payment and refund."""
    page = movement_page([movement.line for movement in movements], limit)
    for shown, movement in zip(page.data, movements, strict=False):
        shown.merchant_id, shown.merchant_name = movement.merchant_id, movement.merchant_name
        shown.payment_id, shown.refund_id = movement.payment_id, movement.refund_id
    return page
