"""Kleline's staff find customers by the beginning of their id, email or name, the same on both backends: names in
either case (A to Z), no wildcard in a query, a page at a time."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database
from kleline.errors import ValidationError
from kleline.ledger import Ledger
from kleline.wallet.customers import Customers

from ...conftest import FakeClock

PASSWORD = "correct horse battery staple"


@pytest.fixture
def customers(db: Database, ledger: Ledger, clock: FakeClock) -> Customers:
    found = Customers(db, ledger, clock=clock)
    for email, name in (
        ("ada@example.org", "Ada Lovelace"),
        ("adam.smith@example.org", "adam Smith"),
        ("emile@example.fr", "Émile Zola"),
        ("percent@example.org", "a_b 100%"),
        ("zoe@adams.example", "Zoé"),
    ):
        found.sign_up(email, PASSWORD, name)
    return found


def _names(customers: Customers, query: str, limit: int = 20) -> list[str]:
    return [customer.name for customer in customers.search(query, limit=limit)[0]]


def test_a_name_is_found_by_its_beginning_in_either_case(customers: Customers) -> None:
    assert _names(customers, "ad") == ["Ada Lovelace", "adam Smith"]
    assert _names(customers, "ADA") == ["Ada Lovelace", "adam Smith"]
    assert _names(customers, "  Ada L ") == ["Ada Lovelace"]
    assert _names(customers, "Lovelace") == []  # the beginning of the name, not any word of it
    # Letters beyond A to Z are compared as they are, on both backends alike.
    assert _names(customers, "Émile") == ["Émile Zola"] and _names(customers, "émile") == []


def test_an_email_or_an_id_is_found_by_its_beginning(customers: Customers) -> None:
    assert _names(customers, "ADAM.SMITH@") == ["adam Smith"]
    assert _names(customers, "zoe@") == ["Zoé"]
    assert _names(customers, "zo") == ["Zoé"]  # by the name's beginning, or the email's
    (emile,) = customers.search("emile@")[0]
    assert emile.id in [c.id for c in customers.search(emile.id[:12])[0]]
    assert [c.id for c in customers.search(emile.id)[0]] == [emile.id]


def test_a_query_has_no_wildcard(customers: Customers) -> None:
    assert _names(customers, "a_") == ["a_b 100%"]
    assert _names(customers, "a%") == []
    assert _names(customers, "%") == []


def test_a_page_says_whether_more_follow(customers: Customers) -> None:
    found, more = customers.search("a", limit=2)
    assert [c.name for c in found] == ["a_b 100%", "Ada Lovelace"] and more
    assert customers.search("ad", limit=2)[1] is False


@pytest.mark.parametrize("query", ["", "   ", "x" * 101])
def test_an_empty_or_long_query_is_refused(customers: Customers, query: str) -> None:
    with pytest.raises(ValidationError):
        customers.search(query)
