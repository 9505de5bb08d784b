"""Demo data: a few malls, a dozen approved merchants (one of them the demo shop), and customers with cards and
funded purses, made through Kleline's own services exactly as the API would make them.

Seeding is idempotent: everything is found again by its slug or email, and only what is missing is made, so that
``make demo`` can be run again on the same database. The demo shop has an owner on its dashboard (``OWNER_EMAIL``,
the demo password, and an authenticator app whose secret the first run prints), and Kleline's console has one staff
user per role (``STAFF``), made as a person would be (invited from the command line, accepted, an authenticator app
confirmed), with the same password and secrets printed the same way. Two things are new on every run
because Kleline shows their secrets only once: the demo shop's secret key (its older keys are revoked) and its
webhook endpoint (the old one is deleted), both handed to the shop process. A customer's purse is funded once, when
the customer is made, from a card through the real top-up service: the top-up is above the strong-authentication
threshold, so the customer gets an authenticator (TOTP) whose code the seeding computes, as the customer's phone
would. Passing that challenge also starts the customer's exemption counters afresh, so that the first purchases in
the demo need no code.

The customers' privacy choices (``CONSENTS``) are given as in the wallet, each only if the customer never answered
it (a demo user's withdrawal stands when the demo starts again), and the demo shop sends one offer (``OFFER``) to the
customers who agreed to hear from its mall and bought there, unless its last one is still valid: Alice finds it in
her inbox, and the shop's dashboard shows its reach ("fewer than 50": there are three demo customers).
"""

from __future__ import annotations

import builtins
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final, Literal

import pyotp
from schwifty import IBAN
from stdnum import luhn

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError
from kleline.merchant_users import AlreadyAMember
from kleline.merchants.model import Mall, Merchant
from kleline.money import Money
from kleline.operators.service import create_key, list_keys, revoke_key
from kleline.payments.model import PaymentRequest
from kleline.privacy.audience_model import Audience, PrivacyBudgetExhausted
from kleline.privacy.offer_model import OfferDraft
from kleline.staff.actor import StaffActor, command_line
from kleline.staff.roles import Role
from kleline.staff_users import AlreadyStaff
from kleline.wallet.customers import EmailTaken, purse_code
from kleline.wallet.model import Card
from kleline.wallet.strong_auth import AlreadyEnrolled

__all__ = [
    "CONSENTS",
    "CUSTOMERS",
    "MALLS",
    "MERCHANTS",
    "OFFER",
    "OWNER_EMAIL",
    "OWNER_NAME",
    "PASSWORD",
    "PURCHASES",
    "PURSE_TARGET",
    "SHOP_EMAIL",
    "STAFF",
    "DemoCustomer",
    "DemoData",
    "DemoOwner",
    "DemoShop",
    "DemoStaff",
    "Purchase",
    "SeedingFailed",
    "seed",
]

ACTOR: Final = StaffActor("cli", "demo", None, "local")
"""Who seeds the demo: the command line, under the demo's name, in the staff audit trail."""
PASSWORD: Final = "kleline-demo-password"
"""Every demo customer's password (public: this is demo data)."""
PURSE_TARGET: Final = Money(10_000, "EUR")
"""What each demo purse is topped up to."""
SHOP_EMAIL: Final = "orders@boutique-du-coin.example"
OWNER_EMAIL: Final = "owner@boutique-du-coin.example"
"""The demo shop's owner, who signs in to its dashboard with the demo password and an authenticator app."""
OWNER_NAME: Final = "Camille Martin"
STAFF: Final = (
    ("admin@kleline.example", Role.ADMIN),
    ("compliance@kleline.example", Role.COMPLIANCE),
    ("finance@kleline.example", Role.FINANCE),
    ("support@kleline.example", Role.SUPPORT),
)
"""Kleline's demo staff, one person per role, who sign in to the console with the demo password and an authenticator
app."""

MALLS: Final = (
    ("Les Halles numériques", "les-halles"),
    ("Passage Kléber", "passage-kleber"),
    ("Marché de la Rive Gauche", "rive-gauche"),
)


@dataclass(frozen=True, slots=True)
class MerchantSpec:
    """A demo merchant as it registers: name, contact, category, commission, the malls (slugs) it joins, and what
    it sells, as the malls' pages show it."""

    name: str
    email: str
    category: str
    fee_bps: int
    malls: tuple[str, ...]
    description: str


