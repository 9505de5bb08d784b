"""One account's movements as the API shows them, for operators (any account) and customers (their purse)."""

from __future__ import annotations

from pydantic import BaseModel

from kleline.clock import to_rfc3339
from kleline.ledger import HistoryLine

__all__ = ["MovementList", "MovementOut", "movement_page"]


class MovementOut(BaseModel):
    """One movement, in minor units on the account's normal side, with the balance after it."""

    sequence: int
    entry_id: str
    posted_at: str
    amount: int
    balance_after: int
    description: str


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
