"""Merchants and malls as plain values, and the rules that need nothing but the standard library.

A merchant's status moves as operators decide::

    pending ──approve──▶ active ──suspend (reason?)──▶ suspended
       │                   ▲                               │
       └─refuse (reason)─▶ refused ──approve──┘◀──approve──┘

An application is approved or refused (with a reason the merchant reads on its dashboard); an active merchant may be
suspended (with a reason, or none) and approved again. A refused merchant may still be approved, when an operator
reconsiders after hearing from it: its people keep their accounts, so a mistaken refusal costs no new application.
Only an active merchant takes payments; a pending one may read its own data and manage its keys, so that a newly
registered shop can prepare its integration while it waits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

__all__ = [
    "APPLICATION_FIELDS",
    "BALANCE_CURRENCY",
    "CATEGORIES",
    "DEFAULT_FEE_BPS",
    "DEFAULT_INTRO_FEE_BPS",
    "MAX_INTRO_FEE_BPS",
    "MIN_INTRO_FEE_BPS",
    "MAX_FEE_BPS",
    "MAX_REASON",
    "MIN_FEE_BPS",
    "Application",
    "Mall",
    "MallMember",
    "Merchant",
    "MerchantKey",
    "MerchantStatus",
    "NewKey",
    "StatusAction",
    "balance_account",
    "mask_iban",
    "next_status",
]

MerchantStatus = Literal["pending", "active", "suspended", "refused"]
StatusAction = Literal["approve", "suspend", "refuse"]

MIN_FEE_BPS: Final = 300
MAX_FEE_BPS: Final = 400
DEFAULT_FEE_BPS: Final = 350
MIN_INTRO_FEE_BPS: Final = 0
MAX_INTRO_FEE_BPS: Final = 2000
DEFAULT_INTRO_FEE_BPS: Final = 500
"""The introduction fee's rate (issue 15), on payments of customers an offer of the merchant introduced."""
BALANCE_CURRENCY: Final = "EUR"
MAX_REASON: Final = 500
"""The longest reason an operator may give for a refusal or a suspension, in characters."""

CATEGORIES: Final = (
    "books",
    "clothing",
    "beauty",
    "electronics",
    "grocery",
    "hardware",
    "home",
    "music",
    "sports",
    "stationery",
    "toys",
    "services",
    "other",
)
"""The categories the join form offers (``/join``); the API takes any code of the same shape
(``checks.check_category``)."""

APPLICATION_FIELDS: Final = (
    "name",
    "siret",
    "vat_number",
    "iban",
    "bic",
    "contact_name",
    "email",
    "contact_phone",
    "website",
    "category",
    "description",
    "mall_ids",
    "fee_bps",
)
"""An application's fields in the order a form shows them, which is the order its problems are listed in."""

# Which statuses each operator action starts from, and where it leads.
_TRANSITIONS: Final[dict[str, tuple[frozenset[str], MerchantStatus]]] = {
    "approve": (frozenset({"pending", "suspended", "refused"}), "active"),
    "suspend": (frozenset({"active"}), "suspended"),
    "refuse": (frozenset({"pending"}), "refused"),
}


@dataclass(frozen=True, slots=True)
class Application:
    """What a shop sends to register, as typed (``Merchants`` checks every field): the API's body, or the join
    form's fields."""

    name: str
    email: str
    iban: str
    bic: str | None = None
    siret: str | None = None
    vat_number: str | None = None
    website: str | None = None
    category: str | None = None
    description: str | None = None
    mall_ids: tuple[str, ...] = ()
    fee_bps: int | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass(frozen=True, slots=True)
class Merchant:
    """A shop that sells through Kleline; ``fee_bps`` is Kleline's commission in basis points (350 = 3.5 %)."""

    id: str
    name: str
    email: str
    website: str | None
    category: str | None
    siret: str | None
    iban: str
    bic: str
    fee_bps: int
    status: MerchantStatus
    mall_ids: tuple[str, ...]
    created_at: datetime
    description: str | None = None
    """What the shop sells, in a sentence, as the malls' pages show it."""
    approved_at: datetime | None = None
    """When an operator first approved it: since when Kleline knows it (None while it awaits approval)."""
    vat_number: str | None = None
    """Its intra-community VAT number, compact, with its country code (``FR40303265045``)."""
    contact_name: str | None = None
    """The person Kleline talks to about the shop."""
    contact_phone: str | None = None
    """Their telephone number in international form (E.164: ``+33123456789``)."""
    status_reason: str | None = None
    """Why an operator refused or suspended it, as the merchant reads it (None otherwise, or none given)."""
    status_changed_at: datetime | None = None
    """When its status last changed (registered, approved, refused or suspended)."""
    intro_fee_bps: int = DEFAULT_INTRO_FEE_BPS
    """Kleline's introduction fee in basis points (0 to 2000), on payments of customers its offers introduced."""

    @property
    def is_active(self) -> bool:
        """True when the merchant may take payments."""
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class MerchantKey:
    """A secret key as it may be listed: its id and last four characters, never the secret."""

    id: str
    merchant_id: str
    last4: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: ``secret`` (``sk_...``) is shown this once and stored only as a digest."""

    key: MerchantKey
    secret: str


@dataclass(frozen=True, slots=True)
class MallMember:
    """A merchant as a mall's directory names it."""

    id: str
    name: str
    website: str | None
    category: str | None
    status: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Mall:
    """A named gallery of merchants with a public page; a merchant may belong to several malls."""

    id: str
    name: str
    slug: str
    members: tuple[MallMember, ...]
    created_at: datetime

    @property
    def merchant_ids(self) -> tuple[str, ...]:
        """Every member's id, whatever its status."""
        return tuple(member.id for member in self.members)

    def listed(self) -> Mall:
        """The mall as the public sees it: active merchants only (a pending or suspended shop is not advertised)."""
        return Mall(
            self.id, self.name, self.slug, tuple(m for m in self.members if m.status == "active"), self.created_at
        )


def balance_account(merchant_id: str) -> str:
    """The ledger account of what Kleline owes a merchant (EUR, credit-normal, floor 0)."""
    return f"merchant:{merchant_id}:balance"


def next_status(action: StatusAction, status: str) -> MerchantStatus | None:
    """The status ``action`` leads to from ``status``, or None when the action is not allowed from there."""
    sources, target = _TRANSITIONS[action]
    return target if status in sources else None


def mask_iban(iban: str) -> str:
    """An IBAN with all but its country code and last four characters starred: enough to recognise the account,
    not enough to use it."""
    return iban[:2] + "*" * (len(iban) - 6) + iban[-4:]