MERCHANTS: Final = (
    MerchantSpec(
        "La Boutique du Coin", SHOP_EMAIL, "grocery", 350, ("les-halles",), "Olive oil, cheese and kitchen linen"
    ),
    MerchantSpec(
        "Librairie Kléber",
        "contact@librairie-kleber.example",
        "books",
        320,
        ("passage-kleber",),
        "New and second-hand books, French and foreign literature",
    ),
    MerchantSpec(
        "Fromagerie Duval",
        "bonjour@fromagerie-duval.example",
        "grocery",
        350,
        ("les-halles",),
        "Farmhouse cheeses, cut to order",
    ),
    MerchantSpec(
        "Atelier Vélo", "atelier@atelier-velo.example", "sports", 380, ("rive-gauche",), "Bicycle parts and repairs"
    ),
    MerchantSpec(
        "Disques Bleus",
        "vinyles@disques-bleus.example",
        "music",
        400,
        ("passage-kleber", "rive-gauche"),
        "Jazz and blues records, new and used",
    ),
    MerchantSpec(
        "Papeterie Moreau",
        "papeterie@moreau.example",
        "stationery",
        300,
        ("passage-kleber",),
        "Notebooks, fountain pens and ink",
    ),
    MerchantSpec(
        "Thés et Merveilles",
        "the@merveilles.example",
        "grocery",
        350,
        ("les-halles", "rive-gauche"),
        "Loose-leaf teas and teapots",
    ),
    MerchantSpec("Jouets Lefèvre", "jouets@lefevre.example", "toys", 360, ("rive-gauche",), "Wooden toys and games"),
    MerchantSpec(
        "Quincaillerie Roux",
        "quincaillerie@roux.example",
        "hardware",
        340,
        ("les-halles",),
        "Tools, hardware and garden supplies",
    ),
    MerchantSpec(
        "Optique Garnier", "optique@garnier.example", "health", 390, ("passage-kleber",), "Glasses and sunglasses"
    ),
    MerchantSpec(
        "Fleurs de Saison",
        "bouquets@fleurs-de-saison.example",
        "florist",
        330,
        ("rive-gauche",),
        "Seasonal bouquets, delivered in Paris",
    ),
    MerchantSpec(
        "Cave Saint-Vincent",
        "cave@saint-vincent.example",
        "wine",
        370,
        ("les-halles", "passage-kleber"),
        "Wines from independent growers",
    ),
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


@dataclass(frozen=True, slots=True)
class Purchase:
    """A past purchase of a demo customer, for the wallet's history: from the purse, or by the wallet's first card,
    under the strong-authentication exemption; ``refunded``: what the merchant gave back of it."""

    customer: str
    merchant: str
    description: str
    amount: int
    method: Literal["purse", "card"]
    refunded: int = 0


PURCHASES: Final = (
    Purchase("alice@example.com", "bonjour@fromagerie-duval.example", "Comté and Morbier, 400 g", 1840, "purse"),
    Purchase("alice@example.com", "contact@librairie-kleber.example", "Les Misérables, 2 vol.", 1290, "card", 390),
    Purchase("bruno@example.com", "vinyles@disques-bleus.example", "Kind of Blue, vinyl LP", 2490, "purse"),
    Purchase("chloe@example.com", "the@merveilles.example", "Sencha tea, 100 g", 1150, "purse"),
    Purchase("chloe@example.com", "bouquets@fleurs-de-saison.example", "Bouquet of tulips", 2500, "card"),
    # The demo shop's own sales: its dashboard opens on sales, a partial refund, and Bruno's email (he shares it).
    Purchase("alice@example.com", SHOP_EMAIL, "Olive oil from Nyons, 50 cl", 1250, "purse"),
    Purchase("bruno@example.com", SHOP_EMAIL, "Linen tea towel", 1990, "purse"),
    Purchase("chloe@example.com", SHOP_EMAIL, "Comté, 18 months, 2 × 250 g", 1780, "purse", 890),
)
"""Made once, when the customer is, after the purse's top-up (whose challenge starts the exemption afresh): their
total per customer stays well under the exemption's cumulated limit, so the demo's first purchases need no code."""

CONSENTS: Final = (
    ("alice@example.com", "offers", "mall:les-halles"),
    ("alice@example.com", "audience_statistics", ""),
    ("bruno@example.com", "offers", "category:music"),
    ("bruno@example.com", "share_email", f"merchant:{SHOP_EMAIL}"),
    ("chloe@example.com", "offers", "category:grocery"),
    ("chloe@example.com", "audience_statistics", ""),
)
"""The demo customers' privacy choices, as given on the wallet's privacy page: a scope names a mall by its slug and
a merchant by its email (``_scope`` turns them into ids). Bruno shares his email with the demo shop, whose dashboard
then shows it on his payments (and a pseudonym on the others')."""


@dataclass(frozen=True, slots=True)
class OfferSpec:
    """The demo shop's offer: what it says, and the mall (slug) whose past buyers it goes to."""

    title: str
    body: str
    link: str
    mall: str
    days: int


OFFER: Final = OfferSpec(
    "Olive oil: 10% off this month",
    "Our new harvest of Provençal olive oil is in: 10% off every bottle until the end of the month, in the shop and "
    "online.",
    "https://boutique-du-coin.example/offers/olive-oil",  # an offer's link is https: a demo's opens nothing
    "les-halles",
    60,
)
"""Sent by the demo shop to whoever agreed to hear offers from the merchants of its mall or of its category (grocery)
and bought in that mall, letting their purchases count: Alice and Chloé, not Bruno (he hears music shops only)."""


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
class DemoOwner:
    """The demo shop's owner on its dashboard: how to sign in, and the authenticator's secret when this run set it
    up (it is shown once, like every TOTP secret)."""

    email: str
    name: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DemoStaff:
    """A person of Kleline's demo staff: how to sign in to the console, and the authenticator's secret when this run
    set it up (it is shown once, like every TOTP secret)."""

    email: str
    role: Role
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DemoData:
    """Everything the demo made or found, and the keys to use it."""

    malls: tuple[Mall, ...]
    merchants: tuple[Merchant, ...]
    customers: tuple[DemoCustomer, ...]
    shop: DemoShop
    operator_keys: dict[Role, str] = field(repr=False)

    @property
    def operator_key(self) -> str:
        """The key the demo's examples use: an operator who reads everything (support)."""
        return self.operator_keys[Role.SUPPORT]

    owner: DemoOwner | None = None
    staff: tuple[DemoStaff, ...] = ()


def seed(kleline: Kleline, *, shop_url: str) -> DemoData:
    """Make whatever demo data is missing; the shop's webhooks go to ``{shop_url}/webhooks/kleline``. Kleline's own
    accounts need no seeding: every start opens them (``kleline.bootstrap.accounts``)."""
    made = _malls(kleline)
    merchants = _merchants(kleline, {mall.slug: mall.id for mall in made}, shop_url.rstrip("/") + "/")
    shop_merchant = next(merchant for merchant in merchants if merchant.email == SHOP_EMAIL)
    shop = _shop(kleline, shop_merchant, shop_url.rstrip("/") + "/webhooks/kleline")
    by_email = {merchant.email: merchant.id for merchant in merchants}
    customers = tuple(_customer(kleline, name, email, numbers, by_email) for name, email, numbers in CUSTOMERS)
    mall_ids = {mall.slug: mall.id for mall in made}
    _consents(kleline, {customer.email: customer.id for customer in customers}, mall_ids, by_email)
    _offer(kleline, shop_merchant.id, mall_ids[OFFER.mall])
    owner = _owner(kleline, shop_merchant.id)
    staff = tuple(_staff_member(kleline, email, role) for email, role in STAFF)
    operator_keys = _operator_keys(kleline)
    malls = tuple(kleline.malls.get(mall.id) for mall in made)  # read again: now with their members
    return DemoData(malls, merchants, customers, shop, operator_keys, owner, staff)


def _operator_keys(kleline: Kleline) -> dict[Role, str]:
    """A fresh operator key per role (secrets cannot be read back), the previous run's revoked: the demo acts as the
    command line, so each is in the staff audit trail."""
    labels = {f"demo {role.value}": role for role in Role}
    for key in list_keys(kleline.db):
        if key.label in labels or key.label == "demo":  # "demo": the one key of the demos before roles
            revoke_key(kleline.db, key.id, actor=ACTOR, clock=kleline.clock)
    return {
        role: create_key(kleline.db, label, role=role, actor=ACTOR, clock=kleline.clock).secret
        for label, role in labels.items()
    }


def _malls(kleline: Kleline) -> builtins.list[Mall]:
    existing = {mall.slug: mall for mall in kleline.malls.list(limit=1000)}
    return [existing.get(slug) or kleline.malls.create(name, slug, actor=ACTOR) for name, slug in MALLS]


def _iban(number: int) -> str:
    """A valid French IBAN for the ``number``-th demo merchant (at a real bank code, so its BIC is derived)."""
    return str(IBAN.generate("FR", bank_code="30004", account_code=f"{number:011d}"))


def _siret(number: int) -> str:
    """A valid SIRET for the ``number``-th demo merchant: a SIREN starting 000 (not one INSEE gives out), its
    Luhn key, and an establishment number whose last digit makes the whole 14 digits pass Luhn too."""
    siren = f"000{number:05d}"
    siren += luhn.calc_check_digit(siren)
    head = f"{siren}0001"
    return head + luhn.calc_check_digit(head)


def _merchants(kleline: Kleline, mall_ids: dict[str, str], shop_url: str) -> tuple[Merchant, ...]:
    """The demo merchants, each with what it sells; their shop links all open the demo shop, the one shop that runs
    (a demo's ``https://*.example`` address would open nothing)."""
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
                siret=_siret(number),
                website=shop_url,
                category=spec.category,
                mall_ids=malls,
                fee_bps=spec.fee_bps,
                description=spec.description,
                actor=ACTOR,
            )
        elif (merchant.description, merchant.website) != (spec.description, shop_url):
            merchant = kleline.merchants.describe(
                merchant.id, description=spec.description, website=shop_url, actor=ACTOR
            )
        for mall_id in malls:
            if mall_id not in merchant.mall_ids:
                kleline.malls.add_merchant(mall_id, merchant.id, actor=ACTOR)
        if not merchant.is_active:
            kleline.merchants.approve(merchant.id, actor=ACTOR)
        merchants.append(kleline.merchants.get(merchant.id))
    return tuple(merchants)


