"""Migration 0027 on a database that already holds merchants: the active and suspended ones get the time of their
last status change as their approval date, a pending one none, and no one a description."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kleline.db.engine import Database
from kleline.db.migrate import upgrade

from ...conftest import BACKENDS, create_database_url, drop_database

_ROW = (
    "INSERT INTO merchants (id, name, email, website, category, siret, iban, bic, fee_bps, status, created_at, "
    "status_changed_at) VALUES (:id, 'Shop', 'shop@example.org', NULL, NULL, NULL, 'FR1420041010050500013M02606', "
    "'PSSTFRPP', 350, :status, 1000, :changed)"
)


@pytest.fixture(params=BACKENDS)
def before_0027(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated up to 0021 (the revision before 0027)."""
    url, name = create_database_url(request.param, tmp_path)
    db = Database(url, pool_size=1)
    try:
        upgrade(db, "0021")
        yield db
    finally:
        db.dispose()
        drop_database(name)


def test_merchants_approved_before_the_migration_are_known_since_their_last_status_change(
    before_0027: Database,
) -> None:
    with before_0027.transaction() as tx:
        for merchant_id, status, changed in (("mer_a", "active", 2000), ("mer_s", "suspended", 3000)):
            tx.execute(_ROW, {"id": merchant_id, "status": status, "changed": changed})
        tx.execute(_ROW, {"id": "mer_p", "status": "pending", "changed": 1000})
    upgrade(before_0027, "0027")
    with before_0027.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT id, approved_at, description FROM merchants ORDER BY id")
    assert [tuple(row) for row in rows] == [("mer_a", 2000, None), ("mer_p", None, None), ("mer_s", 3000, None)]
