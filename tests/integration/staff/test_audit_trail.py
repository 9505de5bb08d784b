"""The staff audit trail: recorded with the act, numbered without gaps, append-only in the database, and any edit
made behind the triggers' back found by ``verify``."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kleline.db.engine import Database
from kleline.staff.actor import StaffActor
from kleline.staff.audit import AuditFilters, record, search, verify
from kleline.staff.roles import Role

from ...conftest import FakeClock
from .attacker import edit_as_attacker

FINANCE = StaffActor("staff", "st_finance", Role.FINANCE, "203.0.113.7")
COMPLIANCE = StaffActor("key", "3", Role.COMPLIANCE)


@pytest.fixture
def trail(db: Database, clock: FakeClock) -> Iterator[Database]:
    for i in range(5):
        with db.transaction() as tx:
            actor = FINANCE if i % 2 else COMPLIANCE
            record(
                tx,
                actor,
                "merchant_approved",
                "merchant",
                f"mer_{i}",
                at=clock(),
                before={"status": "pending"},
                after={"status": "active", "fee_bps": 350 + i},
            )
        clock.advance(minutes=1)
    assert verify(db).ok
    yield db


def test_records_are_numbered_in_order_and_read_back_newest_first(trail: Database) -> None:
    page = search(trail, AuditFilters())
    assert [r.seq for r in page.records] == [5, 4, 3, 2, 1]
    newest = page.records[0]
    assert (newest.actor_kind, newest.actor_id, newest.role, newest.address) == ("key", "3", Role.COMPLIANCE, None)
    assert newest.before == {"status": "pending"}
    assert newest.after == {"status": "active", "fee_bps": 354}
    assert verify(trail).records == 5


def test_search_filters_and_pages(trail: Database, clock: FakeClock) -> None:
    mine = search(trail, AuditFilters(actor_kind="staff", actor_id="st_finance"))
    assert [r.subject_id for r in mine.records] == ["mer_3", "mer_1"]
    first = search(trail, AuditFilters(), limit=2)
    assert first.has_more
    second = search(trail, AuditFilters(), limit=2, starting_after=first.records[-1].id)
    assert [r.seq for r in second.records] == [3, 2]
    assert search(trail, AuditFilters(subject_type="merchant", subject_id="mer_0")).records[0].seq == 1
    assert search(trail, AuditFilters(at_from=clock() - timedelta(minutes=2))).records[-1].seq == 4
    assert search(trail, AuditFilters(), starting_after="sae_unknown").records == []


def test_a_record_rolled_back_with_its_act_leaves_no_gap(trail: Database, clock: FakeClock) -> None:
    with pytest.raises(RuntimeError), trail.transaction() as tx:
        record(tx, FINANCE, "settlement_run_started", "settlement_run", None, at=clock())
        raise RuntimeError("the act failed")
    with trail.transaction() as tx:
        record(tx, FINANCE, "settlement_run_started", "settlement_run", "sr_1", at=clock())
    report = verify(trail)
    assert report.ok, report.problems
    assert report.records == 6


@pytest.mark.parametrize("statement", ["UPDATE staff_audit SET action = 'nothing'", "DELETE FROM staff_audit"])
def test_the_database_refuses_to_change_or_delete_a_record(trail: Database, statement: str) -> None:
    with pytest.raises(Exception, match="append-only"), trail.transaction() as tx:
        tx.execute(statement)


def test_the_head_only_moves_forward_one_record_at_a_time(trail: Database) -> None:
    with pytest.raises(Exception, match="only moves forward"), trail.transaction() as tx:
        tx.execute("UPDATE staff_audit_head SET seq = 2")


def test_an_edited_record_is_named(trail: Database) -> None:
    edit_as_attacker(trail, 'UPDATE staff_audit SET after = \'{"status":"active","fee_bps":300}\' WHERE seq = 3')
    report = verify(trail)
    assert not report.ok
    assert len(report.problems) == 1
    assert "record 3" in report.problems[0]


def test_an_edit_with_its_hash_recomputed_still_breaks_the_next_link(trail: Database) -> None:
    edit_as_attacker(trail, "UPDATE staff_audit SET hash = (SELECT hash FROM staff_audit WHERE seq = 1) WHERE seq = 3")
    report = verify(trail)
    assert any("record 3" in p for p in report.problems)
    assert any("record 4" in p for p in report.problems)


def test_a_deleted_record_leaves_a_gap(trail: Database) -> None:
    edit_as_attacker(trail, "DELETE FROM staff_audit WHERE seq = 2")
    assert any("records 2 to 2 are missing" in p for p in verify(trail).problems)


def test_a_cut_tail_no_longer_matches_the_head(trail: Database) -> None:
    edit_as_attacker(trail, "DELETE FROM staff_audit WHERE seq = 5")
    assert any("the head says 5 records, the trail ends at 4" in p for p in verify(trail).problems)
