"""The wallet's plain values: customers (cards and top-ups join them as their use cases arrive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Customer"]


@dataclass(frozen=True, slots=True)
class Customer:
    """A wallet holder; ``kyc_level`` is ``unverified`` or ``verified`` and sets the purse's limits."""

    id: str
    email: str
    name: str
    kyc_level: str
    created_at: datetime
