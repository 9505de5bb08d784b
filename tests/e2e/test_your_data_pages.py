"""The wallet's "Your data" page over HTTP: the download is the export, and closing the wallet is refused without the
password, the tick, or while the purse holds money; the page warns of the money before anyone tries."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from .checkout_world import PASSWORD, card, customer, fund
from .page_visitor import Visitor, alert


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield Visitor(client)


def test_the_download_is_everything_held_and_a_signed_out_visitor_is_sent_to_sign_in(
    kleline: Kleline, browser: Visitor
) -> None:
    ada = customer(kleline)
    assert browser.get("/wallet/data/export.json").status_code == 303
    browser.sign_in_to("/wallet/data")
    download = browser.get("/wallet/data/export.json")
    assert download.status_code == 200
    assert download.headers["content-disposition"] == f'attachment; filename="kleline-{ada.id}.json"'
    assert json.loads(download.text)["customer"]["email"] == "ada@example.org"


def test_closing_the_wallet_is_refused_while_the_purse_holds_money(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 1250)
    page = browser.sign_in_to("/wallet/data")
    assert "Your purse holds €12.50: spend it before closing your wallet." in html.unescape(page.text)
    refused = browser.post("/wallet/data/erase", password="", understood="")
    assert refused.status_code == 400
    assert "Enter your password" in alert(refused) and "Tick the box" in alert(refused)
    refused = browser.post("/wallet/data/erase", password="wrong password!", understood="yes")
    assert "The password is wrong" in alert(refused)
    refused = browser.post("/wallet/data/erase", password=PASSWORD, understood="yes")
    assert "Your purse still holds money" in html.unescape(alert(refused))
    assert kleline.customers.get(ada.id).erased_at is None
    assert browser.get("/wallet").status_code == 200  # still signed in


def test_closing_the_wallet_signs_out_and_says_so(kleline: Kleline, browser: Visitor) -> None:
    ada = customer(kleline)
    browser.sign_in_to("/wallet/data")
    closed = browser.post("/wallet/data/erase", password=PASSWORD, understood="yes")
    assert (closed.status_code, closed.headers["location"]) == (303, "/sign-in")
    assert "Your wallet is closed" in browser.get("/sign-in").text
    assert browser.get("/wallet").status_code == 303
    assert kleline.customers.get(ada.id).erased_at is not None
