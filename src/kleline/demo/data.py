"""Demo data: a few malls, a dozen approved merchants (one of them the demo shop), and customers with cards and
funded purses, made through Kleline's own services exactly as the API would make them.

Seeding is idempotent: everything is found again by its slug or email, and only what is missing is made, so that
``make demo`` can be run again on the same database. Two things are new on every run because Kleline shows their
secrets only once: the demo shop's secret key (its older keys are revoked) and its webhook endpoint (the old one is
deleted), both handed to the shop process. A customer's purse is funded once, when the customer is made, from a
card through the real top-up service: the top-up is above the strong-authentication threshold, so the customer gets
an authenticator (TOTP) whose code the seeding computes, as the customer's phone would. Passing that challenge also
starts the customer's exemption counters afresh, so that the first purchases in the demo need no code.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Final

import pyotp
from schwifty import IBAN

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.merchants.model import Mall, Merchant
from kleline.money import Money
from kleline.operators.service import create_key
from kleline.wallet.customers import EmailTaken, purse_code
from kleline.wallet.model import Card
from kleline.wallet.strong_auth import AlreadyEnrolled

__all__ = [
    "CUSTOMERS",
    "MALLS",
    "MERCHANTS",
    "PASSWORD",
    "PURSE_TARGET",
    "SHOP_EMAIL",
    "DemoCustomer",
    "DemoData",
    "DemoShop",
    "SeedingFailed",
    "seed",
]

PASSWORD: Final = "kleline-demo-password"
"""Every demo customer's password (public: this is demo data)."""
PURSE_TARGET: Final = Money(10_000, "EUR")
"""What each demo purse is topped up to."""
SHOP_EMAIL: Final = "orders@boutique-du-coin.example"

MALLS: Final = (
    ("Les Halles numériques", "les-halles"),
    ("Passage Kléber", "passage-kleber"),
    ("Marché de la Rive Gauche", "rive-gauche"),
)


@dataclass(frozen=True, slots=True)
class MerchantSpec:
    """A demo merchant as it registers: name, contact, category, commission, and the malls (slugs) it joins."""

    name: str
    email: str
    category: str
    fee_bps: int
    malls: tuple[str, ...]


MERCHANTS: Final = (
    MerchantSpec("La Boutique du Coin", SHOP_EMAIL, "grocery", 350, ("les-halles",)),
    MerchantSpec("Librairie Kléber", "contact@librairie-kleber.example", "books", 320, ("passage-kleber",)),
    MerchantSpec("Fromagerie Duval", "bonjour@fromagerie-duval.example", "grocery", 350, ("les-halles",)),
    MerchantSpec("Atelier Vélo", "atelier@atelier-velo.example", "sports", 380, ("rive-gauche",)),
    MerchantSpec("Disques Bleus", "vinyles@disques-bleus.example", "music", 400, ("passage-kleber", "rive-gauche")),
    MerchantSpec("Papeterie Moreau", "papeterie@moreau.example", "stationery", 300, ("passage-kleber",)),
    MerchantSpec("Thés et Merveilles", "the@merveilles.example", "grocery", 350, ("les-halles", "rive-gauche")),
    MerchantSpec("Jouets Lefèvre", "jouets@lefevre.example", "toys", 360, ("rive-gauche",)),
    MerchantSpec("Quincaillerie Roux", "quincaillerie@roux.example", "hardware", 340, ("les-halles",)),
    MerchantSpec("Optique Garnier", "optique@garnier.example", "health", 390, ("passage-kleber",)),
    MerchantSpec("Fleurs de Saison", "bouquets@fleurs-de-saison.example", "florist", 330, ("rive-gauche",)),
    MerchantSpec("Cave Saint-Vincent", "cave@saint-vincent.example", "wine", 370, ("les-halles", "passage-kleber")),
)

VISA: Final = "4242424242424242"
MASTERCARD: Final = "5555555555554444"
SCA_CARD: Final = "4000002500003155"
"""The sandbox card whose issuer always asks for strong customer authentication."""

CUSTOMERS: Final = (
    ("Alice Martin", "alice@example.com", (VISA, SCA_CARD)),
    ("Bruno Petit", "bruno@example.com", (MASTERCARD,)),
    ("Chloé Durand", "chloe@example.com", (VISA, MASTERCARD)),
)


class SeedingFailed(KlelineError):
    """A demo object could not be made as planned (a top-up declined, for instance)."""

    code = "demo_seeding_failed"
    status = 500


@dataclass(frozen=True, slots=True)
class DemoCustomer:
    """A demo customer: how to sign in, the cards in the wallet, the purse, and the authenticator's secret when
    this run enrolled it (it is shown once, like every TOTP secret)."""

    id: str
    name: str
    email: str
    password: str
    cards: tuple[Card, ...]
    purse: Money
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DemoShop:
    """The demo shop's merchant, with the secrets the shop process needs (new on every run)."""

    merchant_id: str
    name: str
    secret_key: str = field(repr=False)
    webhook_url: str = ""
    webhook_secret: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class DemoData:
    """Everything the demo made or found, and the keys to use it."""

    malls: tuple[Mall, ...]
    merchants: tuple[Merchant, ...]
    customers: tuple[DemoCustomer, ...]
    shop: DemoShop
    operator_key: str = field(repr=False)


