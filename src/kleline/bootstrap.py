"""The composition root: builds the settings, the database and the services, and hands them down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kleline.clock import Clock, system_clock
from kleline.config import Settings, load_settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, head_revision, upgrade
from kleline.errors import KlelineError
from kleline.ledger import Ledger, NormalSide
from kleline.money import Money
from kleline.wallet.customers import PURSE_CURRENCY, Customers
from kleline.wallet.limits import LimitsPolicy, PurseLimits

__all__ = ["Kleline", "SchemaOutOfDate", "build", "open_system_accounts"]


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

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()


def build(settings: Settings | None = None, *, migrate_if_empty: bool = False, clock: Clock = system_clock) -> Kleline:
    """Wire Kleline together; with ``migrate_if_empty`` an empty database gets the schema (the server does that)."""
    settings = settings or load_settings()
    db = Database(settings.database_url, pool_size=settings.db_pool_size)
    revision = current_revision(db)
    if revision is None and migrate_if_empty:
        upgrade(db)
    elif revision != head_revision():
        db.dispose()
        raise SchemaOutOfDate(
            f"database schema is at {revision or 'nothing'}, this code needs {head_revision()}: run kleline db upgrade"
        )
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
    return Kleline(settings, db, ledger, clock, customers, limits)


SYSTEM_ACCOUNTS = [
    ("kleline:commission", NormalSide.CREDIT, None),
    ("kleline:suspense", NormalSide.CREDIT, None),
]


def open_system_accounts(kleline: Kleline, currency: str = "EUR") -> None:
    """Open Kleline's own accounts (commission, suspense) in ``currency``; idempotent."""
    for code, side, floor in SYSTEM_ACCOUNTS:
        kleline.ledger.open_account(code, currency, side, floor=floor)
