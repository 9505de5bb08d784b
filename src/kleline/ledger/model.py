"""The ledger's vocabulary: accounts, postings, entries, holds and balances, as plain immutable values.

Sign convention: a posting's ``amount`` is signed, debit positive and credit negative, so that an entry balances
when its amounts sum to zero per currency. An account's *balance* is read on its normal side: a credit-normal
account (a purse, a merchant balance) grows with credits. A *floor* bounds the available balance
(balance minus held) from below; a purse has floor 0.

Standard library only (plus ``money``): no database, no web.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from kleline.ledger.errors import InvalidEntry
from kleline.money import Money, UnknownCurrency, check_minor, currency_exponent

__all__ = [
    "Account",
    "Balance",
    "BatchResult",
    "Entry",
    "EntryRequest",
    "Hold",
    "HoldRequest",
    "HoldStatus",
    "Metadata",
    "NormalSide",
    "Posting",
    "credit",
    "debit",
    "normal_delta",
]

ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")
CODE_PATTERN: Final = re.compile(r"^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]+)*$")
MAX_DESCRIPTION: Final = 500

Metadata = Mapping[str, str | int | bool | None]


class NormalSide(StrEnum):
    """The side on which an account's balance grows: assets on the debit side, liabilities and revenue on credit."""

    DEBIT = "D"
    CREDIT = "C"


def normal_delta(side: NormalSide, amount: int) -> int:
    """How a signed posting amount moves the account's balance read on its normal side."""
    return amount if side is NormalSide.DEBIT else -amount


@dataclass(frozen=True, slots=True)
class Account:
    """A ledger account: ``code`` such as ``customer:cus_1:purse``, one currency, a normal side, an optional floor."""

    code: str
    currency: str
    normal_side: NormalSide
    floor: int | None = None

    def __post_init__(self) -> None:
        if not CODE_PATTERN.match(self.code) or len(self.code) > 120:
            raise InvalidEntry(f"account code {self.code!r} is not of the form kind:part:part", param="code")
        _check_currency(self.currency)
        if self.floor is not None:
            check_minor(self.floor)


@dataclass(frozen=True, slots=True)
class Posting:
    """One leg of an entry: a signed amount (debit positive) on one account."""

    account: str
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:  # the common case costs one type check; anything else is judged in full
            check_minor(self.amount)
        if self.amount == 0:
            raise InvalidEntry(f"a posting to {self.account} has a zero amount", param="amount")
        _check_currency(self.currency)


def debit(account: str, money: Money) -> Posting:
    """A debit leg of ``money`` (a positive amount) on ``account``."""
    return Posting(account, _positive(money), money.currency)


def credit(account: str, money: Money) -> Posting:
    """A credit leg of ``money`` (a positive amount) on ``account``."""
    return Posting(account, -_positive(money), money.currency)


def _positive(money: Money) -> int:
    if money.minor <= 0:
        raise InvalidEntry(f"debit() and credit() take a positive amount, got {money}", param="amount")
    return money.minor


_BOOKABLE: set[str] = set()
"""Currencies already found bookable: a batch of 1,000 postings in EUR looks EUR up once, not 1,000 times."""


def _check_currency(currency: str) -> None:
    if type(currency) is str and currency in _BOOKABLE:
        return
    try:
        currency_exponent(currency)
    except UnknownCurrency as error:
        raise InvalidEntry(str(error), param="currency") from None
    _BOOKABLE.add(currency)


