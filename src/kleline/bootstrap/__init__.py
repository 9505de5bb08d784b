"""The composition root: builds the settings, the database and the services, and hands them down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from kleline.banks import BankNetwork, IsoBankNetwork
from kleline.banks.reversals import ReversalQueue
from kleline.bootstrap.accounts import ensure_system_accounts, system_accounts
from kleline.bootstrap.settings import (
    InvalidBankAccountConfig,
    UnsupportedBankUrl,
    VaultKeys,
    WebhookSecretBox,
    bank_network,
    check_bank_url,
    check_settings,
    own_account,
    personal_data_keys,
    pseudonyms,
    receipt_signing_keys,
    vault_keys,
)
from kleline.clock import Clock, system_clock
from kleline.collections import Collections
from kleline.config import Settings, load_settings
from kleline.customer_rights.erasure import Erasure
from kleline.customer_rights.export import CustomerExport
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, head_revision, upgrade
from kleline.errors import KlelineError
from kleline.events.delivery import WebhookDeliverer
from kleline.events.endpoints import WebhookEndpoints
from kleline.events.model import RetryPolicy
from kleline.events.service import Events
from kleline.idempotency import Idempotency
from kleline.ledger import Ledger
from kleline.merchant_users import (
    BankAccountChanges,
    MerchantJoining,
    MerchantPasskeys,
    MerchantSecurity,
    MerchantSignIn,
    MerchantUsers,
)
from kleline.merchants import Malls, Merchants
from kleline.money import Money
from kleline.payments.book import PaymentBook
from kleline.payments.disclosure import Disclosure
from kleline.payments.refunds import Refunds
from kleline.payments.service import Payments
from kleline.privacy.audience_model import PrivacyPolicy
from kleline.privacy.audiences import Audiences
from kleline.privacy.consents import Consents
from kleline.privacy.offers import Inbox, Offers
from kleline.proposals import Proposals, acts
from kleline.ratelimit import SIGN_IN, SIGN_UP, Rate, RateLimits
from kleline.receipts import Receipts
from kleline.reconciliation import Counterparts, Reconciliation, SuspenseQueue
from kleline.reports import Issuer, Reports
from kleline.reports.growth import Growth
from kleline.reports.lookup import Lookup
from kleline.reports.overview import Overview
from kleline.reports.safeguarding import Safeguarding
from kleline.sepa.model import OwnAccount
from kleline.settlement import Settlement
from kleline.staff_users import StaffPasskeys, StaffSecurity, StaffSignIn, StaffTeam
from kleline.wallet.customers import PURSE_CURRENCY, Customers
from kleline.wallet.limits import LimitsPolicy, PurseLimits
from kleline.wallet.passkey import RelyingParty
from kleline.wallet.passkeys import Passkeys
from kleline.wallet.registered_cards import RegisteredCards
from kleline.wallet.sca import ExemptionPolicy
from kleline.wallet.sign_ins import SignIns
from kleline.wallet.strong_auth import StrongAuth
from kleline.wallet.top_ups import TopUps
from kleline.wallet.vault import MasterKeys

__all__ = [
    "InvalidBankAccountConfig",
    "Kleline",
    "SchemaOutOfDate",
    "UnsupportedBankUrl",
    "VaultKeys",
    "WebhookSecretBox",
    "bank_network",
    "build",
    "check_bank_url",
    "check_settings",
    "open_system_accounts",
    "own_account",
    "receipt_signing_keys",
    "system_accounts",
    "vault_keys",
]


class SchemaOutOfDate(KlelineError):
    """The database holds an older schema than this code; ``kleline db upgrade`` brings it up."""

    code = "schema_out_of_date"
    status = 503


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
    rate_limits: RateLimits
    passkeys: Passkeys
    sign_ins: SignIns
    merchant_users: MerchantUsers
    merchant_sign_in: MerchantSignIn
    bank_account_changes: BankAccountChanges
    merchant_joining: MerchantJoining
    merchant_passkeys: MerchantPasskeys
    merchant_security: MerchantSecurity
    staff_sign_in: StaffSignIn
    staff_team: StaffTeam
    staff_security: StaffSecurity
    staff_passkeys: StaffPasskeys
    consents: Consents
    disclosure: Disclosure
    audiences: Audiences
    offers: Offers
    inbox: Inbox
    # Built after the others, from settlement and collections (reconciliation confirms their payouts and debits).
    reconciliation: Reconciliation = field(init=False)
    suspense: SuspenseQueue = field(init=False)
    # Built last, over the services whose acts take two people (four eyes).
    proposals: Proposals = field(init=False)
    # Built after settlement, whose payouts it reads: the dashboard's overview of a merchant's sales and balance.
    overview: Overview = field(init=False)
    # Read models of Kleline's staff: its growth, safeguarding, and one customer's or merchant's summary.
    growth: Growth = field(init=False)
    safeguarding: Safeguarding = field(init=False)
    lookup: Lookup = field(init=False)
    # The customer's rights (GDPR): export, and erasure by crypto-shredding.
    erasure: Erasure = field(init=False)
    customer_export: CustomerExport = field(init=False)

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
    customer_pseudonyms = pseudonyms(settings)
    check_bank_url(settings)  # refuse a bad bank URL before the database is touched
    account = own_account(settings)
    personal_keys = personal_data_keys(settings)
    db = Database(settings.database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout_seconds)
    revision = current_revision(db)
    if revision is None and migrate_if_empty:
        upgrade(db)
    elif revision != head_revision():
        db.dispose()
        raise SchemaOutOfDate(
            f"database schema is at {revision or 'nothing'}, this code needs {head_revision()}: run kleline db upgrade"
        )
    reversals = ReversalQueue(db, clock=clock)
    bank = bank_network(settings, clock, db, reversals=reversals)
    ledger = Ledger(db, clock=clock, chain_shards=settings.chain_shards)
    ledger.prepare()
    try:
        ensure_system_accounts(ledger, account)  # Kleline's own accounts, from the first start, demo or not
    except BaseException:
        db.dispose()  # an account of the wrong kind stops the start: leave no connection behind
        raise
    customers = Customers(
        db,
        ledger,
        clock=clock,
        token_ttl=timedelta(seconds=settings.customer_token_ttl_seconds),
        lockout_failures=settings.sign_in_lockout_failures,
        lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
        keys=personal_keys,
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
    relying_party = RelyingParty.of(settings.public_url)
    strong_auth = StrongAuth(db, keys.master_keys, exemptions, clock=clock, relying_party=relying_party)
    top_ups = TopUps(db, ledger, bank, cards, strong_auth, limits, clock=clock)
    merchants = Merchants(db, ledger, clock=clock)
    merchant_sign_in = MerchantSignIn(
        db,
        keys.master_keys,
        clock=clock,
        session_ttl=timedelta(minutes=settings.web_session_minutes),
        lockout_failures=settings.sign_in_lockout_failures,
        lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
    )
    staff_sign_in = StaffSignIn(
        db,
        keys.master_keys,
        clock=clock,
        session_ttl=timedelta(minutes=settings.web_session_minutes),
        lockout_failures=settings.sign_in_lockout_failures,
        lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
    )
    webhook_endpoints = WebhookEndpoints(
        db,
        WebhookSecretBox(keys.master_keys),
        clock=clock,
        allow_loopback=settings.webhooks_allow_loopback,
        admit=lambda merchant_id: merchants.require_not_suspended(merchant_id, "register webhook endpoints"),
    )
    disclosure = Disclosure(db, customer_pseudonyms, personal_keys)
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
        data_view=disclosure.webhook_data,
    )
    receipts = Receipts(db, signing_keys)
    book = PaymentBook(db, clock, settings.public_url, customer_pseudonyms)
    payments = Payments(
        book,
        ledger,
        bank,
        cards,
        strong_auth,
        merchants,
        receipts,
        authorization_ttl=timedelta(hours=settings.authorization_ttl_hours),
        email_index=customers.email_index_of,
    )
    consents = Consents(db, clock=clock)
    policy = PrivacyPolicy(settings.audience_epsilon_milli, settings.audience_monthly_budget_milli)
    audiences = Audiences(db, clock=clock, policy=policy)
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
        rate_limits=RateLimits(db, rate_limits(settings), clock=clock),
        passkeys=Passkeys(db, relying_party, clock=clock, keys=personal_keys),
        sign_ins=SignIns(db, clock=clock),
        merchant_users=MerchantUsers(db, clock=clock, public_url=settings.public_url),
        merchant_sign_in=merchant_sign_in,
        merchant_joining=MerchantJoining(db, merchants, merchant_sign_in),
        bank_account_changes=BankAccountChanges(db, clock=clock),
        merchant_passkeys=MerchantPasskeys(
            db, relying_party, clock=clock, session_ttl=timedelta(minutes=settings.web_session_minutes)
        ),
        merchant_security=MerchantSecurity(
            db,
            keys.master_keys,
            clock=clock,
            session_ttl=timedelta(minutes=settings.web_session_minutes),
            lockout_failures=settings.sign_in_lockout_failures,
            lockout=timedelta(minutes=settings.sign_in_lockout_minutes),
        ),
        staff_sign_in=staff_sign_in,
        staff_team=StaffTeam(
            db, clock=clock, public_url=settings.public_url, session_ttl=timedelta(minutes=settings.web_session_minutes)
        ),
        staff_security=StaffSecurity(
            db, staff_sign_in, clock=clock, session_ttl=timedelta(minutes=settings.web_session_minutes)
        ),
        staff_passkeys=StaffPasskeys(
            db, relying_party, clock=clock, session_ttl=timedelta(minutes=settings.web_session_minutes)
        ),
        consents=consents,
        disclosure=disclosure,
        audiences=audiences,
        offers=Offers(db, audiences, clock=clock),
        inbox=Inbox(db, consents, clock=clock),
    )
    kleline.overview = Overview(db, ledger, kleline.payments, kleline.settlement, clock=clock)
    kleline.growth = Growth(db, clock=clock)
    kleline.safeguarding = Safeguarding(db, clock=clock)
    kleline.lookup = Lookup(db, ledger, customers, cards, strong_auth, merchants, payments)
    kleline.erasure = Erasure(
        db, customers, kleline.consents, clock=clock, retention_years=settings.erasure_retention_years
    )
    kleline.customer_export = CustomerExport(db, customers, payments, clock=clock)
    counterparts = Counterparts(ledger, account, kleline.settlement, kleline.collections)
    kleline.reconciliation = Reconciliation(
        db, ledger, account, counterparts, clock=clock, max_bytes=settings.max_statement_bytes
    )
    kleline.suspense = SuspenseQueue(db, ledger, account, counterparts, clock=clock)
    four_eyes = acts(kleline.collections, kleline.suspense, merchants, kleline.bank_account_changes)
    kleline.proposals = Proposals(db, four_eyes, clock=clock)
    kleline.bank_account_changes.when_closed(kleline.proposals.close_bank_account_in)
    return kleline


def rate_limits(settings: Settings) -> dict[str, Rate]:
    """Each rate-limited scope's ``Rate``, from the settings."""
    return {
        SIGN_IN: Rate(settings.sign_in_rate, timedelta(seconds=settings.sign_in_rate_window_seconds)),
        SIGN_UP: Rate(settings.sign_up_rate, timedelta(seconds=settings.sign_up_rate_window_seconds)),
    }


def open_system_accounts(kleline: Kleline, currency: str = PURSE_CURRENCY) -> None:
    """Open Kleline's own accounts (``bootstrap.accounts``) in ``currency``; ``build`` already did so in the purse's
    currency, so this is for another currency's books. Idempotent."""
    ensure_system_accounts(kleline.ledger, kleline.own_account, currency)
