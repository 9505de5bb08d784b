"""The wallet's inbox over HTTP: the unread count in the wallet's navigation, an offer opened (read) and answered
once, in English and French; only the customer's own offers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.privacy import consent_store
from kleline.privacy.audience_model import Audience
from kleline.privacy.offer_model import OfferDraft

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import IBAN, customer
from .page_visitor import Visitor, alert


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def _offer(kleline: Kleline, clock: FakeClock, customer_id: str) -> tuple[str, str]:
    """A bookshop's offer, delivered to the customer (who consents to offers from bookshops); (offer, shop)."""
    registered, _ = kleline.merchants.register(
        name="Librairie Kléber", email="shop@example.fr", iban=IBAN, category="books"
    )
    shop = kleline.merchants.approve(registered.id, actor=OPERATOR).id
    kleline.consents.grant(customer_id, "offers", "category:books", channel="wallet")
    draft = OfferDraft(
        "Dix pour cent sur les romans",
        "Jusqu'à dimanche, sur tout le rayon.",
        "https://librairie.example/romans",
        clock(),
        clock() + timedelta(days=7),
        Audience(),
    )
    return kleline.offers.send(shop, draft).id, shop


def test_an_offer_is_counted_unread_opened_and_answered_once(
    kleline: Kleline, clock: FakeClock, browser: Visitor
) -> None:
    ada = customer(kleline)
    offer_id, shop = _offer(kleline, clock, ada.id)
    page = browser.sign_in_to("/wallet")
    assert 'id="unread-offers">1<' in page.text

    inbox = browser.get("/wallet/inbox")
    assert inbox.status_code == 200 and "Dix pour cent sur les romans" in inbox.text
    assert 'aria-current="page">Offers' in inbox.text and "From Librairie Kléber" in inbox.text

    opened = browser.get(f"/wallet/inbox/{offer_id}")
    assert opened.status_code == 200 and "Jusqu&#39;à dimanche" in opened.text
    assert 'id="unread-offers"' not in opened.text

    missing = browser.post(f"/wallet/inbox/{offer_id}")
    assert missing.status_code == 400 and "Choose an answer" in alert(missing)
    assert 'href="#answer-interested"' in alert(missing)

    answered = browser.post(f"/wallet/inbox/{offer_id}", answer="share_email")
    assert answered.status_code == 303 and answered.headers["location"] == f"/wallet/inbox/{offer_id}"
    shown = browser.get(f"/wallet/inbox/{offer_id}")
    assert (
        "You shared your email address with Librairie Kléber" in shown.text
        and '<form method="post" action="/wallet/inbox' not in shown.text
    )
    with kleline.db.transaction(write=False) as tx:
        assert consent_store.is_live(tx, ada.id, "share_email", f"merchant:{shop}")

    again = browser.post(f"/wallet/inbox/{offer_id}", answer="not_interested")
    assert again.status_code == 409 and "an answer is given once" in alert(again)
    assert kleline.offers.get(shop, offer_id).answered == 1


def test_the_inbox_speaks_french_and_hides_others_offers(kleline: Kleline, clock: FakeClock, browser: Visitor) -> None:
    ada = customer(kleline)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    offer_id, _ = _offer(kleline, clock, ada.id)
    browser.sign_in_to("/wallet", email="grace@example.org")
    assert browser.get(f"/wallet/inbox/{offer_id}").status_code == 404
    empty = browser.get("/wallet/inbox?lang=fr")
    assert "Offres des marchands" in empty.text and "Dix pour cent" not in empty.text
    assert grace.id != ada.id
