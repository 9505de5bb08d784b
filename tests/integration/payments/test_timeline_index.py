"""A payment's timeline (``kleline.events.store.object_events``) is read through ``ix_events_merchant_object``
(migration 0034) on both backends, not by walking every event of the merchant, and still comes oldest first."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.db.engine import RawTx
from kleline.events import store
from kleline.money import Money
from kleline.payments.model import PaymentRequest

from .conftest import merchant, shopper


def _plan(tx: RawTx, postgres: bool) -> str:
    sql, params = store.object_events_query("mer_x", ["pay_x", "re_x"], limit=50)
    if postgres:
        # A generic plan, as a prepared statement gets, with sequential scans priced out (the table is tiny).
        tx.execute("SET LOCAL enable_seqscan = off")
        tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        return "\n".join(str(row[0]) for row in tx.fetchall("EXPLAIN " + sql, params))
    return "\n".join(str(row[-1]) for row in tx.fetchall("EXPLAIN QUERY PLAN " + sql, params))


def test_a_payments_timeline_is_read_through_the_merchant_object_index(kleline: Kleline) -> None:
    with kleline.db.transaction() as tx:
        plan = _plan(tx, kleline.db.is_postgres)
    assert "ix_events_merchant_object" in plan, plan
    assert "ix_events_merchant_seq" not in plan, plan


def test_a_timeline_across_a_payment_and_its_refunds_is_oldest_first(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000)
    payment = kleline.payments.create(shop, PaymentRequest(Money(1250, "EUR")))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    refund = kleline.refunds.refund(shop, payment.id, Money(250, "EUR"))
    # The refund's id sorts before or after the payment's by chance: the order must come from seq, not from ids.
    events = kleline.events.of_objects(shop, [refund.id, payment.id])
    assert events, "the payment and its refund have events"
    listed = kleline.events.list(shop, limit=100)[::-1]  # newest first, reversed: the merchant's order of events
    expected = [event.id for event in listed if event.object_id in {payment.id, refund.id}]
    assert [event.id for event in events] == expected
    assert events[-1].object_id == refund.id
