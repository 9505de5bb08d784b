"""The hosted checkout pages over HTTP, without a browser: every page, every refusal, cookies and sessions."""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from kleline import web as pages
from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.wallet.customers import purse_code
from kleline.wallet.model import Customer

from ..conftest import FakeClock
from .checkout_world import (
    ISSUER_INSUFFICIENT_FUNDS,
    PASSWORD,
    card,
    customer,
    enrol,
    fund,
    payment,
    shop,
)
from .page_visitor import Visitor, alert


@pytest.fixture
def app_client(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline), follow_redirects=False) as test_client:
        yield test_client


@contextmanager
def visitor(kleline: Kleline) -> Iterator[Visitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as test_client:
        yield Visitor(test_client)


@pytest.fixture
def ada_browser(app_client: TestClient) -> Visitor:
    return Visitor(app_client)


@pytest.fixture
def merchant_id(kleline: Kleline) -> str:
    return shop(kleline)


@pytest.fixture
def ada(kleline: Kleline) -> Customer:
    return customer(kleline)


_RETURN_LINK = re.compile(r'<a class="button-link" id="return-link" href="([^"]+)"')


def result_of(browser: Visitor, response: httpx.Response) -> tuple[str, dict[str, list[str]]]:
    """Where the confirmation page that a paying post leads to sends the customer back to the shop, and its query."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/checkout/"), location  # Kleline's own page first, never straight to the shop
    page = browser.get(location)
    found = _RETURN_LINK.search(page.text)
    assert found, page.text
    parts = urlsplit(html.unescape(found.group(1)))
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


# --- the page as anyone sees it --------------------------------------------------------------------------------


def test_the_page_shows_the_merchant_its_mall_the_amount_and_the_description(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 4250, description="<b>Les Misérables</b> & co")
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html and 'href="#main"' in html
    assert '<dd id="merchant">Librairie Kléber</dd>' in html
    assert '<dd id="malls">Galerie Kléber</dd>' in html
    assert '<dd id="amount" class="amount">€42.50</dd>' in html
    assert "&lt;b&gt;Les Misérables&lt;/b&gt; &amp; co" in html and "<b>Les" not in html
    assert 'data-status="requires_confirmation"' in html
    assert 'action="/sign-in"' in html and f"/sign-up?next=/checkout/{paying.id}" in html
    assert "<script" not in html


def test_the_first_visit_opens_a_session_with_an_http_only_lax_cookie(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1000)
    page = ada_browser.get(f"/checkout/{paying.id}")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("kleline_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http (the default public_url): a Secure cookie would never come back
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    again = ada_browser.get(f"/checkout/{paying.id}")
    assert "set-cookie" not in again.headers  # the session is reused, not replaced on every page


def test_over_https_the_session_cookie_is_host_prefixed_and_secure(database_url: str, clock: FakeClock) -> None:
    system = build(load_settings(database_url=database_url, public_url="https://pay.kleline.example"), clock=clock)
    try:
        paying = payment(system, shop(system), 1000)
        customer(system)
        with TestClient(create_app(system), base_url="https://pay.kleline.example", follow_redirects=False) as client:
            browser = Visitor(client)
            cookie = browser.get(f"/checkout/{paying.id}").headers["set-cookie"]
            assert cookie.startswith("__Host-kleline_session=")
            assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Domain" not in cookie
            signed_in = browser.sign_in(paying.id)
            assert signed_in.headers["set-cookie"].startswith("__Host-kleline_session=")
            assert "Secure" in signed_in.headers["set-cookie"]
            assert "Signed in as Ada Lovelace" in browser.get(f"/checkout/{paying.id}").text
    finally:
        system.close()


def test_an_unknown_payment_is_a_page_that_says_so(ada_browser: Visitor) -> None:
    page = ada_browser.get("/checkout/pay_00000000000000000000000000000000")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "No such payment" in page.text
    assert "set-cookie" not in page.headers  # a page without a form opens no session


def test_the_stylesheet_is_served(ada_browser: Visitor) -> None:
    css = ada_browser.get("/static/kleline.css")
    assert css.status_code == 200 and ":focus-visible" in css.text


# --- signing in and opening a wallet -------------------------------------------------------------------------


def test_a_wrong_password_is_shown_in_the_error_summary_and_the_session_is_kept(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1000)
    ada_browser.get(f"/checkout/{paying.id}")
    wrong = ada_browser.post("/sign-in", email=ada.email, password="not the password", next=f"/checkout/{paying.id}")
    assert wrong.status_code == 400
    assert "invalid_credentials" in alert(wrong) and "Wrong email or password" in alert(wrong)
    assert "<title>Error: Sign in to your wallet" in wrong.text
    assert 'value="ada@example.org"' in wrong.text  # the email is kept, the password is not
    assert "not the password" not in wrong.text


def test_signing_in_replaces_the_session_and_returns_to_the_checkout(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1000)
    anonymous = ada_browser.get(f"/checkout/{paying.id}").cookies["kleline_session"]
    signed_in = ada_browser.post("/sign-in", email=ada.email, password=PASSWORD, next=f"/checkout/{paying.id}")
    assert signed_in.status_code == 303 and signed_in.headers["location"] == f"/checkout/{paying.id}"
    assert signed_in.cookies["kleline_session"] != anonymous
    # The page signs in with its session alone: no API bearer token is made for the form.
    with kleline.db.transaction(write=False) as tx:
        made = tx.fetchone("SELECT COUNT(*) FROM customer_tokens")[0]
    assert made == 0
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert "Signed in as Ada Lovelace" in page.text and "How would you like to pay?" in page.text


def test_sign_in_never_sends_the_customer_to_another_site(
    kleline: Kleline, ada_browser: Visitor, ada: Customer
) -> None:
    form = ada_browser.get("/sign-in?next=https://evil.example/")
    assert '<input type="hidden" name="next" value="/wallet">' in form.text and "evil.example" not in form.text
    response = ada_browser.post("/sign-in", email=ada.email, password=PASSWORD, next="//evil.example/")
    assert response.status_code == 303 and response.headers["location"] == "/wallet"
    page = ada_browser.get("/sign-in")
    assert "You are signed in as Ada Lovelace" in page.text and '<a href="/wallet">Continue</a>' in page.text


def test_repeated_failures_lock_sign_in_and_the_page_says_so_as_it_says_a_wrong_password(
    kleline: Kleline, ada_browser: Visitor, ada: Customer, clock: FakeClock
) -> None:
    ada_browser.get("/sign-in")
    for _ in range(10):
        assert ada_browser.post("/sign-in", email=ada.email, password="wrong password!").status_code == 400
    locked = ada_browser.post("/sign-in", email=ada.email, password=PASSWORD)
    assert locked.status_code == 400
    assert "invalid_credentials" in alert(locked) and "too many failed sign-ins: check them, or try again later" in (
        alert(locked)
    )
    clock.advance(minutes=30, seconds=1)
    ada_browser.get("/sign-in")  # the page's session ended meanwhile: a fresh form
    assert ada_browser.post("/sign-in", email=ada.email, password=PASSWORD).status_code == 303


def test_opening_a_wallet_signs_the_customer_in_and_returns_to_the_checkout(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1000)
    anonymous = ada_browser.get(f"/sign-up?next=/checkout/{paying.id}").cookies["kleline_session"]
    opened = ada_browser.post(
        "/sign-up", name="Grace Hopper", email="Grace@Example.org", password=PASSWORD, next=f"/checkout/{paying.id}"
    )
    assert opened.status_code == 303 and opened.headers["location"] == f"/checkout/{paying.id}"
    assert opened.cookies["kleline_session"] != anonymous  # a new session, as at sign-in
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert "Signed in as Grace Hopper" in page.text and "€0.00 available" in page.text
    assert "(not enough for this payment)" in page.text and "Add a card to your wallet" in page.text


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"name": "Ada", "email": "ada@example.org", "password": PASSWORD}, 409, "email_taken", "email"),
        ({"name": "Ada", "email": "new@example.org", "password": "short"}, 400, "validation_error", "password"),
        ({"name": "Ada", "email": "not an email", "password": PASSWORD}, 400, "validation_error", "email"),
        ({"name": " ", "email": "new@example.org", "password": PASSWORD}, 400, "validation_error", "name"),
    ],
)
def test_a_refused_wallet_names_the_field_to_fix(
    ada_browser: Visitor, ada: Customer, fields: dict[str, str], status: int, code: str, field: str
) -> None:
    ada_browser.get("/sign-up")
    refused = ada_browser.post("/sign-up", **fields)
    assert refused.status_code == status
    summary = alert(refused)
    assert code in summary and f'href="#{field}"' in summary
    assert f'id="{field}-error"' in refused.text and 'aria-invalid="true"' in refused.text


def test_signing_out_ends_the_session_for_good(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1000)
    ada_browser.sign_in(paying.id)
    cookie = ada_browser.client.cookies["kleline_session"]
    out = ada_browser.post("/sign-out", next=f"/checkout/{paying.id}")
    assert out.status_code == 303 and out.headers["location"] == f"/checkout/{paying.id}"
    assert 'kleline_session=""' in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]
    ada_browser.client.cookies.set("kleline_session", cookie)  # a copy of the old cookie is worth nothing
    assert "Sign in to pay" in ada_browser.get(f"/checkout/{paying.id}").text


# --- paying --------------------------------------------------------------------------------------------------


def test_paying_with_the_purse_returns_to_the_shop_with_the_payment_and_its_status(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert "Your purse: €30.00 available" in page.text and 'value="purse" checked' in page.text
    done = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    where, query = result_of(ada_browser, done)
    assert where == "https://shop.example/orders/42/done"
    assert query == {"lang": ["fr"], "payment_id": [paying.id], "status": ["succeeded"]}
    paid = kleline.payments.get(paying.id)
    assert (paid.status, paid.customer_id, paid.method, paid.amount_captured) == ("succeeded", ada.id, "purse", 1250)
    assert kleline.ledger.balance(purse_code(ada.id)).posted == 3000 - 1250
    assert kleline.ledger.balance(balance_account(merchant_id)).posted == 1250 - 44  # 3.5 % commission
    assert trial_balance(kleline.db).balanced
    closed = ada_browser.get(f"/checkout/{paying.id}")
    assert 'data-status="succeeded"' in closed.text and 'id="return-link"' in closed.text
    assert f"payment_id={paying.id}&amp;status=succeeded" in closed.text and 'action="/checkout/' not in closed.text
    again = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")  # a second click, a reload
    assert result_of(ada_browser, again)[1]["status"] == ["succeeded"]
    assert kleline.ledger.balance(purse_code(ada.id)).posted == 3000 - 1250


def test_the_card_form_opens_by_itself_only_when_nothing_in_the_wallet_can_pay(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    page = ada_browser.get(f"/checkout/{paying.id}")  # an empty purse and no card: adding a card is the way forward
    assert "<details open>" in page.text and "Add a card to your wallet" in page.text
    card_id = card(kleline, ada.id)
    assert "<details>" in ada_browser.get(f"/checkout/{paying.id}").text  # a card can pay: the form stays folded
    fund(kleline, ada.id, card_id, 1500)
    kleline.cards.remove(ada.id, card_id)
    assert "<details>" in ada_browser.get(f"/checkout/{paying.id}").text  # the purse can pay


def test_a_purse_that_holds_too_little_is_refused_on_the_page_and_the_payment_stays_open(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    card_id = card(kleline, ada.id)
    fund(kleline, ada.id, card_id, 1000)
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert refused.status_code == 402
    assert "insufficient_funds" in alert(refused) and 'href="#method"' in alert(refused)
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    assert kleline.ledger.balance(purse_code(ada.id)).held == 0
    # The card can still pay.
    done = ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id)
    assert result_of(ada_browser, done)[1]["status"] == ["succeeded"]


def test_choosing_nothing_is_refused_and_nothing_moves(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    for choice in ({}, {"method": "wallet"}, {"method": ""}):
        refused = ada_browser.post(f"/checkout/{paying.id}/confirm", **choice)
        assert refused.status_code == 400 and "validation_error" in alert(refused)
    another = customer(kleline, "grace@example.org", "Grace")
    not_hers = card(kleline, another.id)
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm", method=not_hers)
    assert refused.status_code == 404 and "not_found" in alert(refused)
    assert kleline.payments.get(paying.id).status == "requires_confirmation"


def test_a_card_above_the_exemption_passes_the_challenge_then_returns_to_the_shop(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer, clock: FakeClock
) -> None:
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    paying = payment(kleline, merchant_id, 4500, capture_method="manual")
    ada_browser.sign_in(paying.id)
    challenged = ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id)
    assert challenged.status_code == 303 and challenged.headers["location"] == f"/checkout/{paying.id}"
    assert kleline.payments.get(paying.id).status == "requires_action"
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert 'autocomplete="one-time-code"' in page.text and 'action="/checkout/' in page.text

    wrong_code = f"{(int(totp.at(clock.now)) + 1) % 1_000_000:06d}"
    wrong = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=wrong_code)
    assert wrong.status_code == 403
    assert (
        "sca_code_invalid" in alert(wrong) and "(4 attempts left)" in alert(wrong) and 'href="#sca_code"' in wrong.text
    )
    assert kleline.payments.get(paying.id).status == "requires_action"

    malformed = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code="12a456")
    assert malformed.status_code == 400 and "6-digit code" in alert(malformed)

    done = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
    where, query = result_of(ada_browser, done)
    assert query["status"] == ["authorized"] and query["payment_id"] == [paying.id]
    authorized = kleline.payments.get(paying.id)
    assert (authorized.status, authorized.method, authorized.amount_authorized) == ("authorized", "card", 4500)


def test_a_card_whose_issuer_asks_for_authentication_is_challenged_on_the_page_even_under_the_exemption(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer, clock: FakeClock
) -> None:
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id, "4000002500003155")  # its issuer answers 1A until the cardholder is authenticated
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.sign_in(paying.id)
    challenged = ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id)
    assert challenged.status_code == 303
    assert kleline.payments.get(paying.id).status == "requires_action"
    done = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
    assert result_of(ada_browser, done)[1]["status"] == ["succeeded"]
    paid = kleline.payments.get(paying.id)
    assert (paid.status, paid.method, paid.amount_captured) == ("succeeded", "card", 1500)


def test_a_challenge_that_came_too_late_is_renewed_and_the_next_code_passes(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer, clock: FakeClock
) -> None:
    totp = enrol(kleline, ada)
    card_id = card(kleline, ada.id)
    paying = payment(kleline, merchant_id, 4500)
    ada_browser.sign_in(paying.id)
    ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id)
    first = kleline.payments.get(paying.id).challenge_id
    clock.advance(minutes=6)
    late = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
    assert late.status_code == 410 and "sca_challenge_expired" in alert(late)
    renewed = kleline.payments.get(paying.id)
    assert renewed.status == "requires_action" and renewed.challenge_id not in (None, first)
    clock.advance(seconds=30)
    done = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
    assert result_of(ada_browser, done)[1]["status"] == ["succeeded"]


def test_a_challenge_without_an_authenticator_is_explained(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    card_id = card(kleline, ada.id)
    paying = payment(kleline, merchant_id, 4500)
    ada_browser.sign_in(paying.id)
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id)
    assert refused.status_code == 403
    assert "sca_enrolment_required" in alert(refused) and "no authenticator app" in alert(refused)
    fix = f'<a href="/wallet/security?next=%2Fcheckout%2F{paying.id}">Set up an authenticator app</a>'
    assert fix in refused.text  # the page that fixes it, which brings the customer back here
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    enrol(kleline, ada)  # done on that page: the payment now asks for the code
    assert ada_browser.post(f"/checkout/{paying.id}/confirm", method=card_id).status_code == 303
    assert kleline.payments.get(paying.id).status == "requires_action"


def test_a_card_declined_by_its_issuer_returns_to_the_shop_as_failed(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    poor = card(kleline, ada.id, ISSUER_INSUFFICIENT_FUNDS)
    paying = payment(kleline, merchant_id, 2000)
    ada_browser.sign_in(paying.id)
    failed = ada_browser.post(f"/checkout/{paying.id}/confirm", method=poor)
    assert result_of(ada_browser, failed)[1]["status"] == ["failed"]
    assert kleline.payments.get(paying.id).failure_code == "insufficient_funds"
    page = ada_browser.get(f"/checkout/{paying.id}")
    declined = "The card's bank declined this payment: your card's account does not hold enough"
    assert declined in html.unescape(page.text)
    assert "<code>insufficient_funds</code>" in page.text
    french = html.unescape(ada_browser.get(f"/checkout/{paying.id}?lang=fr").text)
    assert (
        "La banque de la carte a refusé ce paiement\u00a0: le compte de votre carte n’est pas assez approvisionné"
        in french
    )


def test_without_a_return_url_the_page_itself_shows_the_outcome(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    paying = payment(kleline, merchant_id, 500, return_url=None)
    ada_browser.sign_in(paying.id)
    done = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert done.status_code == 303 and done.headers["location"] == f"/checkout/{paying.id}"
    page = ada_browser.get(done.headers["location"])
    assert 'data-status="succeeded"' in page.text and "You may close this page" in page.text


def test_a_card_added_on_the_page_is_verified_and_chosen(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.sign_in(paying.id)
    fields = {"number": "5555 5555 5555 4444", "exp_month": "11", "exp_year": "2029", "holder_name": "Ada Lovelace"}
    added = ada_browser.post(f"/checkout/{paying.id}/cards", cvc="321", **fields)
    assert added.status_code == 303
    [registered] = kleline.cards.list(ada.id)
    assert added.headers["location"] == f"/checkout/{paying.id}?card={registered.id}"
    page = ada_browser.get(added.headers["location"])
    assert f'value="{registered.id}" checked' in page.text and "Mastercard card ending 4444" in page.text
    refused = ada_browser.post(f"/checkout/{paying.id}/cards", cvc="321", **{**fields, "number": "4242424242424241"})
    assert refused.status_code == 400 and 'href="#number"' in alert(refused)
    assert "4242424242424241" not in refused.text and "321" not in refused.text  # no secret is echoed
    assert 'value="Ada Lovelace"' in refused.text and 'value="2029"' in refused.text
    for month in ("nov", "²", "1" * 5000):
        not_a_month = ada_browser.post(f"/checkout/{paying.id}/cards", cvc="321", **{**fields, "exp_month": month})
        assert not_a_month.status_code == 400 and 'href="#exp_month"' in alert(not_a_month)
    assert len(kleline.cards.list(ada.id)) == 1


# --- forged, stale and foreign posts ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_a_post_without_the_sessions_token_is_refused_and_changes_nothing(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer, token: str
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    paying = payment(kleline, merchant_id, 500)
    ada_browser.sign_in(paying.id)
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm", csrf=token, method="purse")
    assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    assert "security token is missing or out of date" in refused.text
    assert f'href="/checkout/{paying.id}"' in refused.text
    no_field = ada_browser.client.post(f"/checkout/{paying.id}/confirm", data={"method": "purse"})
    assert no_field.status_code == 403
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    assert kleline.ledger.balance(purse_code(ada.id)).available == 2000


def test_a_post_from_another_site_is_refused_even_with_a_stolen_token(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    paying = payment(kleline, merchant_id, 500)
    ada_browser.sign_in(paying.id)
    forged = ada_browser.client.post(
        f"/checkout/{paying.id}/confirm",
        data={"csrf_token": ada_browser.csrf, "method": "purse"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403 and "from another site" in forged.text
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    same_site = ada_browser.client.post(
        f"/checkout/{paying.id}/confirm",
        data={"csrf_token": ada_browser.csrf, "method": "purse"},
        headers={"Origin": "http://testserver"},
    )
    assert result_of(ada_browser, same_site)[1]["status"] == ["succeeded"]


def test_a_sign_in_form_without_its_token_is_refused(ada_browser: Visitor, ada: Customer) -> None:
    ada_browser.get("/sign-in")
    refused = ada_browser.post("/sign-in", csrf="nope", email=ada.email, password=PASSWORD)
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers  # not signed in
    page = ada_browser.get("/sign-in")
    assert "Sign in to your wallet" in page.text and "You are signed in" not in page.text


def test_every_form_post_of_the_pages_is_refused_without_its_token(
    kleline: Kleline, app_client: TestClient, merchant_id: str, ada: Customer
) -> None:
    # Every POST route of every module of the pages: a new form is listed here, and is refused like the others.
    modules = [importlib.import_module(f"kleline.web.{info.name}") for info in pkgutil.iter_modules(pages.__path__)]
    routers = [module.router for module in modules if isinstance(getattr(module, "router", None), APIRouter)]
    posts = sorted(
        route.path
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    )
    assert posts == [
        "/checkout/{payment_id}/authenticate",
        "/checkout/{payment_id}/cards",
        "/checkout/{payment_id}/confirm",
        "/checkout/{payment_id}/passkey",
        "/receipts/verify",
        "/sign-in",
        "/sign-in/passkey",
        "/sign-in/passkey/finish",
        "/sign-out",
        "/sign-up",
        "/wallet/bank-accounts/new",
        "/wallet/bank-accounts/{bank_account_id}/remove",
        "/wallet/cards/new",
        "/wallet/cards/{card_id}/remove",
        "/wallet/data/erase",
        "/wallet/debt/repay",
        "/wallet/inbox/{offer_id}",
        "/wallet/privacy/grant",
        "/wallet/privacy/withdraw",
        "/wallet/security/authenticator",
        "/wallet/security/authenticator/confirm",
        "/wallet/security/passkeys",
        "/wallet/security/passkeys/{passkey_id}/remove",
        "/wallet/security/password",
        "/wallet/security/sign-out-everywhere",
        "/wallet/top-up",
        "/wallet/top-up/{top_up_id}/authenticate",
        "/wallet/top-up/{top_up_id}/passkey",
    ]
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    paying = payment(kleline, merchant_id, 500)
    browser = Visitor(app_client)
    browser.sign_in(paying.id)
    fields = {"email": ada.email, "password": PASSWORD, "name": "Ada", "method": "purse", "sca_code": "123456"}
    fields |= {"amount": "10", "source": kleline.cards.list(ada.id)[0].id, "form_key": "k", "mandate_accepted": "yes"}
    names = {"payment_id": paying.id, "card_id": fields["source"], "bank_account_id": "ba_x", "top_up_id": "top_x"}
    names |= {"passkey_id": "pk_x", "offer_id": "ofr_x"}
    for path in posts:
        refused = browser.post(path.format(**names), csrf="forged", **fields)
        assert refused.status_code == 403, path
        assert "security token is missing or out of date" in refused.text, path
    assert "Signed in as Ada Lovelace" in browser.get(f"/checkout/{paying.id}").text
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    assert len(kleline.cards.list(ada.id)) == 1


def test_a_form_posted_for_an_unknown_payment_is_a_page_that_says_so(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 500)
    ada_browser.sign_in(paying.id)
    for action in ("confirm", "authenticate", "cards"):
        unknown = ada_browser.post(f"/checkout/pay_00000000000000000000000000000000/{action}", method="purse")
        assert unknown.status_code == 404 and "No such payment" in unknown.text, action
        assert unknown.headers["content-type"].startswith("text/html")


def test_an_expired_session_cannot_pay_and_is_asked_to_sign_in_again(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer, clock: FakeClock
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    paying = payment(kleline, merchant_id, 500)
    ada_browser.sign_in(paying.id)
    clock.advance(minutes=30)
    expired = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert expired.status_code == 403 and "The session has expired" in expired.text
    assert kleline.payments.get(paying.id).status == "requires_confirmation"
    page = ada_browser.get(f"/checkout/{paying.id}")
    assert "Sign in to pay" in page.text and "kleline_session=" in page.headers["set-cookie"]


def test_a_post_from_a_browser_that_never_had_a_session_is_refused(
    kleline: Kleline, app_client: TestClient, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 500)
    refused = app_client.post(f"/checkout/{paying.id}/confirm", data={"csrf_token": "x", "method": "purse"})
    assert refused.status_code == 403 and "The session has expired" in refused.text


def test_an_anonymous_session_is_sent_to_sign_in_before_paying(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 500)
    ada_browser.get(f"/checkout/{paying.id}")
    sent = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert sent.status_code == 303 and sent.headers["location"] == f"/checkout/{paying.id}"
    assert kleline.payments.get(paying.id).status == "requires_confirmation"


def test_another_customer_cannot_act_on_a_payment_someone_else_is_paying_or_has_paid(
    kleline: Kleline, merchant_id: str, ada: Customer, clock: FakeClock
) -> None:
    totp = enrol(kleline, ada)
    ada_card = card(kleline, ada.id)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    grace_card = card(kleline, grace.id, "5555555555554444")
    fund(kleline, grace.id, grace_card, 3000)
    grace_totp = enrol(kleline, grace)
    paying = payment(kleline, merchant_id, 4500)
    with visitor(kleline) as ada_browser, visitor(kleline) as grace_browser:
        ada_browser.sign_in(paying.id)
        grace_browser.sign_in(paying.id, email=grace.email)
        assert ada_browser.post(f"/checkout/{paying.id}/confirm", method=ada_card).status_code == 303
        assert kleline.payments.get(paying.id).customer_id == ada.id

        seen = grace_browser.get(f"/checkout/{paying.id}")
        assert seen.status_code == 403 and "not in your wallet" in seen.text and 'action="/checkout/' not in seen.text
        taken = grace_browser.post(f"/checkout/{paying.id}/confirm", method=grace_card)
        assert taken.status_code == 409 and "payment_unexpected_state" in alert(taken)
        code = grace_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=grace_totp.at(clock.now))
        assert code.status_code == 303 and code.headers["location"] == f"/checkout/{paying.id}"
        still = kleline.payments.get(paying.id)
        assert (still.status, still.customer_id, still.card_id) == ("requires_action", ada.id, ada_card)

        done = ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
        assert result_of(ada_browser, done)[1]["status"] == ["succeeded"]
        after = grace_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
        assert after.status_code == 409 and "payment_unexpected_state" in alert(after)
        assert "data-status" not in after.text and "45.00" not in after.text
        paid = kleline.payments.get(paying.id)
        assert (paid.status, paid.customer_id, paid.amount_captured) == ("succeeded", ada.id, 4500)
        assert kleline.ledger.balance(purse_code(grace.id)).posted == 3000


def _reveals(html: str, ada: Customer, paying_id: str) -> list[str]:
    """What of Ada's payment a page shows: the merchant, the amount, the description, the status, the card, Ada."""
    secrets = ["Librairie Kléber", "Galerie Kléber", "45.00", "45,00", "Les Misérables", "data-status", "4242"]
    secrets += ["shop.example", "order-42", ada.name, ada.email, f'action="/checkout/{paying_id}/']
    return [secret for secret in secrets if secret in html]


@pytest.mark.parametrize("outcome", ["requires_action", "authorized", "succeeded", "failed"])
def test_a_payment_someone_chose_shows_nothing_of_it_to_anyone_else(
    kleline: Kleline, merchant_id: str, ada: Customer, clock: FakeClock, outcome: str
) -> None:
    totp = enrol(kleline, ada)
    number = ISSUER_INSUFFICIENT_FUNDS if outcome == "failed" else "4242424242424242"
    ada_card = kleline.cards.register(ada.id, number, 12, 2030, "123", ada.name).id
    capture = "manual" if outcome == "authorized" else "automatic"
    paying = payment(kleline, merchant_id, 4500, capture_method=capture)
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    with visitor(kleline) as ada_browser, visitor(kleline) as grace_browser, visitor(kleline) as stranger:
        ada_browser.sign_in(paying.id)
        ada_browser.post(f"/checkout/{paying.id}/confirm", method=ada_card)
        if outcome != "requires_action":
            ada_browser.get(f"/checkout/{paying.id}")
            ada_browser.post(f"/checkout/{paying.id}/authenticate", sca_code=totp.at(clock.now))
        assert kleline.payments.get(paying.id).status == outcome
        own = ada_browser.get(f"/checkout/{paying.id}")
        assert own.status_code == 200 and f'data-status="{outcome}"' in own.text and "Librairie Kléber" in own.text

        grace_browser.sign_in(paying.id, email=grace.email)
        seen = grace_browser.get(f"/checkout/{paying.id}")
        assert seen.status_code == 403 and "not in your wallet" in seen.text
        assert _reveals(seen.text, ada, paying.id) == []
        for form in ("confirm", "authenticate", "cards"):
            refused = grace_browser.post(f"/checkout/{paying.id}/{form}", method="purse", sca_code="123456")
            assert _reveals(refused.text, ada, paying.id) == [], form

        anonymous = stranger.get(f"/checkout/{paying.id}")
        assert anonymous.status_code == 200 and 'action="/sign-in"' in anonymous.text
        assert _reveals(anonymous.text, ada, paying.id) == []
        assert kleline.payments.get(paying.id).status == outcome


def _summary_links(response: httpx.Response) -> list[str]:
    return re.findall(r'<a href="#(\w+)">', alert(response))


def test_a_card_form_reports_every_problem_at_once_and_keeps_what_is_not_secret(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.sign_in(paying.id)
    fields = {"number": "4242 4242 4242 4241", "exp_month": "13", "exp_year": "2031", "cvc": "98765"}
    refused = ada_browser.post(f"/checkout/{paying.id}/cards", **fields, holder_name="4242424242424242")
    assert refused.status_code == 400
    assert _summary_links(refused) == ["number", "exp_month", "cvc", "holder_name"]
    for field in ("number", "exp_month", "cvc", "holder_name"):
        assert f'id="{field}-error"' in refused.text
    assert "4242" not in refused.text and "98765" not in refused.text  # neither number nor security code comes back
    assert 'value="13"' in refused.text and 'value="2031"' in refused.text
    typed = ada_browser.post(f"/checkout/{paying.id}/cards", **{**fields, "exp_month": "ab", "exp_year": "20x"})
    assert _summary_links(typed) == ["number", "exp_month", "exp_year", "cvc", "holder_name"]  # the form's order
    assert kleline.cards.list(ada.id) == []


def test_the_wallet_form_reports_every_problem_at_once_and_never_the_password(ada_browser: Visitor) -> None:
    ada_browser.get("/sign-up")
    refused = ada_browser.post("/sign-up", name="  ", email="ada@", password="secret-1")
    assert refused.status_code == 400
    assert _summary_links(refused) == ["name", "email", "password"]  # the form's order
    assert 'value="ada@"' in refused.text and "secret-1" not in refused.text


def test_a_card_added_is_confirmed_once_on_the_next_page(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.sign_in(paying.id)
    fields = {"number": "5555 5555 5555 4444", "exp_month": "11", "exp_year": "2029", "holder_name": "Ada Lovelace"}
    added = ada_browser.post(f"/checkout/{paying.id}/cards", cvc="321", **fields)
    assert added.status_code == 303 and "kleline_flash=" in added.headers["set-cookie"]
    page = ada_browser.get(added.headers["location"])
    confirmation = "Your Mastercard card ending 4444 was added to your wallet"
    assert 'class="flash" role="status"' in page.text and confirmation in page.text
    assert confirmation not in ada_browser.get(added.headers["location"]).text  # shown once


def test_a_planted_confirmation_shows_nothing_of_another_wallet(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    grace = customer(kleline, "grace@example.org", "Grace Hopper")
    graces_card = card(kleline, grace.id)
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.sign_in(paying.id)
    for note in (f"card_added:{graces_card}", "card_added:<b>x</b>", "nonsense"):
        ada_browser.client.cookies.set("kleline_flash", note)
        page = ada_browser.get(f"/checkout/{paying.id}")
        assert 'class="flash"' not in page.text and "4242" not in page.text, note


def test_opening_a_wallet_and_signing_out_are_confirmed(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1500)
    ada_browser.get(f"/sign-up?next=/checkout/{paying.id}")
    opened = ada_browser.post(
        "/sign-up", name="Ada Lovelace", email="ada@example.org", password=PASSWORD, next=f"/checkout/{paying.id}"
    )
    assert opened.status_code == 303
    assert "Your wallet is open. Welcome, Ada Lovelace!" in ada_browser.get(opened.headers["location"]).text
    out = ada_browser.post("/sign-out", next=f"/checkout/{paying.id}")
    assert "You are signed out." in ada_browser.get(out.headers["location"]).text


def test_opening_a_wallet_or_signing_in_from_the_home_page_leads_to_the_wallet(
    kleline: Kleline, ada_browser: Visitor
) -> None:
    home = ada_browser.get("/").text
    assert 'href="/sign-up"' in home and 'href="/sign-in"' in home  # the home page's links name no next page
    ada_browser.get("/sign-up")
    opened = ada_browser.post("/sign-up", name="Ada Lovelace", email="ada@example.org", password=PASSWORD)
    assert (opened.status_code, opened.headers["location"]) == (303, "/wallet")
    wallet = ada_browser.get("/wallet")
    assert wallet.status_code == 200 and "Your wallet is open. Welcome, Ada Lovelace!" in wallet.text
    ada_browser.post("/sign-out", next="/")
    ada_browser.get("/sign-in")
    signed_in = ada_browser.post("/sign-in", email="ada@example.org", password=PASSWORD)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/wallet")
    assert ada_browser.get("/wallet").status_code == 200


# --- the way back to the shop, the confirmation, and the links from each refusal to its fix ---------------------

RETURN = "https://shop.example/orders/42/done"


def link(page_html: str, element_id: str) -> str:
    """The address of the link ``element_id`` on a page (it must be there)."""
    found = re.search(rf'<a [^>]*id="{element_id}" href="([^"]+)"', page_html)
    assert found, page_html
    return html.unescape(found.group(1))


def test_each_open_step_offers_to_cancel_and_go_back_to_the_shop_leaving_the_payment_open(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    signed_out = ada_browser.get(f"/checkout/{paying.id}").text
    back = link(signed_out, "cancel-link")
    assert ">Cancel and return to Librairie Kléber</a>" in signed_out
    parts = urlsplit(back)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == RETURN
    assert parse_qs(parts.query) == {"lang": ["fr"], "payment_id": [paying.id], "status": ["requires_confirmation"]}
    ada_browser.sign_in(paying.id)
    assert link(ada_browser.get(f"/checkout/{paying.id}").text, "cancel-link") == back
    assert kleline.payments.get(paying.id).status == "requires_confirmation"  # the customer may still come back


def test_without_a_return_address_there_is_no_cancel_link(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str
) -> None:
    paying = payment(kleline, merchant_id, 1250, return_url=None)
    assert 'id="cancel-link"' not in ada_browser.get(f"/checkout/{paying.id}").text


def test_paying_shows_kleline_s_confirmation_with_the_receipt_then_the_way_to_the_shop(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    done = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert done.status_code == 303 and done.headers["location"] == f"/checkout/{paying.id}"
    page = ada_browser.get(f"/checkout/{paying.id}").text
    assert "You paid €12.50 to Librairie Kléber. Kleline has the payment and has told the shop." in page
    assert 'data-status="succeeded">Paid</dd>' in page
    assert f'<a href="/merchants/{merchant_id}">Librairie Kléber</a>' in page
    assert link(page, "receipt-link") == f"/wallet/receipts/{paying.id}"
    assert ">Continue to Librairie Kléber</a>" in page
    query = parse_qs(urlsplit(link(page, "return-link")).query)
    assert query == {"lang": ["fr"], "payment_id": [paying.id], "status": ["succeeded"]}
    assert 'id="cancel-link"' not in page and 'action="/checkout/' not in page


def test_an_authorisation_is_confirmed_and_its_receipt_promised_for_the_capture(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 1250, capture_method="manual")
    ada_browser.sign_in(paying.id)
    ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    page = ada_browser.get(f"/checkout/{paying.id}").text
    assert "€12.50 is reserved for Librairie Kléber." in page
    assert 'id="receipt-link"' not in page and "once the shop takes the payment" in page
    kleline.payments.capture(merchant_id, paying.id)
    assert link(ada_browser.get(f"/checkout/{paying.id}").text, "receipt-link") == f"/wallet/receipts/{paying.id}"


def test_without_a_return_address_the_confirmation_offers_the_shop_s_website(
    kleline: Kleline, ada_browser: Visitor, ada: Customer
) -> None:
    merchant_id = shop(kleline)
    kleline.merchants.describe(merchant_id, description="Books", website="https://librairie.example/")
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 500, return_url=None)
    ada_browser.sign_in(paying.id)
    ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    page = ada_browser.get(f"/checkout/{paying.id}").text
    assert link(page, "return-link") == "https://librairie.example/" and ">Go to Librairie Kléber</a>" in page


def test_a_purse_too_short_links_to_the_top_up_page_and_back(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 1000)
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    choose = ada_browser.get(f"/checkout/{paying.id}").text
    top_up = f'<a href="/wallet/top-up?next=%2Fcheckout%2F{paying.id}">Top up your purse</a>'
    assert "(not enough for this payment)" in choose and top_up in choose
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    assert refused.status_code == 402 and "insufficient_funds" in alert(refused)
    assert f'<p class="next-step notice">What to do next: {top_up}</p>' in refused.text
    assert refused.text.count(top_up) == 2  # after the error summary, and beside the purse


def test_a_refusal_with_nothing_to_fix_elsewhere_links_nowhere(
    kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer
) -> None:
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.sign_in(paying.id)
    refused = ada_browser.post(f"/checkout/{paying.id}/confirm")
    assert refused.status_code == 400 and 'class="next-step' not in refused.text


def test_the_confirmation_is_in_french(kleline: Kleline, ada_browser: Visitor, merchant_id: str, ada: Customer) -> None:
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, merchant_id, 1250)
    ada_browser.get("/language?lang=fr&next=/sign-in")
    ada_browser.sign_in(paying.id)
    ada_browser.post(f"/checkout/{paying.id}/confirm", method="purse")
    page = ada_browser.get(f"/checkout/{paying.id}").text
    assert "Vous avez payé 12,50\u00a0€ à Librairie Kléber." in page
    assert ">Voir votre reçu</a>" in page and ">Continuer vers Librairie Kléber</a>" in page
