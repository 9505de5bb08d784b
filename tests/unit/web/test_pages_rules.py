"""Rules of the pages that need no database: cookies, redirects, the return to the shop, escaping, the wording of a
card's decline."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from jinja2 import UndefinedError
from starlette.requests import Request
from starlette.responses import Response

from kleline.banks.declines import DECLINE_CODES, GENERIC_DECLINE
from kleline.money import Money
from kleline.web.account import HOME, safe_next
from kleline.web.checkout import with_result
from kleline.web.declines import NO_ANSWER, REASONS, decline_reason
from kleline.web.i18n import ENGLISH, FRENCH
from kleline.web.paths import WALLET, after_sign_in
from kleline.web.refusals import PageError, in_form_order
from kleline.web.rendering import environment, render
from kleline.web.sessions import WebSession, cookie_policy


def _request(headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    """A bare GET of a page, as Starlette hands it to a route."""
    return Request({"type": "http", "method": "GET", "path": "/sign-in", "query_string": b"", "headers": headers or []})


def test_over_https_the_cookie_is_host_prefixed_and_secure() -> None:
    policy = cookie_policy("https://pay.kleline.example")
    response = Response()
    policy.set(response, WebSession("tok", None, "csrf", datetime(2026, 1, 1, tzinfo=UTC)), 1800)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-kleline_session=tok;")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie and "Max-Age=1800" in cookie


def test_over_plain_http_the_cookie_has_a_plain_name_and_no_secure_flag() -> None:
    policy = cookie_policy("http://127.0.0.1:8000")
    response = Response()
    policy.set(response, WebSession("tok", None, "csrf", datetime(2026, 1, 1, tzinfo=UTC)), 60)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("kleline_session=tok;")
    assert "Secure" not in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize("target", ["/checkout/pay_1", "/sign-in", "/checkout/pay_1?card=card_2"])
def test_next_may_be_a_path_on_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "evil", "/a\r\nSet-Cookie: x=1", "/\x00"],
)
def test_next_never_leads_to_another_site(target: str | None) -> None:
    assert safe_next(target) == HOME


@pytest.mark.parametrize("target", ["/checkout/pay_1", "/wallet/security", "/checkout/pay_1?card=card_2"])
def test_signing_in_goes_on_to_the_page_that_asked_for_it(target: str) -> None:
    assert after_sign_in(target) == target


@pytest.mark.parametrize(
    "target",
    [None, "", "/sign-in", "/sign-in/", "/sign-in?next=/sign-in", "/sign-up", "https://evil.example/", "//evil/"],
)
def test_signing_in_with_nowhere_else_to_go_leads_to_the_wallet(target: str | None) -> None:
    assert after_sign_in(target) == WALLET


def test_a_summary_lists_the_errors_in_the_forms_order_those_about_no_input_of_it_last() -> None:
    errors = [
        PageError("general", "rate_limited"),
        PageError("expiry", "validation_error", "exp_month"),
        PageError("other", "x", "not_in_the_form"),
        PageError("number", "invalid_card_number", "number"),
        PageError("number again", "card_declined", "number"),
    ]
    ordered = in_form_order(errors, ("number", "exp_month", "cvc"))
    assert [error.message for error in ordered] == ["number", "number again", "expiry", "general", "other"]


def test_the_return_url_keeps_its_query_and_gains_the_payment_and_status() -> None:
    url = with_result("https://shop.example/done?order=42&lang=fr#top", "pay_1", "succeeded")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "shop.example", "/done", "top")
    assert parse_qsl(parts.query) == [("order", "42"), ("lang", "fr"), ("payment_id", "pay_1"), ("status", "succeeded")]


def test_the_return_url_cannot_be_given_a_second_payment_id_or_status() -> None:
    url = with_result("https://shop.example/done?payment_id=forged&status=succeeded", "pay_2", "failed")
    assert parse_qsl(urlsplit(url).query) == [("payment_id", "pay_2"), ("status", "failed")]


def test_templates_escape_what_merchants_and_customers_write() -> None:
    template = environment.from_string("<p>{{ text }}</p>")
    assert template.render(text='<script>alert("x")</script>') == (
        "<p>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</p>"
    )


def test_amounts_are_formatted_for_people() -> None:
    assert environment.from_string("{{ amount | money }}").render(amount=Money(4250, "EUR")) == "€42.50"


def test_pages_forbid_framing_scripts_and_caching() -> None:
    context = {"title": "T", "customer": None, "errors": [], "reason": "r", "back": "/"}
    response = render(_request(), "forbidden.html", context, status=403)
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.status_code == 403


def test_a_template_with_a_missing_variable_fails_loudly() -> None:
    with pytest.raises(UndefinedError, match="undefined"):
        render(_request(), "forbidden.html", {"title": "T"})


def test_every_decline_an_issuer_can_give_has_a_reason_worded_for_the_shopper() -> None:
    every_decline = {*DECLINE_CODES.values(), GENERIC_DECLINE}
    assert set(REASONS) == every_decline - {NO_ANSWER}  # a bank that did not answer did not decline
    for code in REASONS:
        reason = decline_reason(code, ENGLISH)
        assert reason and "issuer" not in reason and "cardholder" not in reason
        assert decline_reason(code, FRENCH) != reason  # translated (the catalog test checks every message too)
    assert decline_reason(NO_ANSWER, ENGLISH) is None and decline_reason(None, ENGLISH) is None
