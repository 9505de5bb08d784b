"""The wallet's pages over HTTP: only their owner sees them, once signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from .checkout_world import card, customer, fund
from .page_visitor import Visitor


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def test_a_signed_out_visitor_is_sent_to_sign_in_and_brought_back(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    response = browser.get("/wallet")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fwallet"

    page = browser.sign_in_to("/wallet")
    assert page.status_code == 200
    assert "Signed in as Ada Lovelace" in page.text


def test_the_wallet_shows_the_purse_and_the_cards_of_its_owner_only(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2950)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    card(kleline, grace.id, "5555555555554444")

    page = browser.sign_in_to("/wallet")
    assert "€29.50" in page.text
    assert "VISA •••• 4242" in page.text
    assert "4444" not in page.text  # Grace's card
    assert 'aria-current="page">Overview' in page.text
