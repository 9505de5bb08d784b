"""A merchant's search of its own payments, as plain values: the filters, the search box, and the page cursors.

What a ``PaymentSearch`` matches (every filter optional, all of them together):

- ``statuses``, ``methods``: the payment is in one of these states, was paid by one of these methods;
- ``since`` (included) to ``until`` (excluded): the instant the payment was created. Interfaces take the two ends
  as text, both included (``created_range``): a day, ``2026-01-15``, is that whole UTC day; an instant with its
  offset, ``2026-01-15T09:30:00Z``, is itself. So ``created_from=2026-01-15&created_to=2026-01-15`` is one day;
- ``amounts``: the amount asked is exactly one of these;
- ``text``, the search box, which matches a payment if any of its readings does: the payment's id (exactly), the
  merchant's reference (its beginning; letters A-Z in either case, other characters as written), or an amount typed
  as people type one (``12.50``, ``12,50``, ``12``: read exactly with the currency's exponent, never as a float).
  A text with ``@`` is also a customer's email: it finds the payments of the customers who share their email with
  this merchant now (a live ``share_email`` consent, ``privacy.sharing.customers_sharing_email``), and no one else's.

Pages are newest first, ordered by (``created_at``, ``id``) so that two payments of the same microsecond keep one
order. A ``PageCursor`` is the edge of a page, (``created_at``, ``id``), and the way on from it (``next``: older,
``previous``: newer), written as an opaque URL-safe token. Input that breaks a rule is a ``ValidationError`` naming
the parameter (``status``, ``method``, ``created_from``, ``created_to``, ``amount``, ``q``, ``cursor``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from kleline.clock import epoch_us, instant_bound
from kleline.db.prefixes import ascii_lower
from kleline.errors import ValidationError
from kleline.money import Money, currency_exponent
from kleline.payments.checks import SUPPORTED_CURRENCIES
from kleline.payments.model import METHODS, STATUSES, Payment

__all__ = [
    "MAX_PAGE",
    "TEXT_LIMIT",
    "Direction",
    "ListingPage",
    "PageCursor",
    "PaymentListing",
    "PaymentPage",
    "PaymentSearch",
    "TextTerms",
    "amount_minor",
    "ascii_lower",
    "created_range",
    "parse_amount",
    "parse_search",
    "text_terms",
]

MAX_PAGE: Final = 100
"""The most payments one page holds (the API's ``limit``)."""
TEXT_LIMIT: Final = 200
"""The longest search text: a reference is at most 200 characters."""

Direction = Literal["next", "previous"]

_AMOUNT: Final = re.compile(r"^([0-9]{1,13})(?:[.,]([0-9]{0,12}))?$")
_TOKEN: Final = re.compile(r"^[A-Za-z0-9_-]{8,120}$")
_CURSOR: Final = re.compile(r"^([np])(0|[1-9][0-9]{0,17})~([a-z]{2,8}_[A-Za-z0-9_-]{1,64})$")


@dataclass(frozen=True, slots=True)
class PaymentSearch:
    """Which of a merchant's payments to list; an empty filter (the default) lets every payment through."""

    statuses: frozenset[str] = frozenset()
    methods: frozenset[str] = frozenset()
    since: datetime | None = None  # included
    until: datetime | None = None  # excluded
    amounts: tuple[Money, ...] = ()
    text: str | None = None
    # The blind index of the email the text may be (``Payments.search`` fills it in): customers' emails are
    # sealed, so a search finds them by that index, and only those who share their email with this merchant.
    email_index: str | None = None


@dataclass(frozen=True, slots=True)
class TextTerms:
    """The readings of a search text, any of which may match a payment."""

    payment_id: str
    reference_prefix: str  # lower-cased in A-Z only, as the reference is compared
    amounts: tuple[Money, ...]
    email: str | None  # the text, when it may be an email


@dataclass(frozen=True, slots=True)
class PaymentListing:
    """What a list of payments shows of each one: a third of a ``Payment``'s fields, read from as many columns (a
    page of 25 full payments cost the dashboard's list more to build than to fetch). The fields and properties it
    has are the ``Payment``'s own, with the same meaning."""

    id: str
    amount: Money
    status: str
    method: str | None
    amount_captured: int
    amount_refunded: int
    description: str | None
    reference: str | None
    created_at: datetime

    @property
    def currency(self) -> str:
        """The payment's ISO 4217 currency."""
        return self.amount.currency

    @property
    def refundable(self) -> int:
        """What may still be refunded: captured minus refunded."""
        return self.amount_captured - self.amount_refunded


@dataclass(frozen=True, slots=True)
class PageCursor:
    """The edge of a page, (``created_at`` in epoch µs, ``payment_id``), and the way on: ``next`` to the payments
    older than it, ``previous`` to those newer."""

    direction: Direction
    created_at: int
    payment_id: str

    @classmethod
    def after(cls, payment: Payment | PaymentListing) -> PageCursor:
        """The cursor of the payments older than ``payment`` (the page after one that ends with it)."""
        return cls("next", epoch_us(payment.created_at), payment.id)

    @classmethod
    def before(cls, payment: Payment | PaymentListing) -> PageCursor:
        """The cursor of the payments newer than ``payment`` (the page before one that begins with it)."""
        return cls("previous", epoch_us(payment.created_at), payment.id)

    @property
    def key(self) -> tuple[int, str]:
        """The (created_at, id) the page starts beyond."""
        return self.created_at, self.payment_id

    def encode(self) -> str:
        """The cursor as an opaque URL-safe token (callers must not read into it)."""
        text = f"{self.direction[0]}{self.created_at}~{self.payment_id}"
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    @classmethod
    def parse(cls, token: str, *, param: str = "cursor") -> PageCursor:
        """The cursor ``encode`` wrote; anything else is a ``ValidationError`` naming ``param``."""
        refused = ValidationError(f"{param}: not a cursor this API gave (pass a page's next or previous)", param=param)
        if not _TOKEN.match(token):
            raise refused
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise refused from None
        found = _CURSOR.match(text)
        if found is None:
            raise refused
        direction: Direction = "next" if found.group(1) == "n" else "previous"
        cursor = cls(direction, int(found.group(2)), found.group(3))
        if cursor.encode() != token:  # one token per cursor: no other spelling of the same bytes passes
            raise refused
        return cursor


@dataclass(frozen=True, slots=True)
class PaymentPage:
    """A page of payments, newest first, with the cursors of the pages around it (None where there is none).

    ``has_more`` says whether more payments lie beyond this page the way it was asked for: older ones for a first
    page or a ``next`` cursor, newer ones for a ``previous`` cursor (the API's ``has_more``)."""

    payments: list[Payment]
    next: PageCursor | None
    previous: PageCursor | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class ListingPage:
    """A page of ``PaymentListing``, as ``PaymentPage`` is one of payments (the same order, cursors and
    ``has_more``)."""

    payments: list[PaymentListing]
    next: PageCursor | None
    previous: PageCursor | None
    has_more: bool


def amount_minor(text: str, currency: str) -> int | None:
    """``text`` as a positive amount of ``currency`` in minor units (``12.50``, ``12,50`` and ``12.5`` are 1250 EUR,
    ``12`` is 1200), or None: not digits with at most one decimal point or comma, finer than the currency's minor
    unit (``12.505`` EUR), or zero."""
    found = _AMOUNT.match(text.strip())
    if found is None:
        return None
    units, fraction = found.group(1), found.group(2) or "0"
    try:
        minor = Decimal(f"{units}.{fraction}").scaleb(currency_exponent(currency))
    except InvalidOperation:
        return None
    if minor != minor.to_integral_value() or minor <= 0:
        return None
    return int(minor)


def parse_amount(text: str, *, param: str = "amount") -> tuple[Money, ...]:
    """``text`` read as an amount in each currency payments may be in (``amount_minor``); a ``ValidationError``
    naming ``param`` when it reads in none."""
    amounts = _amounts(text)
    if not amounts:
        raise ValidationError(
            f"{param}: {text!r} is not an amount (digits, with the decimals after a point or a comma, e.g. 12.50)",
            param=param,
        )
    return amounts


def _amounts(text: str) -> tuple[Money, ...]:
    found = ((amount_minor(text, currency), currency) for currency in SUPPORTED_CURRENCIES)
    return tuple(Money(minor, currency) for minor, currency in found if minor is not None)


def text_terms(text: str) -> TextTerms:
    """The readings of a search text (already stripped): id, reference prefix, amounts, email."""
    return TextTerms(text, ascii_lower(text), _amounts(text), text if "@" in text else None)


def created_range(created_from: str | None, created_to: str | None) -> tuple[datetime | None, datetime | None]:
    """The instants [since, until) from ``created_from`` to ``created_to``, both included (see the module's
    docstring); a range that ends before it begins is a ``ValidationError`` on ``created_to``."""
    since = None if created_from is None else instant_bound(created_from.strip(), "created_from", end=False)
    until = None if created_to is None else instant_bound(created_to.strip(), "created_to", end=True)
    if since is not None and until is not None and until <= since:
        raise ValidationError(f"created_to ({created_to}) is before created_from ({created_from})", param="created_to")
    return since, until


def _choices(values: Iterable[str], known: tuple[str, ...], param: str) -> frozenset[str]:
    # Repeated (status=a&status=b) or comma-separated (status=a,b), as a form or a person writes them.
    chosen = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(chosen - set(known))
    if unknown:
        raise ValidationError(f"{param}: unknown {', '.join(unknown)}; one of {', '.join(known)}", param=param)
    return frozenset(chosen)


def parse_search(
    *,
    status: Iterable[str] = (),
    method: Iterable[str] = (),
    created_from: str | None = None,
    created_to: str | None = None,
    amount: str | None = None,
    q: str | None = None,
) -> PaymentSearch:
    """A search from the text an interface received (each parameter named as the API names it), every rule
    checked: unknown statuses or methods, days and instants, a range backwards, an amount, a text too long."""
    since, until = created_range(created_from, created_to)
    text = None if q is None else q.strip() or None
    if text is not None and len(text) > TEXT_LIMIT:
        raise ValidationError(f"q: at most {TEXT_LIMIT} characters", param="q")
    if text is not None and any(ord(character) < 32 or ord(character) == 127 for character in text):
        raise ValidationError("q: control characters are not searched for", param="q")
    return PaymentSearch(
        statuses=_choices(status, STATUSES, "status"),
        methods=_choices(method, METHODS, "method"),
        since=since,
        until=until,
        amounts=() if amount is None or not amount.strip() else parse_amount(amount),
        text=text,
    )