def _shop(kleline: Kleline, merchant: Merchant, webhook_url: str) -> DemoShop:
    """A fresh secret key and webhook endpoint for the shop process (their secrets cannot be read back)."""
    key = kleline.merchants.create_key(merchant.id, actor=ACTOR)
    for old in kleline.merchants.keys(merchant.id):
        if old.id != key.key.id and old.revoked_at is None:
            kleline.merchants.revoke_key(merchant.id, old.id, actor=ACTOR)
    endpoints = kleline.webhook_endpoints
    for endpoint in endpoints.list(merchant.id, limit=100):
        endpoints.delete(merchant.id, endpoint.id)
    endpoint, secret = endpoints.create(merchant.id, webhook_url)
    return DemoShop(merchant.id, merchant.name, key.secret, endpoint.url, secret)


def _owner(kleline: Kleline, merchant_id: str) -> DemoOwner:
    """The demo shop's owner, invited and accepted as a person would, with a confirmed authenticator app."""
    try:
        invited = kleline.merchant_users.invite(merchant_id, OWNER_EMAIL, "owner", by=ACTOR)
    except AlreadyAMember:
        return DemoOwner(OWNER_EMAIL, OWNER_NAME, PASSWORD)  # made by an earlier run, which showed the secret
    user = kleline.merchant_users.accept(invited.token, OWNER_NAME, PASSWORD)
    secret = kleline.merchant_sign_in.set_up_authenticator(user.id, user.email).secret
    # Confirmed with the code the app showed a time step ago: the one it shows now, which the person types to sign in
    # right after the banner, must not be refused as one already used.
    earlier = pyotp.TOTP(secret).at(kleline.clock() - timedelta(seconds=30))
    kleline.merchant_sign_in.confirm_authenticator(user.id, earlier)
    return DemoOwner(OWNER_EMAIL, OWNER_NAME, PASSWORD, secret)


