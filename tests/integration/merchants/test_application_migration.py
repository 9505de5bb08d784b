"""Migration 0031 on a database that already holds merchants: they keep their status and get no VAT number, contact
or reason; a merchant may then be refused, never without a reason; and the way back works while none is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.db.migrate import upgrade

from ...conftest import BACKENDS, create_database_url, downgrade, drop_database

_ROW = (
    "INSERT INTO merchants (id, name, email, website, category, siret, iban, bic, fee_bps, status, created_at, "
    "status_changed_at) VALUES (:id, 'Shop', 'shop@example.org', NULL, NULL, NULL, 'FR1420041010050500013M02606', "
    "'PSSTFRPP', 350, :status, 1000, 1000)"
)


@pytest.fixture(params=BACKENDS)
def before_0031(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated up to 0030 (the revision before 0031)."""
    url, name = create_database_url(request.param, tmp_path)
    db = Database(url, pool_size=1)
    try:
        upgrade(db, "0030")
        yield db
    finally:
        db.dispose()
        drop_database(name)


def test_merchants_registered_before_keep_their_status_and_have_no_vat_number_contact_or_reason(
    before_0031: Database,
) -> None:
    with before_0031.transaction() as tx:
        for merchant_id, status in (("mer_a", "active"), ("mer_p", "pending"), ("mer_s", "suspended")):
            tx.execute(_ROW, {"id": merchant_id, "status": status})
    upgrade(before_0031, "0031")
    with before_0031.transaction(write=False) as tx:
        rows = tx.fetchall(
            "SELECT id, status, vat_number, contact_name, contact_phone, status_reason FROM merchants ORDER BY id"
        )
    assert [tuple(row) for row in rows] == [
        ("mer_a", "active", None, None, None, None),
        ("mer_p", "pending", None, None, None, None),
        ("mer_s", "suspended", None, None, None, None),
    ]


def test_after_the_migration_a_merchant_may_be_refused_but_never_without_a_reason(before_0031: Database) -> None:
    upgrade(before_0031, "0031")
    with before_0031.transaction() as tx:
        tx.execute(_ROW, {"id": "mer_r", "status": "pending"})
        tx.execute("UPDATE merchants SET status = 'refused', status_reason = 'No SIRET' WHERE id = 'mer_r'")
    with pytest.raises(INTEGRITY_ERRORS), before_0031.transaction() as tx:
        tx.execute(_ROW, {"id": "mer_x", "status": "pending"})
        tx.execute("UPDATE merchants SET status = 'refused' WHERE id = 'mer_x'")
    with pytest.raises(INTEGRITY_ERRORS), before_0031.transaction() as tx:
        tx.execute(_ROW, {"id": "mer_y", "status": "closed"})
    with before_0031.transaction(write=False) as tx:
        assert [tuple(row) for row in tx.fetchall("SELECT id, status_reason FROM merchants")] == [("mer_r", "No SIRET")]


def test_the_migration_goes_back_while_no_merchant_is_refused(before_0031: Database) -> None:
    upgrade(before_0031, "0031")
    with before_0031.transaction() as tx:
        tx.execute(_ROW, {"id": "mer_p", "status": "pending"})
        tx.execute("UPDATE merchants SET vat_number = 'FR40303265045', contact_phone = '+33123456789'")
    downgrade(before_0031, "0030")
    with before_0031.transaction(write=False) as tx:
        assert [tuple(row) for row in tx.fetchall("SELECT id, status FROM merchants")] == [("mer_p", "pending")]
    with pytest.raises(INTEGRITY_ERRORS), before_0031.transaction() as tx:
        tx.execute(_ROW, {"id": "mer_r", "status": "refused"})
