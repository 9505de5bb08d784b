"""The composition root: builds the settings, the database and the services, and hands them down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from stdnum.eu import at_02 as sepa_creditor_id

from kleline.banks import BankNetwork, InProcessTransport, IsoBankNetwork, SandboxIssuers
from kleline.banks.reversals import ReversalQueue
from kleline.banks.tcp import TcpTransport
from kleline.clock import Clock, system_clock
from kleline.collections import Collections
from kleline.config import SANDBOX_BANK_URL, Settings, load_settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, head_revision, upgrade
from kleline.errors import KlelineError, ValidationError
from kleline.events.delivery import WebhookDeliverer
from kleline.events.endpoints import WebhookEndpoints
from kleline.events.model import RetryPolicy, SealedSecret
from kleline.events.service import Events
from kleline.idempotency import Idempotency
from kleline.ledger import Ledger, NormalSide
from kleline.merchants import Malls, Merchants
from kleline.merchants.checks import bank_details
from kleline.money import Money
from kleline.payments.book import PaymentBook
from kleline.payments.refunds import Refunds
from kleline.payments.service import Payments
from kleline.receipts import InvalidSigningKeyConfig, Receipts, SigningKeys
from kleline.reconciliation import Counterparts, Reconciliation, SuspenseQueue
from kleline.reports import Issuer, Reports
from kleline.sepa.model import OwnAccount
from kleline.settlement import Settlement
from kleline.wallet.customers import PURSE_CURRENCY, Customers
from kleline.wallet.limits import LimitsPolicy, PurseLimits
from kleline.wallet.registered_cards import RegisteredCards
from kleline.wallet.sca import ExemptionPolicy
from kleline.wallet.strong_auth import StrongAuth
from kleline.wallet.top_ups import TopUps
from kleline.wallet.vault import (
    InvalidKeyConfig,
    MasterKeys,
    SealedCard,
    fingerprint_key_from_config,
    open_bytes,
    rewrap,
    seal_bytes,
)

__all__ = [
    "InvalidBankAccountConfig",
    "Kleline",
    "SchemaOutOfDate",
    "UnsupportedBankUrl",
    "VaultKeys",
    "WebhookSecretBox",
    "bank_network",
    "build",
    "check_settings",
    "open_system_accounts",
    "own_account",
    "receipt_signing_keys",
    "vault_keys",
]


class SchemaOutOfDate(KlelineError):
    """The database holds an older schema than this code; ``kleline db upgrade`` brings it up."""

    code = "schema_out_of_date"
    status = 503


class InvalidBankAccountConfig(KlelineError):
    """Kleline's own bank account (safeguarding IBAN, BIC, holder, creditor id) is not usable."""

    code = "invalid_bank_account_config"
    status = 500


class UnsupportedBankUrl(KlelineError):
    """``KLELINE_BANK_URL`` names a way of reaching the issuers that this version does not have."""

    code = "unsupported_bank_url"
    status = 500


@dataclass(frozen=True, slots=True)
class VaultKeys:
    """The card vault's keys, decoded and checked: master keys (sealing) and the fingerprint key (never rotated)."""

    master_keys: MasterKeys
    fingerprint_key: bytes = field(repr=False)