def _staff_member(kleline: Kleline, email: str, role: Role) -> DemoStaff:
    """A person of the demo staff, invited from the command line and accepted as a person would, with a confirmed
    authenticator app; every step is in the staff audit trail."""
    try:
        invited = kleline.staff_team.invite(email, role, by=command_line())
    except AlreadyStaff:
        return DemoStaff(email, role, PASSWORD)  # made by an earlier run, which showed the secret
    session = kleline.staff_team.accept(invited.token, PASSWORD)
    assert session.user is not None
    secret = kleline.staff_sign_in.set_up_authenticator(session.user.id, email).secret
    # Confirmed with the code of a time step ago, as the owner's is: the code shown now is the one typed to sign in.
    earlier = pyotp.TOTP(secret).at(kleline.clock() - timedelta(seconds=30))
    kleline.staff_sign_in.confirm_authenticator(session.user.id, earlier, by=command_line())
    return DemoStaff(email, role, PASSWORD, secret)


def _customer(
    kleline: Kleline, name: str, email: str, numbers: tuple[str, ...], merchants: dict[str, str]
) -> DemoCustomer:
    try:
        kleline.customers.sign_up(email, PASSWORD, name)
    except EmailTaken:
        pass  # made by an earlier run
    # Verified: higher purse limits than an unverified wallet. ``verify`` finds the customer by email, so that an
    # earlier run's customer is found without signing in (which would leave an API token behind).
    customer_id = kleline.customers.verify(email, actor=ACTOR).id
    cards = _cards(kleline, customer_id, name, numbers)
    totp = None
    try:
        totp = pyotp.TOTP(kleline.strong_auth.enrol(customer_id, email).secret)
    except AlreadyEnrolled:
        pass  # made by an earlier run, which funded the purse and showed the secret
    if totp is not None:
        _fund(kleline, customer_id, cards[0], totp)
        _purchases(kleline, customer_id, email, cards[0], merchants)
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


