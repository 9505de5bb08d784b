"""The payments indexes the sweeps use hold only the payments the sweeps look for (PostgreSQL: migration 0022), and
the sweeps' queries still find them through those indexes; a purse payment adds no entry to them."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.db.engine import RawTx
from kleline.money import Money
from kleline.payments import store
from kleline.payments.model import PaymentRequest

from .conftest import merchant, shopper


def _plan(tx: RawTx, sql: str, params: dict[str, object]) -> str:
    # A generic plan, as a prepared statement gets, with sequential scans priced out of the way (the table is tiny).
    tx.execute("SET LOCAL enable_seqscan = off")
    tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    return "\n".join(str(row[0]) for row in tx.fetchall("EXPLAIN " + sql, params))


def test_the_sweeps_find_their_payments_through_the_partial_indexes(kleline: Kleline) -> None:
    if not kleline.db.is_postgres:
        pytest.skip("partial payments indexes are PostgreSQL's (migration 0022)")
    with kleline.db.transaction(write=False) as tx:
        expiring = _plan(
            tx,
            "SELECT id FROM payments WHERE status = 'authorized' AND expires_at <= :now ORDER BY expires_at "
            "LIMIT :limit",
            {"now": 1, "limit": 10},
        )
    with kleline.db.transaction(write=False) as tx:
        stalled = _plan(
            tx,
            "SELECT id FROM payments WHERE updated_at < :before AND (status = 'processing' OR "
            "(status = 'authorized' AND capture_method = 'automatic')) ORDER BY updated_at LIMIT :limit",
            {"before": 1, "limit": 10},
        )
    with kleline.db.transaction(write=False) as tx:
        settled = _plan(
            tx,
            "SELECT id FROM payments WHERE authorization_id = :value AND method = 'card'",
            {"value": "rrn"},
        )
    assert "ix_payments_status_expiry" in expiring, expiring
    assert "ix_payments_status_expiry" in stalled, stalled
    assert "ix_payments_authorization" in settled, settled


def test_a_purse_payment_adds_no_entry_to_the_sweeps_indexes(kleline: Kleline) -> None:
    if not kleline.db.is_postgres:
        pytest.skip("partial payments indexes are PostgreSQL's (migration 0022)")
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000)
    payment = kleline.payments.create(shop, PaymentRequest(Money(1250, "EUR")))
    assert kleline.payments.confirm(payment.id, ada.id, "purse").status == "succeeded"
    with kleline.db.transaction(write=False) as tx:
        # A B-tree that never received an entry is its metapage alone; a full index would have a leaf by now.
        for index in ("ix_payments_status_expiry", "ix_payments_authorization"):
            pages = int(tx.fetchone("SELECT pg_relation_size(CAST(:index AS regclass)) / 8192", {"index": index})[0])
            assert pages == 1, f"{index}: {pages} pages"
        assert store.due_authorizations(tx, 2**62, 10) == []
        assert store.stalled_payments(tx, 2**62, 10) == []
