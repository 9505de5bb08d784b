"""Deliveries: signed, retried with backoff, in order per object, given up after the horizon, at least once."""

from __future__ import annotations

import threading
from datetime import timedelta

from kleline.clock import epoch_us
from kleline.db.engine import Database
from kleline.events import store
from kleline.events.signature import verify

from ...conftest import FakeClock
from .helpers import PUBLIC, Call, make_rig


def test_a_delivery_is_the_event_json_signed_with_the_endpoints_secret(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    endpoint, secret = rig.endpoints.create("mer_a", "https://shop.example/kleline?x=1")
    event_id = rig.record("mer_a", "pay_1", amount=1250)
    report = rig.deliverer.deliver_due()
    assert (report.attempted, report.delivered) == (1, 1)
    (call,) = rig.transport.calls
    assert call.event == rig.events.get("mer_a", event_id).payload()
    assert (call.target.host, call.target.path, str(call.target.address)) == ("shop.example", "/kleline?x=1", PUBLIC)
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["Kleline-Event-Id"] == event_id
    assert verify(secret, call.headers["Kleline-Signature"], call.body, now=clock.now.timestamp()) == int(
        clock.now.timestamp()
    )
    (delivery,) = rig.events.deliveries("mer_a", event_id)
    assert (delivery.status, delivery.endpoint_id, delivery.finished_at) == ("delivered", endpoint.id, clock.now)
    assert [(a.number, a.status_code, a.error) for a in delivery.attempts] == [(1, 200, None)]
    assert rig.deliverer.deliver_due().attempted == 0  # delivered once, not again


def test_a_failure_is_retried_after_a_jittered_backoff(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    answers = iter([500, "connection refused", 503, 200])
    rig.transport.answer = lambda call: next(answers)
    event_id = rig.record("mer_a", "pay_1")
    ceilings = [30, 60, 120]
    for ceiling in ceilings:
        report = rig.deliverer.deliver_due()
        assert (report.attempted, report.retrying) == (1, 1)
        assert rig.deliverer.deliver_due().attempted == 0  # not before its time
        (delivery,) = rig.events.deliveries("mer_a", event_id)
        assert delivery.status == "pending" and delivery.next_attempt_at is not None
        assert clock.now <= delivery.next_attempt_at <= clock.now + timedelta(seconds=ceiling)
        clock.now = delivery.next_attempt_at
    assert rig.deliverer.deliver_due().delivered == 1
    (delivery,) = rig.events.deliveries("mer_a", event_id)
    assert [(a.status_code, a.error) for a in delivery.attempts] == [
        (500, None),
        (None, "connection refused"),
        (503, None),
        (200, None),
    ]
    assert delivery.status == "delivered" and delivery.next_attempt_at is None


def test_events_of_one_object_are_delivered_in_order_while_others_go_on(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    first = rig.record("mer_a", "pay_1", "payment.authorized")
    second = rig.record("mer_a", "pay_1", "payment.succeeded")
    third = rig.record("mer_a", "pay_1", "refund.succeeded")
    other = rig.record("mer_a", "pay_2", "payment.succeeded")
    failures = {first: 3, second: 2}

    def answer(call: Call) -> int:
        event_id = call.event["id"]
        if failures.get(event_id, 0) > 0:
            failures[event_id] -= 1
            return 500
        return 200

    rig.transport.answer = answer
    for _ in range(30):
        rig.deliverer.deliver_due()
        clock.advance(minutes=5)
    sent = rig.transport.sent()
    assert sent.count(first) == 4 and sent.count(second) == 3 and sent.count(third) == 1 and sent.count(other) == 1
    assert sent.index(other) <= 1  # pay_2 went out with pay_1's first try, not held up by its failures
    pay_1 = [e for e in sent if e != other]
    assert pay_1 == [first] * 4 + [second] * 3 + [third]  # never N+1 before N was delivered


def test_a_delivery_is_given_up_after_three_days_and_unblocks_the_next_event(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    start = clock.now
    first = rig.record("mer_a", "pay_1", "payment.authorized")
    rig.transport.answer = lambda call: 500 if call.event["id"] == first else 200
    second = rig.record("mer_a", "pay_1", "payment.canceled")
    attempts_at = []
    while True:
        report = rig.deliverer.deliver_due()
        if report.attempted:
            attempts_at.append(clock.now)
        if report.failed:
            break
        assert clock.now < start + timedelta(days=4), "never given up"
        clock.advance(minutes=10)
    assert attempts_at[-1] >= start + timedelta(days=3)  # retried up to the horizon
    assert attempts_at[-2] < start + timedelta(days=3)
    assert len(attempts_at) > 40  # an hour apart at most once the backoff is capped
    (gave_up,) = rig.events.deliveries("mer_a", first)
    assert gave_up.status == "failed" and gave_up.next_attempt_at is None and len(gave_up.attempts) == len(attempts_at)
    assert rig.transport.sent().count(second) == 0  # held back behind the first until now
    assert rig.deliverer.deliver_due().delivered == 1  # the next batch, at the same moment, sends it
    assert rig.transport.sent().count(second) == 1
    (delivered,) = rig.events.deliveries("mer_a", second)
    assert delivered.status == "delivered"


def test_an_endpoint_answering_410_is_disabled_and_gets_nothing_more(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    gone, _ = rig.endpoints.create("mer_a", "https://gone.example/hook")
    kept, _ = rig.endpoints.create("mer_a", "https://kept.example/hook")
    rig.transport.answer = lambda call: 410 if call.target.host == "gone.example" else 200
    first = rig.record("mer_a", "pay_1")
    queued = rig.record("mer_a", "pay_1", "refund.succeeded")
    report = rig.deliverer.deliver_due() + rig.deliverer.deliver_due()  # two batches: the refund waits its turn
    assert report.disabled == 1 and report.delivered == 2  # kept got both events
    assert rig.endpoints.get("mer_a", gone.id).status == "disabled"
    assert rig.endpoints.get("mer_a", gone.id).disabled_reason == "answered 410 Gone"
    statuses = {d.endpoint_id: d.status for d in rig.events.deliveries("mer_a", first)}
    assert statuses == {gone.id: "canceled", kept.id: "delivered"}
    assert {d.endpoint_id: d.status for d in rig.events.deliveries("mer_a", queued)}[gone.id] == "canceled"
    later = rig.record("mer_a", "pay_2")
    assert [d.endpoint_id for d in rig.events.deliveries("mer_a", later)] == [kept.id]
    clock.advance(days=1)
    rig.deliverer.deliver_due()
    assert [c.target.host for c in rig.transport.calls].count("gone.example") == 1


def test_the_address_is_checked_again_at_delivery_time(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1")
    rig.resolver.address = "127.0.0.1"  # the name now points inside (DNS rebinding)
    report = rig.deliverer.deliver_due()
    assert (report.attempted, report.retrying) == (1, 1)
    assert rig.transport.calls == []  # nothing was sent
    (delivery,) = rig.events.deliveries("mer_a", event_id)
    (attempt,) = delivery.attempts
    assert attempt.status_code is None and attempt.error is not None and "loopback" in attempt.error
    rig.resolver.address = PUBLIC
    clock.advance(minutes=1)
    assert rig.deliverer.deliver_due().delivered == 1


def test_redeliver_sends_again_after_success_and_brings_a_pending_one_forward(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1")
    rig.deliverer.deliver_due()
    clock.advance(seconds=1)
    deliveries = rig.events.redeliver("mer_a", event_id)
    assert [d.status for d in deliveries] == ["delivered", "pending"]
    assert rig.deliverer.deliver_due().delivered == 1
    assert rig.transport.sent() == [event_id, event_id]
    rig.transport.answer = lambda call: 500
    clock.advance(seconds=1)
    rig.events.redeliver("mer_a", event_id)
    rig.deliverer.deliver_due()  # fails, retry scheduled up to 30 s later
    clock.advance(seconds=1)
    deliveries = rig.events.redeliver("mer_a", event_id)
    assert [d.status for d in deliveries] == ["delivered", "delivered", "pending"]  # brought forward, not doubled
    assert deliveries[-1].next_attempt_at == clock.now
    assert rig.deliverer.deliver_due().attempted == 1


def test_redeliver_after_give_up_gets_a_fresh_horizon(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    rig.transport.answer = lambda call: 500
    event_id = rig.record("mer_a", "pay_1")
    rig.deliverer.deliver_due()
    clock.advance(days=3, minutes=1)
    assert rig.deliverer.deliver_due().failed == 1
    rig.events.redeliver("mer_a", event_id)
    report = rig.deliverer.deliver_due()
    assert (report.attempted, report.retrying) == (1, 1)  # retried, not given up at once


def test_a_deleted_endpoint_gets_nothing_more(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    endpoint, _ = rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1")
    rig.endpoints.delete("mer_a", endpoint.id)
    assert rig.deliverer.deliver_due().attempted == 0
    assert [d.status for d in rig.events.deliveries("mer_a", event_id)] == ["canceled"]
    assert rig.events.redeliver("mer_a", event_id)[0].status == "canceled"  # no enabled endpoint: nothing new


def test_a_crashed_workers_claim_runs_out_and_the_delivery_is_sent_later(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1")
    now = epoch_us(clock.now)
    with db.transaction() as tx:  # a worker claims, then dies before sending
        (claimed,) = store.claim_due(tx, now, now + 60_000_000, 10)
    assert rig.deliverer.deliver_due().attempted == 0  # still held
    clock.advance(seconds=61)
    assert rig.deliverer.deliver_due().delivered == 1
    assert rig.transport.sent() == [event_id]


def test_two_workers_at_once_send_each_delivery_once(db: Database, clock: FakeClock) -> None:
    first, second = make_rig(db, clock), make_rig(db, clock)
    first.endpoints.create("mer_a", "https://shop.example/hook")
    ids = {first.record("mer_a", f"pay_{n}") for n in range(40)}
    release = threading.Event()

    def slow(call: Call) -> int:
        release.wait(5)
        return 200

    first.transport.answer = slow
    second_deliverer = type(first.deliverer)(
        db, second.endpoints, clock=clock, transport=first.transport, batch_size=25, concurrency=8
    )
    first.deliverer.batch_size = 25
    threads = [
        threading.Thread(target=first.deliverer.deliver_due),
        threading.Thread(target=second_deliverer.deliver_due),
    ]
    for thread in threads:
        thread.start()
    threading.Timer(0.5, release.set).start()
    for thread in threads:
        thread.join(20)
    sent = first.transport.sent()
    assert sorted(sent) == sorted(set(sent))  # nothing sent twice
    assert len(sent) == 40 and set(sent) == ids


def test_concurrent_redeliveries_owe_the_event_once(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    rig.endpoints.create("mer_a", "https://shop.example/hook")
    event_id = rig.record("mer_a", "pay_1")
    rig.deliverer.deliver_due()
    clock.advance(seconds=1)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def redeliver() -> None:
        start.wait()
        try:
            rig.events.redeliver("mer_a", event_id)
        except BaseException as error:  # noqa: BLE001 - collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=redeliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert [d.status for d in rig.events.deliveries("mer_a", event_id)] == ["delivered", "pending"]