def seed(kleline: Kleline, *, shop_url: str) -> DemoData:
    """Make whatever demo data is missing; the shop's webhooks go to ``{shop_url}/webhooks/kleline``. Kleline's own
    accounts need no seeding: every start opens them (``kleline.bootstrap.accounts``)."""
    made = _malls(kleline)
    merchants = _merchants(kleline, {mall.slug: mall.id for mall in made})
    shop_merchant = next(merchant for merchant in merchants if merchant.email == SHOP_EMAIL)
    shop = _shop(kleline, shop_merchant, shop_url.rstrip("/") + "/webhooks/kleline")
    customers = tuple(_customer(kleline, name, email, numbers) for name, email, numbers in CUSTOMERS)
    operator_key = create_key(kleline.db, "demo").secret
    malls = tuple(kleline.malls.get(mall.id) for mall in made)  # read again: now with their members
    return DemoData(malls, merchants, customers, shop, operator_key)


def _malls(kleline: Kleline) -> builtins.list[Mall]:
    existing = {mall.slug: mall for mall in kleline.malls.list(limit=1000)}
    return [existing.get(slug) or kleline.malls.create(name, slug) for name, slug in MALLS]


def _iban(number: int) -> str:
    """A valid French IBAN for the ``number``-th demo merchant (at a real bank code, so its BIC is derived)."""
    return str(IBAN.generate("FR", bank_code="30004", account_code=f"{number:011d}"))


def _merchants(kleline: Kleline, mall_ids: dict[str, str]) -> tuple[Merchant, ...]:
    by_email = {merchant.email: merchant for merchant in kleline.merchants.list(limit=1000)}
    merchants = []
    for number, spec in enumerate(MERCHANTS, start=1):
        malls = [mall_ids[slug] for slug in spec.malls]
        merchant = by_email.get(spec.email)
        if merchant is None:
            merchant, _first_key = kleline.merchants.register(
                name=spec.name,
                email=spec.email,
                iban=_iban(number),
                website=f"https://{spec.email.partition('@')[2]}",
                category=spec.category,
                mall_ids=malls,
                fee_bps=spec.fee_bps,
            )
        for mall_id in malls:
            if mall_id not in merchant.mall_ids:
                kleline.malls.add_merchant(mall_id, merchant.id)
        if not merchant.is_active:
            kleline.merchants.approve(merchant.id)
        merchants.append(kleline.merchants.get(merchant.id))
    return tuple(merchants)


def _shop(kleline: Kleline, merchant: Merchant, webhook_url: str) -> DemoShop:
    """A fresh secret key and webhook endpoint for the shop process (their secrets cannot be read back)."""
    key = kleline.merchants.create_key(merchant.id)
    for old in kleline.merchants.keys(merchant.id):
        if old.id != key.key.id and old.revoked_at is None:
            kleline.merchants.revoke_key(merchant.id, old.id)
    endpoints = kleline.webhook_endpoints
    for endpoint in endpoints.list(merchant.id, limit=100):
        endpoints.delete(merchant.id, endpoint.id)
    endpoint, secret = endpoints.create(merchant.id, webhook_url)
    return DemoShop(merchant.id, merchant.name, key.secret, endpoint.url, secret)


def _customer(kleline: Kleline, name: str, email: str, numbers: tuple[str, ...]) -> DemoCustomer:
    try:
        kleline.customers.sign_up(email, PASSWORD, name)
    except EmailTaken:
        pass  # made by an earlier run
    # Verified: higher purse limits than an unverified wallet. ``verify`` finds the customer by email, so that an
    # earlier run's customer is found without signing in (which would leave an API token behind).
    customer_id = kleline.customers.verify(email).id
    cards = _cards(kleline, customer_id, name, numbers)
    totp = None
    try:
        totp = pyotp.TOTP(kleline.strong_auth.enrol(customer_id, email).secret)
    except AlreadyEnrolled:
        pass  # made by an earlier run, which funded the purse and showed the secret
    if totp is not None:
        _fund(kleline, customer_id, cards[0], totp)
    purse = kleline.ledger.balance(purse_code(customer_id))
    return DemoCustomer(
        customer_id,
        name,
        email,
        PASSWORD,
        tuple(cards),
        Money(purse.posted, purse.currency),
        None if totp is None else totp.secret,
    )


def _cards(kleline: Kleline, customer_id: str, name: str, numbers: tuple[str, ...]) -> builtins.list[Card]:
    """The customer's cards, in the order of ``numbers``, registering those not yet in the wallet."""
    held = {(card.first6, card.last4): card for card in kleline.cards.list(customer_id)}
    expiry_year = kleline.clock().year + 3
    cards = []
    for number in numbers:
        card = held.get((number[:6], number[-4:]))
        if card is None:
            card = kleline.cards.register(customer_id, number, 12, expiry_year, "123", name)
        cards.append(card)
    return cards


def _fund(kleline: Kleline, customer_id: str, card: Card, totp: pyotp.TOTP) -> None:
    """Top the purse up to ``PURSE_TARGET`` from ``card``, passing the challenge with the authenticator's code."""
    missing = PURSE_TARGET.minor - kleline.ledger.balance(purse_code(customer_id)).posted
    if missing <= 0:
        return
    amount = Money(missing, PURSE_TARGET.currency)
    top_up = kleline.top_ups.top_up(customer_id, amount, card.id)
    if top_up.status == "requires_action":
        code = totp.at(kleline.clock())
        top_up = kleline.top_ups.top_up(customer_id, amount, card.id, challenge_id=top_up.challenge_id, sca_code=code)
    if top_up.status != "succeeded":
        raise SeedingFailed(f"the demo top-up of {customer_id} ended {top_up.status}: {top_up.failure_code}")