def _purchases(kleline: Kleline, customer_id: str, email: str, card: Card, merchants: dict[str, str]) -> None:
    """The customer's past purchases (``PURCHASES``), paid and, where given, partly refunded by the merchant."""
    for purchase in (p for p in PURCHASES if p.customer == email):
        merchant_id = merchants[purchase.merchant]
        # An order number as a shop makes them (the demo shop's look alike), the headline of a dashboard's payment.
        request = PaymentRequest(Money(purchase.amount, "EUR"), purchase.description, f"ord_{secrets.token_hex(8)}")
        created = kleline.payments.create(merchant_id, request)
        card_id = card.id if purchase.method == "card" else None
        paid = kleline.payments.confirm(created.id, customer_id, purchase.method, card_id)
        if paid.status != "succeeded":
            raise SeedingFailed(f"the demo purchase {paid.id} ended {paid.status}: {paid.failure_code}")
        if purchase.refunded:
            kleline.refunds.refund(merchant_id, paid.id, Money(purchase.refunded, "EUR"))


def _scope(scope: str, mall_ids: dict[str, str], merchants: dict[str, str]) -> str:
    """A scope of ``CONSENTS`` with the mall's or merchant's id."""
    kind, _, value = scope.partition(":")
    if kind == "mall":
        return f"mall:{mall_ids[value]}"
    if kind == "merchant":
        return f"merchant:{merchants[value]}"
    return scope


def _consents(kleline: Kleline, customers: dict[str, str], mall_ids: dict[str, str], merchants: dict[str, str]) -> None:
    """The customers' privacy choices (``CONSENTS``), each granted as in the wallet unless already answered either
    way: a consent a demo user withdrew stays withdrawn."""
    for email, purpose, scope in CONSENTS:
        customer_id, scope = customers[email], _scope(scope, mall_ids, merchants)
        answered = {(state.purpose, state.scope) for state in kleline.consents.states(customer_id)}
        if (purpose, scope) not in answered:
            kleline.consents.grant(customer_id, purpose, scope, channel="wallet")


def _offer(kleline: Kleline, merchant_id: str, mall_id: str) -> None:
    """The demo shop's offer (``OFFER``), sent unless its last one is still valid, or the shop spent this month's
    privacy budget on its dashboard (the demo then starts without a new one)."""
    now = kleline.clock()
    sent = kleline.offers.list(merchant_id, limit=100)
    if any(offer.title == OFFER.title and offer.valid_until > now for offer in sent):
        return
    draft = OfferDraft(
        OFFER.title, OFFER.body, OFFER.link, now, now + timedelta(days=OFFER.days), Audience(mall_id=mall_id)
    )
    try:
        kleline.offers.send(merchant_id, draft)
    except PrivacyBudgetExhausted:
        pass
