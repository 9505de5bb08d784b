"""The wallet's plain values: customers (cards and top-ups join them as their use cases arrive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kleline.money import Money

__all__ = ["Card", "Customer", "TopUp"]


@dataclass(frozen=True, slots=True)
class Customer:
    """A wallet holder; ``kyc_level`` is ``unverified`` or ``verified`` and sets the purse's limits.

    ``erased_at``: when the customer asked for erasure (the relationship ended; the data is restricted until it is
    shredded, and then ``email`` and ``name`` are empty: nobody can read them any more)."""

    id: str
    email: str
    name: str
    kyc_level: str
    created_at: datetime
    erased_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Card:
    """A card in a customer's wallet, as it may be shown: first six and last four digits, never the full number.

    ``brand`` is a ``kleline.wallet.cards.CardBrand`` value (``visa``, ``mastercard``, ...). The sealed number stays
    in the store; the security code was checked by the issuer at registration and never kept.
    """

    id: str
    customer_id: str
    brand: str
    first6: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TopUp:
    """A purse top-up from a card: ``succeeded``, ``failed`` (with ``failure_code``), or ``requires_action`` (pass
    the strong-authentication challenge ``challenge_id``, then ask again).

    Its source is a card (``card_id``) or, for a SEPA direct debit, a bank account (``bank_account_id``; see
    ``kleline.collections``): exactly one of the two is set."""

    id: str
    customer_id: str
    card_id: str | None
    amount: Money
    status: str
    failure_code: str | None
    created_at: datetime
    challenge_id: str | None = None
    bank_account_id: str | None = None
