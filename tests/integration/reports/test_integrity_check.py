"""The integrity check verifies the books and the staff audit trail together and keeps its result for the console."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kleline.cli import app
from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.reports.integrity import last_check, run_check
from kleline.staff.actor import StaffActor, command_line
from kleline.staff.audit import record
from kleline.staff.roles import Role

from ...conftest import FakeClock
from ..helpers import open_chart, transfer

FINANCE = StaffActor("staff", "st_finance", Role.FINANCE)


def test_intact_books_and_trail_are_found_intact_and_the_result_is_kept(ledger: Ledger, clock: FakeClock) -> None:
    db = ledger.db
    assert last_check(db) is None
    open_chart(ledger)
    ledger.post(transfer("ent_1", "card:visa:receivable", "customer:cus_1:purse", 500, "top-up"))
    with db.transaction() as tx:
        record(tx, FINANCE, "settlement_run_started", "settlement_run", "sr_1", at=clock())
    check, books, trail = run_check(db, command_line(), clock=clock)
    assert check.ok and books.ok and trail.ok
    assert (check.entries, check.audit_records, check.problem_count) == (books.entries, 1, 0)
    assert check.run_by.startswith("cli ")
    assert last_check(db) == check


def test_an_edited_audit_record_fails_the_check_and_the_latest_result_says_so(db: Database, clock: FakeClock) -> None:
    with db.transaction() as tx:
        record(tx, FINANCE, "write_off_proposed", "receivable", "rcv_1", at=clock(), after={"amount": 1200})
    first, _, _ = run_check(db, FINANCE, clock=clock)
    assert first.ok
    with db.transaction() as tx:
        if db.is_postgres:
            tx.execute("SET LOCAL session_replication_role = replica")
            tx.execute("UPDATE staff_audit SET after = '{\"amount\":12}'")
        else:
            tx.execute("DROP TRIGGER staff_audit_immutable")
            tx.execute("UPDATE staff_audit SET after = '{\"amount\":12}'")
    clock.advance(minutes=1)
    second, _, trail = run_check(db, FINANCE, clock=clock)
    assert not second.ok and second.ledger_ok and not second.audit_ok
    assert second.problems == tuple(f"audit trail: {problem}" for problem in trail.problems)
    assert last_check(db) == second


def test_kleline_ledger_verify_keeps_its_result_as_the_last_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", f"sqlite:///{tmp_path / 'kleline.db'}")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["ledger", "verify"])
    assert result.exit_code == 0, result.output
    db = Database(f"sqlite:///{tmp_path / 'kleline.db'}")
    try:
        check = last_check(db)
    finally:
        db.dispose()
    assert check is not None and check.ok and check.run_by.startswith("cli ")