def check_postings(postings: tuple[Posting, ...]) -> None:
    """Refuse fewer than two legs, an account twice, or legs that do not sum to zero in each currency."""
    if len(postings) == 2:
        # A transfer, the common entry, in a few comparisons: it passes every rule below exactly when this holds.
        first, second = postings
        if first.account != second.account and first.currency == second.currency and first.amount == -second.amount:
            return
    if len(postings) < 2:
        raise InvalidEntry("an entry needs at least two postings", param="postings")
    accounts = [p.account for p in postings]
    if len(set(accounts)) != len(accounts):
        raise InvalidEntry("an account appears twice in one entry; merge its legs", param="postings")
    sums: dict[str, int] = {}
    for p in postings:
        sums[p.currency] = sums.get(p.currency, 0) + p.amount
    unbalanced = {c: s for c, s in sums.items() if s != 0}
    if unbalanced:
        detail = ", ".join(f"{c} off by {s}" for c, s in sorted(unbalanced.items()))
        raise InvalidEntry(f"entry is unbalanced: debits and credits differ ({detail})", param="postings")


def _check_common(id: str, description: str, metadata: Metadata) -> None:
    if not isinstance(id, str) or not ID_PATTERN.match(id):
        raise InvalidEntry(f"id {id!r} must be 1-80 letters, digits or _.:-", param="id")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidEntry(f"description is longer than {MAX_DESCRIPTION} characters", param="description")
    for key, value in metadata.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str | int | bool)):
            raise InvalidEntry(f"metadata {key!r} must map a string to a string, int, bool or null", param="metadata")


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """What a caller asks the ledger to post; ``id`` makes the request idempotent."""

    id: str
    postings: tuple[Posting, ...]
    description: str = ""
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        object.__setattr__(self, "metadata", dict(self.metadata))
        _check_common(self.id, self.description, self.metadata)
        check_postings(self.postings)


@dataclass(frozen=True, slots=True)
class Entry:
    """A posted, immutable journal entry, with its place in its hash chain."""

    id: str
    posted_at: datetime
    postings: tuple[Posting, ...]
    description: str
    metadata: Metadata
    chain_shard: int
    chain_seq: int | None = None
    """Place in the chain, and the link hash, as the database computed them (None until read back)."""
    link_hash: bytes | None = None

    def same_request(self, request: EntryRequest) -> bool:
        """True when ``request`` asks for exactly this entry (an idempotent retry)."""
        return (
            request.id == self.id
            and request.postings == self.postings
            and request.description == self.description
            and dict(request.metadata) == dict(self.metadata)
        )


class HoldStatus(StrEnum):
    """A hold's life: pending, then exactly one of committed, voided or expired."""

    PENDING = "pending"
    COMMITTED = "committed"
    VOIDED = "voided"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class HoldRequest:
    """A pending entry: its postings reserve funds on the accounts they would decrease, until commit or void."""

    id: str
    postings: tuple[Posting, ...]
    expires_at: datetime
    description: str = ""
    metadata: Metadata = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "postings", tuple(self.postings))
        object.__setattr__(self, "metadata", dict(self.metadata))
        _check_common(self.id, self.description, self.metadata)
        check_postings(self.postings)
        if self.expires_at.tzinfo is None:
            raise InvalidEntry("expires_at must be timezone-aware", param="expires_at")


@dataclass(frozen=True, slots=True)
class Hold:
    """A recorded hold: ``reserved`` maps each account it holds funds on to the amount held."""

    id: str
    status: HoldStatus
    postings: tuple[Posting, ...]
    reserved: Mapping[str, int]
    created_at: datetime
    expires_at: datetime
    description: str
    metadata: Metadata
    entry_id: str | None = None

    def same_request(self, request: HoldRequest) -> bool:
        """True when ``request`` asks for exactly this hold (an idempotent retry)."""
        return (
            request.postings == self.postings
            and request.description == self.description
            and dict(request.metadata) == dict(self.metadata)
            and request.expires_at == self.expires_at
        )


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's balances on its normal side: posted, held (pending), and available = posted - held."""

    account: str
    currency: str
    posted: int
    held: int
    floor: int | None

    @property
    def available(self) -> int:
        """What can still be spent: posted minus held."""
        return self.posted - self.held


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The fate of one entry in a batch: posted (``entry``), or refused (``error``) without touching the others."""

    request_id: str
    entry: Entry | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the entry is in the books (newly or from an earlier identical request)."""
        return self.entry is not None
