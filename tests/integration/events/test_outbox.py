"""The outbox: an event exists exactly when the transaction that recorded it committed, with its deliveries owed."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from kleline.db.engine import Database
from kleline.events.outbox import record, record_steps

from ...conftest import FakeClock
from ..helpers import counted_statements
from .helpers import make_rig


def count(db: Database, table: str) -> int:
    with db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0])


def test_an_event_is_written_in_the_callers_transaction(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1", amount=1250, status="succeeded")
    event = rig.events.get("mer_a", event_id)
    assert event_id.startswith("evt_")
    assert (event.type, event.object_id, event.merchant_id) == ("payment.succeeded", "pay_1", "mer_a")
    assert event.data == {"id": "pay_1", "amount": 1250, "status": "succeeded"}
    assert event.created_at == clock.now
    assert event.payload() == {
        "id": event_id,
        "type": "payment.succeeded",
        "created_at": "2026-01-15T09:30:00.000000Z",
        "data": {"id": "pay_1", "amount": 1250, "status": "succeeded"},
    }


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    with pytest.raises(RuntimeError), db.transaction() as tx:
        record(tx, type="payment.failed", merchant_id="mer_a", object_id="pay_1", data={}, created_at=clock())
        raise RuntimeError("the payment's change failed after the event was written")
    assert count(db, "events") == 0
    assert count(db, "webhook_deliveries") == 0


def test_a_delivery_is_owed_to_each_enabled_endpoint_of_the_merchant_only(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    first, _ = rig.endpoints.create("mer_a", "https://one.example/hook")
    second, _ = rig.endpoints.create("mer_a", "https://two.example/hook")
    deleted, _ = rig.endpoints.create("mer_a", "https://gone.example/hook")
    disabled, _ = rig.endpoints.create("mer_a", "https://410.example/hook")
    rig.endpoints.create("mer_b", "https://other.example/hook")
    rig.endpoints.delete("mer_a", deleted.id)
    rig.transport.answer = lambda call: 410 if call.target.host == "410.example" else 200
    rig.record("mer_a", "pay_0")
    assert rig.deliverer.deliver_due().disabled == 1
    assert rig.endpoints.get("mer_a", disabled.id).status == "disabled"
    event_id = rig.record("mer_a", "pay_1")
    deliveries = rig.events.deliveries("mer_a", event_id)
    assert sorted(d.endpoint_id for d in deliveries) == sorted([first.id, second.id])
    assert {d.status for d in deliveries} == {"pending"}
    assert all(d.next_attempt_at == clock.now for d in deliveries)
    # Drawn by the database, in the form of every other Kleline id: "wd_" and 128 bits (122 on PostgreSQL) in hex.
    assert all(re.fullmatch(r"wd_[0-9a-f]{32}", d.id) for d in deliveries)
    assert len({d.id for d in deliveries}) == 2


def test_an_event_without_endpoints_is_kept_for_the_api(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    event_id = rig.record("mer_a", "pay_1")
    assert rig.events.deliveries("mer_a", event_id) == []
    assert [e.id for e in rig.events.list("mer_a")] == [event_id]


@pytest.mark.parametrize("bad_type", ["Payment.Succeeded", "payment", "payment.", "payment succeeded", ""])
def test_a_malformed_type_is_refused(db: Database, clock: FakeClock, bad_type: str) -> None:
    with pytest.raises(ValueError, match="event type"), db.transaction() as tx:
        record(tx, type=bad_type, merchant_id="mer_a", object_id="pay_1", data={}, created_at=clock())
    assert count(db, "events") == 0


def test_a_naive_time_or_data_that_is_not_json_is_refused(db: Database, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="naive"), db.transaction() as tx:
        record(tx, type="payment.failed", merchant_id="m", object_id="p", data={}, created_at=datetime(2026, 1, 1))
    with pytest.raises(TypeError), db.transaction() as tx:
        record(tx, type="payment.failed", merchant_id="m", object_id="p", data={"x": object()}, created_at=clock())
    with pytest.raises(ValueError), db.transaction() as tx:
        record(tx, type="payment.failed", merchant_id="m", object_id="p", data={"x": float("nan")}, created_at=clock())
    assert count(db, "events") == 0


def test_events_list_newest_first_per_merchant_with_pages_and_a_type_filter(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    ids = []
    for n in range(5):
        ids.append(rig.record("mer_a", f"pay_{n}", "payment.succeeded" if n % 2 == 0 else "payment.failed"))
    rig.record("mer_b", "pay_x")
    newest_first = list(reversed(ids))
    assert [e.id for e in rig.events.list("mer_a")] == newest_first
    assert [e.id for e in rig.events.list("mer_a", limit=2)] == newest_first[:2]
    assert [e.id for e in rig.events.list("mer_a", limit=2, starting_after=newest_first[1])] == newest_first[2:4]
    assert [e.id for e in rig.events.list("mer_a", type="payment.failed")] == [ids[3], ids[1]]


def test_recording_an_event_for_two_endpoints_is_one_statement_on_postgresql(db: Database, clock: FakeClock) -> None:
    # It runs while a payment holds its row and its ledger accounts: every round trip there is time under lock.
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://one.example/hook")
    rig.endpoints.create("mer_a", "https://two.example/hook")
    # A statement whose answer nobody reads may be deferred, to travel with the next one: it counts the same.
    with db.transaction() as tx, counted_statements(tx) as statements:
        event_id = record(
            tx, type="payment.succeeded", merchant_id="mer_a", object_id="pay_1", data={}, created_at=clock()
        )
    assert len(statements) == (1 if db.is_postgres else 2)
    assert len(rig.events.deliveries("mer_a", event_id)) == 2


def test_two_steps_of_one_object_are_recorded_in_order_with_their_deliveries_in_one_or_two_statements(
    db: Database, clock: FakeClock
) -> None:
    # A payment captured as it is authorised announces both steps, while it holds its row lock (and, on SQLite,
    # the database's write lock): one statement on PostgreSQL, two on SQLite, however many steps and endpoints.
    rig = make_rig(db, clock)
    first, _ = rig.endpoints.create("mer_a", "https://one.example/hook")
    second, _ = rig.endpoints.create("mer_a", "https://two.example/hook")
    rig.endpoints.create("mer_b", "https://other.example/hook")
    with db.transaction() as tx, counted_statements(tx) as statements:
        ids = record_steps(
            tx,
            merchant_id="mer_a",
            object_id="pay_1",
            steps=(("payment.authorized", {"n": 1}), ("payment.succeeded", {"n": 2})),
            created_at=clock(),
        )
    assert len(statements) == (1 if db.is_postgres else 2)
    with db.transaction(write=False) as tx:
        events = tx.fetchall("SELECT id, seq, type, data FROM events WHERE object_id = 'pay_1' ORDER BY seq")
        owed = tx.fetchall("SELECT event_id, event_seq, endpoint_id FROM webhook_deliveries")
    assert [(e[0], e[2], e[3]) for e in events] == [
        (ids[0], "payment.authorized", '{"n":1}'),
        (ids[1], "payment.succeeded", '{"n":2}'),
    ]
    seqs = {e[0]: e[1] for e in events}
    assert sorted((event, seq, endpoint) for event, seq, endpoint in owed) == sorted(
        (event, seqs[event], endpoint) for event in ids for endpoint in (first.id, second.id)
    )