def vault_keys(settings: Settings) -> VaultKeys:
    """Decode the configured vault keys; development keys are refused outside development (``InvalidKeyConfig``)."""
    try:
        master_keys = MasterKeys.from_config(settings.master_keys.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_MASTER_KEYS: {error.detail}") from None
    try:
        fingerprint_key = fingerprint_key_from_config(settings.fingerprint_key.get_secret_value(), settings.env)
    except InvalidKeyConfig as error:
        raise InvalidKeyConfig(f"KLELINE_FINGERPRINT_KEY: {error.detail}") from None
    return VaultKeys(master_keys, fingerprint_key)


def receipt_signing_keys(settings: Settings) -> SigningKeys:
    """Decode the receipt signing keys; the development key is refused outside development."""
    try:
        return SigningKeys.from_config(settings.receipt_signing_keys.get_secret_value(), settings.env)
    except InvalidSigningKeyConfig as error:
        raise InvalidSigningKeyConfig(f"KLELINE_RECEIPT_SIGNING_KEYS: {error.detail}") from None


def bank_network(settings: Settings, clock: Clock, *, reversals: ReversalQueue | None = None) -> IsoBankNetwork:
    """The card issuers ``KLELINE_BANK_URL`` names: the in-process sandbox (``sandbox:``) or a card network over
    TCP (``iso8583://HOST:PORT``, e.g. ``kleline bank serve``), whose lost answers queue their reversals in
    ``reversals``. Connections open when first needed, so that a network not yet up does not stop a start."""
    url = settings.bank_url.strip()
    if url == SANDBOX_BANK_URL:
        transport: InProcessTransport | TcpTransport = InProcessTransport(SandboxIssuers(clock=clock))
    else:
        host, port = _iso8583_address(url)
        transport = TcpTransport(host, port, pool_size=settings.bank_pool_size, timeout=settings.bank_timeout_seconds)
    return IsoBankNetwork(transport, clock=clock, reversals=reversals)


def _iso8583_address(url: str) -> tuple[str, int]:
    # Name the scheme only in errors: a URL may carry credentials.
    scheme = url.partition(":")[0][:20] or "(empty)"
    if scheme != "iso8583":
        raise UnsupportedBankUrl(
            f"KLELINE_BANK_URL: only {SANDBOX_BANK_URL!r} (the in-process sandbox issuers) or 'iso8583://HOST:PORT' "
            f"(a card network over TCP) are supported, not a {scheme!r} URL"
        )
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.username or parts.path.strip("/") or parts.query:
        raise UnsupportedBankUrl("KLELINE_BANK_URL: an iso8583 URL is iso8583://HOST:PORT, nothing more")
    return parts.hostname, port


def own_account(settings: Settings) -> OwnAccount:
    """Kleline's safeguarding account as SEPA files name it; an invalid IBAN or BIC is refused at start."""
    try:
        details = bank_details(settings.safeguarding_iban, settings.safeguarding_bic)
    except ValidationError as error:
        raise InvalidBankAccountConfig(f"KLELINE_SAFEGUARDING_IBAN/BIC: {error.detail}") from None
    name = settings.safeguarding_name.strip()
    if not name:
        raise InvalidBankAccountConfig("KLELINE_SAFEGUARDING_NAME: the account holder's name is empty")
    creditor_id = settings.sepa_creditor_id.replace(" ", "").upper()
    if not sepa_creditor_id.is_valid(creditor_id):
        raise InvalidBankAccountConfig("KLELINE_SEPA_CREDITOR_ID: not a valid SEPA creditor identifier")
    return OwnAccount(details.iban, details.bic, name, creditor_id)


def check_settings(settings: Settings) -> None:
    """Refuse unusable or unsafe settings (keys, bank, own account) before anything is opened or migrated."""
    vault_keys(settings)
    receipt_signing_keys(settings)
    bank_network(settings, system_clock)
    own_account(settings)


class WebhookSecretBox:
    """Webhook endpoints' signing secrets, sealed by the card vault under the master keys; handed to events from
    here because the vault lives in the wallet, which events (a sibling package) must not import."""

    _PURPOSE = b"kleline-webhook-secret-v1"

    def __init__(self, keys: MasterKeys) -> None:
        self._keys = keys

    @property
    def active_key_id(self) -> str:
        """The master key new secrets are sealed under."""
        return self._keys.active_id

    def seal(self, plaintext: bytes) -> SealedSecret:
        """Seal a secret under the active master key."""
        return _secret(seal_bytes(plaintext, self._keys, self._PURPOSE))

    def open(self, sealed: SealedSecret) -> bytes:
        """Recover a sealed secret (``VaultError`` if it was altered)."""
        return open_bytes(_card(sealed), self._keys, self._PURPOSE)

    def rewrap(self, sealed: SealedSecret) -> SealedSecret:
        """The same secret wrapped under the active master key."""
        return _secret(rewrap(_card(sealed), self._keys))


def _secret(sealed: SealedCard) -> SealedSecret:
    return SealedSecret(sealed.key_id, sealed.wrapped_key, sealed.nonce, sealed.ciphertext)


def _card(sealed: SealedSecret) -> SealedCard:
    return SealedCard(sealed.key_id, sealed.wrapped_key, sealed.nonce, sealed.ciphertext)


@dataclass
class Kleline:
    """Everything a process needs: settings, database, and the services built on them."""

    settings: Settings
    db: Database
    ledger: Ledger
    clock: Clock
    customers: Customers
    limits: LimitsPolicy
    bank: BankNetwork
    master_keys: MasterKeys
    cards: RegisteredCards
    strong_auth: StrongAuth
    top_ups: TopUps
    merchants: Merchants
    malls: Malls
    receipts: Receipts
    idempotency: Idempotency
    events: Events
    webhook_endpoints: WebhookEndpoints
    webhooks: WebhookDeliverer
    payments: Payments
    refunds: Refunds
    own_account: OwnAccount
    reversals: ReversalQueue
    settlement: Settlement
    reports: Reports
    collections: Collections
    # Built after the others, from settlement and collections (reconciliation confirms their payouts and debits).
    reconciliation: Reconciliation = field(init=False)
    suspense: SuspenseQueue = field(init=False)

    def close(self) -> None:
        """Release the database connections and the card network's."""
        if isinstance(self.bank, IsoBankNetwork):
            self.bank.close()
        self.db.dispose()


def build(settings: Settings | None = None, *, migrate_if_empty: bool = False, clock: Clock = system_clock) -> Kleline:
    """Wire Kleline together; with ``migrate_if_empty`` an empty database gets the schema (the server does that)."""
    settings = settings or load_settings()
    keys = vault_keys(settings)  # before the database: a refused key must not leave a migrated database behind
    signing_keys = receipt_signing_keys(settings)
    bank_network(settings, clock)  # refuse a bad bank URL before the database is touched
    account = own_account(settings)
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    revision = current_revision(db)
    if revision is None and migrate_if_empty:
        upgrade(db)
    elif revision != head_revision():
        db.dispose()
        raise SchemaOutOfDate(
            f"database schema is at {revision or 'nothing'}, this code needs {head_revision()}: run kleline db upgrade"
        )
    reversals = ReversalQueue(db, clock=clock)
    bank = bank_network(settings, clock, reversals=reversals)
    ledger = Ledger(db, clock=clock, chain_shards=settings.chain_shards)
    ledger.prepare()
    customers = Customers(
        db,
        ledger,
        clock=clock,
        token_ttl=timedelta(seconds=settings.customer_token_ttl_seconds),
        lockout_failures=settings.sign_in_lockout_failures,
        lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
    )
    limits = LimitsPolicy(
        unverified=PurseLimits(
            Money(settings.unverified_max_balance, PURSE_CURRENCY),
            Money(settings.unverified_monthly_top_up, PURSE_CURRENCY),
        ),
        verified=PurseLimits(
            Money(settings.verified_max_balance, PURSE_CURRENCY),
            Money(settings.verified_monthly_top_up, PURSE_CURRENCY),
        ),
    )
    cards = RegisteredCards(db, bank, keys.master_keys, keys.fingerprint_key, clock)
    exemptions = ExemptionPolicy(
        single_limit=Money(settings.sca_single_limit, PURSE_CURRENCY),
        cumulative_limit=Money(settings.sca_cumulative_limit, PURSE_CURRENCY),
        max_payments=settings.sca_max_payments,
        mode=settings.sca_exemption_mode,
    )
    strong_auth = StrongAuth(db, keys.master_keys, exemptions, clock=clock)
    top_ups = TopUps(db, ledger, bank, cards, strong_auth, limits, clock=clock)
    webhook_endpoints = WebhookEndpoints(
        db, WebhookSecretBox(keys.master_keys), clock=clock, allow_loopback=settings.webhooks_allow_loopback
    )
    webhooks = WebhookDeliverer(
        db,
        webhook_endpoints,
        clock=clock,
        policy=RetryPolicy(
            base=timedelta(seconds=settings.webhook_backoff_base_seconds),
            cap=timedelta(seconds=settings.webhook_backoff_cap_seconds),
            horizon=timedelta(hours=settings.webhook_retry_hours),
        ),
        timeout=settings.webhook_timeout_seconds,
        batch_size=settings.webhook_batch_size,
        concurrency=settings.webhook_concurrency,
    )
    merchants = Merchants(db, ledger, clock=clock)
    receipts = Receipts(db, signing_keys)
    book = PaymentBook(db, clock, settings.public_url)
    payments = Payments(
        book,
        ledger,
        bank,
        cards,
        strong_auth,
        merchants,
        receipts,
        authorization_ttl=timedelta(hours=settings.authorization_ttl_hours),
    )
    kleline = Kleline(
        settings=settings,
        db=db,
        ledger=ledger,
        clock=clock,
        customers=customers,
        limits=limits,
        bank=bank,
        master_keys=keys.master_keys,
        cards=cards,
        strong_auth=strong_auth,
        top_ups=top_ups,
        merchants=merchants,
        malls=Malls(db, clock=clock),
        receipts=receipts,
        idempotency=Idempotency(
            db,
            keys.fingerprint_key,
            clock=clock,
            retention=timedelta(hours=settings.idempotency_retention_hours),
            lock_timeout=timedelta(seconds=settings.idempotency_lock_timeout_seconds),
        ),
        events=Events(db, clock=clock),
        webhook_endpoints=webhook_endpoints,
        webhooks=webhooks,
        payments=payments,
        refunds=Refunds(book, ledger, merchants, receipts, bank=bank),
        own_account=account,
        reversals=reversals,
        settlement=Settlement(db, ledger, account, clock=clock, minimum=settings.payout_minimum),
        reports=Reports(db, merchants, Issuer(settings.safeguarding_name, settings.public_url), clock=clock),
        collections=Collections(db, ledger, strong_auth, limits, account, clock=clock),
    )
    counterparts = Counterparts(ledger, account, kleline.settlement, kleline.collections)
    kleline.reconciliation = Reconciliation(db, ledger, account, counterparts, clock=clock)
    kleline.suspense = SuspenseQueue(db, ledger, account, counterparts, clock=clock)
    return kleline


SYSTEM_ACCOUNTS = [
    ("kleline:commission", NormalSide.CREDIT, None),
    ("kleline:suspense", NormalSide.CREDIT, None),
    ("kleline:bad-debt", NormalSide.DEBIT, None),  # debts written off (collections.BAD_DEBT_ACCOUNT)
]


def open_system_accounts(kleline: Kleline, currency: str = "EUR") -> None:
    """Open Kleline's own accounts (commission, suspense, bad debt, safeguarding bank, in-transit) in ``currency``;
    idempotent."""
    for code, side, floor in SYSTEM_ACCOUNTS:
        kleline.ledger.open_account(code, currency, side, floor=floor)
    # Both mirror money at the bank (an asset): debit-normal, and with no floor, because a statement may report a
    # payout before the card settlement that funds it.
    kleline.ledger.open_account(kleline.own_account.safeguarding_code, currency, NormalSide.DEBIT)
    kleline.ledger.open_account(kleline.own_account.in_transit_code, currency, NormalSide.DEBIT)
