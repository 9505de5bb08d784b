"""Migration 0042 on a database that already holds customers: their email and name are sealed under a key each and
leave the clear columns; sign-in by email and the staff's search still find them; the way back opens them again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kleline.clock import from_epoch_us
from kleline.db.engine import Database
from kleline.db.migrate import upgrade
from kleline.ledger import Ledger
from kleline.wallet import card_store
from kleline.wallet.customers import Customers, hash_password

from ...conftest import BACKENDS, FakeClock, create_database_url, downgrade, drop_database

_ROW = (
    "INSERT INTO customers (id, email, name, password_hash, kyc_level, created_at) "
    "VALUES (:id, :email, :name, :hash, 'unverified', 1767225600000000)"
)
_CARD = (
    "INSERT INTO cards (id, customer_id, brand, first6, last4, exp_month, exp_year, holder_name, fingerprint, key_id, "
    "wrapped_key, nonce, ciphertext, created_at) VALUES ('card_ada', 'cus_ada', 'visa', '424242', '4242', 12, 2030, "
    "'Ada King', 'f', 'k', :b, :b, :b, 1767225600000000)"
)
PASSWORD = "correct horse battery staple"


@pytest.fixture(params=BACKENDS)
def before_0042(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database migrated up to 0041, with two customers in clear."""
    url, name = create_database_url(request.param, tmp_path)
    db = Database(url, pool_size=2)
    try:
        upgrade(db, "0041")
        with db.transaction() as tx:
            for customer_id, email, person in (
                ("cus_ada", "ada@example.org", "Ada Lovelace"),
                ("cus_grace", "grace@example.org", "Grace Hopper"),
            ):
                tx.execute(_ROW, {"id": customer_id, "email": email, "name": person, "hash": hash_password(PASSWORD)})
            tx.execute(_CARD, {"b": b"\x00"})
        yield db
    finally:
        db.dispose()
        drop_database(name)


def test_existing_customers_are_sealed_and_still_found(before_0042: Database, clock: FakeClock) -> None:
    upgrade(before_0042, "0042")
    with before_0042.transaction(write=False) as tx:
        columns = [row[1:] for row in tx.fetchall("SELECT id, email_index, email_sealed, name_sealed FROM customers")]
    assert all(len(index) == 64 and sealed and name for index, sealed, name in columns)
    assert not any(b"Ada" in bytes(name) or b"ada@" in bytes(sealed) for _, sealed, name in columns)
    customers = Customers(before_0042, Ledger(before_0042, clock=clock), clock=clock)
    ada = customers.get("cus_ada")
    assert (ada.email, ada.name, ada.created_at) == ("ada@example.org", "Ada Lovelace", from_epoch_us(1767225600000000))
    assert customers.check_password("Ada@Example.org", PASSWORD) == "cus_ada"
    assert [c.id for c in customers.search("gra")[0]] == ["cus_grace"]
    assert [c.id for c in customers.search("ADA@EX")[0]] == ["cus_ada"]
    with before_0042.transaction(write=False) as tx:
        (card,) = card_store.list_cards(tx, "cus_ada", customers.keys.master_keys, limit=None, after=None)
        assert tx.fetchone("SELECT holder_name FROM cards")[0] == ""
    assert card.holder_name == "Ada King"


def test_the_way_back_opens_them_again(before_0042: Database) -> None:
    upgrade(before_0042, "0042")
    downgrade(before_0042, "0041")
    with before_0042.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT id, email, name FROM customers ORDER BY id")
    assert [tuple(row) for row in rows] == [
        ("cus_ada", "ada@example.org", "Ada Lovelace"),
        ("cus_grace", "grace@example.org", "Grace Hopper"),
    ]
    with before_0042.transaction(write=False) as tx:
        assert tx.fetchone("SELECT holder_name FROM cards")[0] == "Ada King"
