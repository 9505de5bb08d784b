"""An issued invoice is a legal document: the database itself refuses to change or delete it, and its year's
counter only ever moves forward by one, whatever code (or person with a SQL prompt) tries otherwise."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config

from kleline.bootstrap import Kleline
from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.db.migrate import MIGRATIONS, upgrade

from ...conftest import FakeClock
from ..payments.conftest import merchant, shopper
from .conftest import pay


def _issue_two(kleline: Kleline, clock: FakeClock) -> list[str]:
    """Two merchants paid in January, their invoices issued in February: KL-2026-000001 and 000002."""
    ada = shopper(kleline, purse=100_000)
    shops = [merchant(kleline, name=f"Boutique {n}") for n in range(2)]
    for shop in shops:
        pay(kleline, shop, ada.id, 1250)
    clock.now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    for shop in shops:
        kleline.reports.statement_document(shop, "2026-01", "pdf")
        clock.advance(minutes=5)
    return shops


def _invoices(db: Database) -> list[tuple[Any, ...]]:
    with db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT * FROM invoices ORDER BY year, seq")
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def _counters(db: Database) -> list[tuple[int, int, int]]:
    with db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT year, last_number, last_issued_at FROM invoice_counters ORDER BY year")
    return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]


def _refused(db: Database, statement: str, match: str) -> None:
    with pytest.raises(INTEGRITY_ERRORS, match=match), db.transaction() as tx:
        tx.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoices SET commission = 0 WHERE number = 'KL-2026-000001'",
        "UPDATE invoices SET document = document WHERE number = 'KL-2026-000002'",
        "UPDATE invoices SET number = 'KL-2026-000009', seq = 9 WHERE seq = 1",
        "DELETE FROM invoices WHERE number = 'KL-2026-000002'",
        "DELETE FROM invoices",
    ],
)
def test_an_issued_invoice_cannot_be_changed_or_deleted(kleline: Kleline, clock: FakeClock, statement: str) -> None:
    _issue_two(kleline, clock)
    before = _invoices(kleline.db)
    assert [row[0] for row in before] == ["KL-2026-000001", "KL-2026-000002"]
    _refused(kleline.db, statement, "kleline: issued invoices never change")
    assert _invoices(kleline.db) == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE invoice_counters SET last_number = 0",
        "UPDATE invoice_counters SET last_number = last_number - 1",
        "UPDATE invoice_counters SET last_number = last_number",
        "UPDATE invoice_counters SET last_number = last_number + 2",
        "UPDATE invoice_counters SET last_number = last_number + 1, last_issued_at = last_issued_at - 1",
        "UPDATE invoice_counters SET last_number = last_number + 1, year = 2027",
        "DELETE FROM invoice_counters",
    ],
)
def test_the_counter_only_moves_forward_one_number_at_a_time(
    kleline: Kleline, clock: FakeClock, statement: str
) -> None:
    _issue_two(kleline, clock)
    before = _counters(kleline.db)
    assert [(year, last) for year, last, _ in before] == [(2026, 2)]
    _refused(kleline.db, statement, "kleline: invoice numbers only move forward")
    assert _counters(kleline.db) == before


def test_a_step_of_exactly_one_is_what_the_counter_accepts(kleline: Kleline, clock: FakeClock) -> None:
    # The guard is no blanket refusal: the issue path's own update passes it, raw or not.
    _issue_two(kleline, clock)
    ((year, last, at),) = _counters(kleline.db)
    with kleline.db.transaction() as tx:
        tx.execute("UPDATE invoice_counters SET last_number = last_number + 1, last_issued_at = last_issued_at")
    assert _counters(kleline.db) == [(year, last + 1, at)]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_truncate_is_refused_on_postgresql(kleline: Kleline, clock: FakeClock) -> None:
    assert kleline.db.is_postgres
    _issue_two(kleline, clock)
    invoices, counters = _invoices(kleline.db), _counters(kleline.db)
    _refused(kleline.db, "TRUNCATE invoices CASCADE", "kleline: issued invoices never change")
    _refused(kleline.db, "TRUNCATE invoice_counters", "kleline: invoice numbers only move forward")
    assert (_invoices(kleline.db), _counters(kleline.db)) == (invoices, counters)


def test_issuing_goes_on_under_the_guards_into_a_new_year(kleline: Kleline, clock: FakeClock) -> None:
    shops = _issue_two(kleline, clock)
    bea = shopper(kleline, purse=100_000, email="bea@example.org")
    clock.now = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    for shop in shops:
        pay(kleline, shop, bea.id, 900)
    clock.now = datetime(2027, 1, 2, 9, 0, tzinfo=UTC)
    for shop in reversed(shops):
        kleline.reports.statement_document(shop, "2026-12", "pdf")
    numbers = [row[0] for row in _invoices(kleline.db)]
    assert numbers == ["KL-2026-000001", "KL-2026-000002", "KL-2027-000001", "KL-2027-000002"]
    assert [(year, last) for year, last, _ in _counters(kleline.db)] == [(2026, 2), (2027, 2)]


def _guards(db: Database) -> set[str]:
    """The names of the invoice guards the database holds (triggers, and PostgreSQL's trigger functions)."""
    with db.transaction(write=False) as tx:
        if db.is_postgres:
            rows = tx.fetchall(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname LIKE 'invoice%' "
                "UNION SELECT proname FROM pg_proc WHERE proname LIKE 'kleline_invoice%'"
            )
        else:
            rows = tx.fetchall("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'invoice%'")
    return {str(r[0]) for r in rows}


def test_the_guards_go_away_with_a_downgrade_and_come_back_with_the_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        installed = _guards(db)
        assert {"invoices_immutable", "invoice_counters_forward"} <= installed
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0015")
        assert _guards(db) == set()
        upgrade(db)
        assert _guards(db) == installed
    finally:
        db.dispose()
