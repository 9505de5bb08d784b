"""Server-side sessions on both backends: tokens stored hashed, expiry, sign-in replaces the session."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.privacy import offer_store
from kleline.wallet.customers import Customers
from kleline.web.sessions import WebSessions

from ...conftest import FakeClock


def sessions(db: Database, clock: FakeClock) -> WebSessions:
    return WebSessions(db, clock=clock, ttl=timedelta(minutes=30))


def test_a_session_is_found_by_its_token_which_is_stored_only_as_a_digest(db: Database, clock: FakeClock) -> None:
    store = sessions(db, clock)
    session = store.start()
    found = store.find(session.token)
    assert found is not None and found.customer_id is None and found.csrf_token == session.csrf_token
    with db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT id_hash FROM web_sessions")
    assert [bytes(row[0]) for row in rows] == [hashlib.sha256(session.token.encode()).digest()]
    assert store.find("not-a-token") is None and store.find("") is None


def test_a_session_expires_after_its_lifetime(db: Database, clock: FakeClock) -> None:
    store = sessions(db, clock)
    session = store.start()
    clock.advance(minutes=29, seconds=59)
    assert store.find(session.token) is not None
    clock.advance(seconds=1)
    assert store.find(session.token) is None


def test_signing_in_replaces_the_session_with_a_new_token_and_form_token(
    db: Database, clock: FakeClock, ledger: Ledger
) -> None:
    customer = Customers(db, ledger, clock=clock).sign_up("ada@example.org", "correct horse battery", "Ada")
    store = sessions(db, clock)
    anonymous = store.start()
    signed_in = store.sign_in(anonymous, customer.id)
    assert signed_in.token != anonymous.token and signed_in.csrf_token != anonymous.csrf_token
    assert store.find(anonymous.token) is None
    found = store.find(signed_in.token)
    assert found is not None and found.customer_id == customer.id
    store.end(signed_in.token)
    assert store.find(signed_in.token) is None


def test_starting_a_session_purges_expired_ones(db: Database, clock: FakeClock) -> None:
    store = sessions(db, clock)
    for _ in range(3):
        store.start()
    clock.advance(hours=1)
    store.start()
    with db.transaction(write=False) as tx:
        assert tx.fetchone("SELECT COUNT(*) FROM web_sessions")[0] == 1


def test_a_session_reads_its_customer_and_a_value_beside_in_one_statement(
    db: Database, clock: FakeClock, ledger: Ledger
) -> None:
    customers = Customers(db, ledger, clock=clock)
    ada = customers.sign_up("ada@example.org", "correct horse battery", "Ada")
    store = sessions(db, clock)
    anonymous = store.start()
    signed_in = store.sign_in(store.start(), ada.id)
    beside = offer_store.unread_count_of("s.customer_id", clock())
    found = store.find_with_customer(signed_in.token, customers, beside=beside)
    assert found is not None and found.session == store.find(signed_in.token)
    assert (found.customer, found.beside) == (customers.get(ada.id), 0)
    plain = store.find_with_customer(signed_in.token, customers)
    assert plain is not None and (plain.customer, plain.beside) == (customers.get(ada.id), None)
    nobody = store.find_with_customer(anonymous.token, customers, beside=beside)
    assert nobody is not None and nobody.customer is None and nobody.session.customer_id is None
    assert store.find_with_customer("not-a-token", customers) is None
    clock.advance(hours=1)
    assert store.find_with_customer(signed_in.token, customers) is None
