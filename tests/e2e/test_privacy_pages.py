"""The wallet's privacy page over HTTP, without JavaScript: every consent with its text, one post to grant and one
to withdraw, each taking effect at once, the history; and the checkout's "share my email" box, unticked unless the
customer ticks it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.privacy import sharing
from kleline.privacy.consent_texts import TEXTS
from kleline.web.privacy import TEXTS_SHOWN

from .checkout_world import card, customer, fund, payment, shop
from .page_visitor import Visitor

FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9"}


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def _shared(kleline: Kleline, merchant_id: str, customer_id: str) -> str | None:
    with kleline.db.transaction(write=False) as tx:
        return sharing.shared_emails(tx, merchant_id, [customer_id], kleline.customers.keys).get(customer_id)


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_the_pages_show_each_text_word_for_word_under_its_version() -> None:
    for purpose, text in TEXTS.items():
        assert TEXTS_SHOWN[text.version] == text.text.replace("{scope}", "%(scope)s"), purpose


def test_a_customer_grants_then_withdraws_sharing_with_a_merchant_in_one_click_each(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    merchant_id = shop(kleline)
    paying = payment(kleline, merchant_id, 1200, return_url=None)
    assert kleline.payments.confirm(paying.id, ada.id, "purse", None).status == "succeeded"

    assert browser.get("/wallet/privacy").headers["location"] == "/sign-in?next=%2Fwallet%2Fprivacy"
    page = browser.sign_in_to("/wallet/privacy")
    text = _text(page.text)
    assert "Share my email address with Librairie Kléber, so that it can write to me about my purchases." in text
    assert "Send offers from the merchants of each mall below to my wallet's inbox." in text
    assert "Send offers from the merchants of each kind of shop below to my wallet's inbox." in text
    assert "Galerie Kléber" in text and "Books" in text
    assert "You have not answered anything yet." in text
    assert 'href="/wallet/privacy" aria-current="page"' in page.text

    granted = browser.post("/wallet/privacy/grant", purpose="share_email", scope=f"merchant:{merchant_id}")
    assert granted.status_code == 303
    assert granted.headers["location"] == f"/wallet/privacy#consent-share_email-merchant-{merchant_id}"
    assert _shared(kleline, merchant_id, ada.id) == "ada@example.org"
    page = browser.get("/wallet/privacy")
    assert "Your consent is recorded." in _text(page.text)
    assert "You agreed on" in _text(page.text)

    withdrawn = browser.post("/wallet/privacy/withdraw", purpose="share_email", scope=f"merchant:{merchant_id}")
    assert withdrawn.status_code == 303
    assert _shared(kleline, merchant_id, ada.id) is None  # at once
    page = _text(browser.get("/wallet/privacy").text)
    assert "Your consent is withdrawn" in page
    history = page[page.index("Your answers so far") :]
    assert history.count("My email shared with Librairie Kléber") == 2
    assert history.index("Withdrew") < history.index("Agreed")  # newest first
    assert [(e.action, e.channel, e.text_version) for e in kleline.consents.history(ada.id)] == [
        ("grant", "wallet", "share-email-v1/en"),
        ("withdraw", "wallet", "share-email-v1/en"),
    ]


def test_offers_and_statistics_are_granted_in_french_under_the_french_text(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    browser.client.headers.update(FRENCH)
    page = _text(browser.sign_in_to("/wallet/privacy").text)
    assert "Vie privée" in page and "Compter mes achats" in page
    assert browser.post("/wallet/privacy/grant", purpose="offers", scope="category:books").status_code == 303
    assert browser.post("/wallet/privacy/grant", purpose="audience_statistics").status_code == 303
    assert sorted((s.purpose, s.scope, s.text_version) for s in kleline.consents.states(ada.id)) == [
        ("audience_statistics", "", "audience-statistics-v1/fr"),
        ("offers", "category:books", "offers-v1/fr"),
    ]


def test_a_forged_choice_or_a_post_without_its_token_changes_nothing(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    browser.sign_in_to("/wallet/privacy")
    refused = browser.post("/wallet/privacy/grant", purpose="share_email", scope="merchant:mer_nobody")
    assert refused.status_code == 400
    assert "This choice is not offered" in _text(refused.text)
    assert browser.post("/wallet/privacy/grant", csrf="forged", purpose="audience_statistics").status_code == 403
    assert kleline.consents.history(ada.id) == []


def test_the_checkout_box_is_unticked_and_grants_only_when_ticked(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    merchant_id = shop(kleline)
    first = payment(kleline, merchant_id, 1000, return_url=None)
    browser.sign_in(first.id)
    page = browser.get(f"/checkout/{first.id}").text
    box = re.search(r'<input type="checkbox" id="share_email"[^>]*>', page)
    assert box and "checked" not in box.group(0), page
    assert "Share my email address with Librairie Kléber" in _text(page)
    assert browser.post(f"/checkout/{first.id}/confirm", method="purse").status_code == 303
    assert kleline.payments.get(first.id).status == "succeeded"
    assert kleline.consents.history(ada.id) == [] and _shared(kleline, merchant_id, ada.id) is None

    second = payment(kleline, merchant_id, 1000, return_url=None)
    browser.get(f"/checkout/{second.id}")
    assert browser.post(f"/checkout/{second.id}/confirm", method="purse", share_email="yes").status_code == 303
    assert _shared(kleline, merchant_id, ada.id) == "ada@example.org"
    [event] = kleline.consents.history(ada.id)
    assert (event.purpose, event.scope, event.channel) == ("share_email", f"merchant:{merchant_id}", "checkout")


def test_a_ticked_box_stays_ticked_when_the_page_comes_back_with_an_error(kleline: Kleline, browser: Visitor) -> None:
    customer(kleline)
    paying = payment(kleline, shop(kleline), 1000, return_url=None)
    browser.sign_in(paying.id)
    again = browser.post(f"/checkout/{paying.id}/confirm", method="purse", share_email="yes")  # an empty purse
    assert again.status_code == 402
    box = re.search(r'<input type="checkbox" id="share_email"[^>]*>', again.text)
    assert box and "checked" in box.group(0)
