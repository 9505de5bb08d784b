"""The dashboard's developers section over HTTP, without JavaScript (both backends): API keys made with a fresh code,
their secret shown once and not on reload, revoked after a confirm step; webhook endpoints added (the API's URL
checks), disabled and enabled, a new signing secret, a test event and its delivery's attempts, sent again; every act
in the audit trail; only owners; another shop's key, endpoint or delivery a 404; a suspended shop's refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx2 as httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.merchant_users import Actor, MerchantUser

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .dashboard_world import DashboardVisitor, authenticator, member, merchant
from .page_visitor import alert

_KEY = re.compile(r'id="new-key-secret"[^>]*value="(sk_[^"]+)"')
_SECRET = re.compile(r'id="new-endpoint-secret"[^>]*value="(whsec_[^"]+)"')
_CLOSED = "http://127.0.0.1:9/kleline/webhooks"  # the discard port: nothing answers there


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(
        database_url=database_url, sign_in_rate=1000, webhooks_allow_loopback=True, webhook_timeout_seconds=1.0
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


def _visitor(kleline: Kleline) -> DashboardVisitor:
    return DashboardVisitor(TestClient(create_app(kleline), follow_redirects=False))


class OwnerVisitor(DashboardVisitor):
    """An owner signed in with a code: its user and authenticator."""

    owner: MerchantUser
    totp: pyotp.TOTP

    def form_key(self, action: str) -> str:
        """The send-once key of the developers page's form posting to ``action``, as a fresh page shows it."""
        page = self.get("/dashboard/developers").text
        found = re.search(rf'action="{re.escape(action)}".*?name="form_key" value="([^"]+)"', page, re.S)
        assert found, page
        return found.group(1)

    def send(self, action: str, **fields: str) -> httpx.Response:
        """Fill and send the developers page's form posting to ``action``, as a person does, once."""
        return self.post(action, form_key=self.form_key(action), **fields)


def _owner(kleline: Kleline, clock: FakeClock, shop: str, email: str = "owner@example.org") -> OwnerVisitor:
    owner = member(kleline, shop, email)
    totp = authenticator(kleline, owner, clock)
    browser = OwnerVisitor(TestClient(create_app(kleline), follow_redirects=False))
    browser.sign_in_dashboard(email, totp, at=clock.now)
    browser.owner, browser.totp = owner, totp
    return browser


def test_an_owner_creates_a_key_sees_it_once_and_revokes_it(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    page = browser.get("/dashboard/developers")
    assert page.status_code == 200 and "API keys" in page.text and 'href="/dashboard/developers"' in page.text
    made = browser.send("/dashboard/developers/keys", label="Production server")
    assert made.status_code == 200, made.text
    found = _KEY.search(made.text)
    assert found, made.text
    secret = found.group(1)
    assert kleline.merchants.authenticate(secret) == shop
    again = browser.get("/dashboard/developers")
    assert secret not in again.text and "Production server" in again.text and f"sk_…{secret[-4:]}" in again.text
    key = next(k for k in kleline.merchants.keys(shop) if k.last4 == secret[-4:])
    asked = browser.get(f"/dashboard/developers/keys/{key.id}/revoke")
    assert asked.status_code == 200 and "Revoke this API key?" in asked.text
    done = browser.post(f"/dashboard/developers/keys/{key.id}/revoke")
    assert (done.status_code, done.headers["location"]) == (303, "/dashboard/developers")
    assert "The API key was revoked" in browser.get("/dashboard/developers").text
    assert next(k for k in kleline.merchants.keys(shop) if k.id == key.id).revoked_at is not None
    trail = browser.get("/dashboard/settings/activity").text
    assert "Created an API key" in trail and "Revoked an API key" in trail
    assert f"sk_…{secret[-4:]} (Production server)" in trail


def test_a_new_key_asks_for_a_code_once_the_last_is_older_than_15_minutes(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    browser.get("/dashboard/developers")
    keys_before = len(kleline.merchants.keys(shop))
    clock.advance(minutes=16)
    asked = browser.send("/dashboard/developers/keys", label="CI")
    assert asked.status_code == 303
    assert asked.headers["location"] == "/dashboard/confirm?next=%2Fdashboard%2Fdevelopers%3Flabel%3DCI"
    assert len(kleline.merchants.keys(shop)) == keys_before
    browser.get(asked.headers["location"])
    confirmed = browser.post(
        "/dashboard/confirm", code=browser.totp.at(clock.now), next="/dashboard/developers?label=CI"
    )
    assert confirmed.headers["location"] == "/dashboard/developers?label=CI"
    assert 'value="CI"' in browser.get(confirmed.headers["location"]).text
    made = browser.send("/dashboard/developers/keys", label="CI")
    assert made.status_code == 200 and _KEY.search(made.text)


def test_webhook_endpoints_added_tried_disabled_enabled_and_given_a_new_secret(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    browser.get("/dashboard/developers")
    wrong = browser.send("/dashboard/developers/webhooks", url="ftp://shop.example/hooks")
    assert wrong.status_code == 400
    assert "whose server is on the public internet" in alert(wrong) and 'value="ftp://shop.example/hooks"' in wrong.text
    added = browser.send("/dashboard/developers/webhooks", url=_CLOSED)
    assert added.status_code == 200, added.text
    found = _SECRET.search(added.text)
    assert found
    endpoint = kleline.webhook_endpoints.list(shop)[0]
    assert kleline.webhook_endpoints.secret(endpoint.id) == found.group(1)
    page = browser.get(f"/dashboard/developers/webhooks/{endpoint.id}")
    assert found.group(1) not in page.text and "Nothing was sent to this endpoint yet" in page.text
    sent = browser.post(f"/dashboard/developers/webhooks/{endpoint.id}/test")
    assert sent.status_code == 303
    kleline.webhooks.deliver_due()
    page = browser.get(f"/dashboard/developers/webhooks/{endpoint.id}")
    assert "A test event is on its way" in page.text
    assert "webhook_endpoint.test" in page.text and "Attempt 1," in page.text and "no answer" in page.text
    delivery = kleline.events.endpoint_deliveries(shop, endpoint.id)[0][0]
    again = browser.post(f"/dashboard/developers/webhooks/{endpoint.id}/deliveries/{delivery.id}/send-again")
    assert again.status_code == 303
    assert kleline.events.endpoint_deliveries(shop, endpoint.id)[0][0].status == "pending"
    rotated = browser.post(f"/dashboard/developers/webhooks/{endpoint.id}/rotate")
    new_secret = _SECRET.search(rotated.text)
    assert rotated.status_code == 200 and new_secret and new_secret.group(1) != found.group(1)
    assert kleline.webhook_endpoints.secret(endpoint.id) == new_secret.group(1)
    assert new_secret.group(1) not in browser.get(f"/dashboard/developers/webhooks/{endpoint.id}").text
    assert browser.post(f"/dashboard/developers/webhooks/{endpoint.id}/disable").status_code == 303
    assert kleline.webhook_endpoints.get(shop, endpoint.id).status == "disabled"
    assert "Enable" in browser.get(f"/dashboard/developers/webhooks/{endpoint.id}").text
    assert browser.post(f"/dashboard/developers/webhooks/{endpoint.id}/enable").status_code == 303
    assert kleline.webhook_endpoints.get(shop, endpoint.id).status == "enabled"
    actions = [r.action for r in kleline.merchant_users.activity(Actor(browser.owner))]
    for action in (
        "webhook_endpoint_added",
        "webhook_test_sent",
        "webhook_delivery_resent",
        "webhook_secret_rotated",
        "webhook_endpoint_disabled",
        "webhook_endpoint_enabled",
    ):
        assert action in actions
    trail = browser.get("/dashboard/settings/activity").text
    assert "Added a webhook endpoint" in trail and "Sent a test event" in trail and _CLOSED in trail


@pytest.mark.parametrize("role", ["accountant", "support"])
def test_only_owners_open_the_developers_section(kleline: Kleline, clock: FakeClock, role: str) -> None:
    shop = merchant(kleline)
    member(kleline, shop, "owner@example.org")
    member(kleline, shop, "staff@example.org", role, refund_limit=5000 if role == "support" else None)
    endpoint, _ = kleline.webhook_endpoints.create(shop, _CLOSED)
    key = kleline.merchants.keys(shop)[0]
    browser = _visitor(kleline)
    home = browser.sign_in_dashboard("staff@example.org")
    assert 'href="/dashboard/developers"' not in home.text
    for path in ("/dashboard/developers", f"/dashboard/developers/webhooks/{endpoint.id}"):
        assert browser.get(path).status_code == 403
    for path in (
        "/dashboard/developers/keys",
        f"/dashboard/developers/keys/{key.id}/revoke",
        "/dashboard/developers/webhooks",
        f"/dashboard/developers/webhooks/{endpoint.id}/disable",
        f"/dashboard/developers/webhooks/{endpoint.id}/test",
    ):
        answer = browser.post(path, label="x", url=_CLOSED)
        assert answer.status_code == 403, path
        assert "Your role in this shop does not allow this" in answer.text
    assert kleline.merchants.keys(shop)[0].revoked_at is None and len(kleline.webhook_endpoints.list(shop)) == 1


def test_another_shops_keys_endpoints_and_deliveries_are_not_found(kleline: Kleline, clock: FakeClock) -> None:
    shop, other = merchant(kleline), merchant(kleline, "Fromagerie Duval")
    their_key = kleline.merchants.keys(other)[0]
    their_endpoint, _ = kleline.webhook_endpoints.create(other, _CLOSED)
    their_event = kleline.events.send_test(other, their_endpoint.id)
    their_delivery = kleline.events.deliveries(other, their_event.id)[0]
    browser = _owner(kleline, clock, shop)
    mine, _ = kleline.webhook_endpoints.create(shop, _CLOSED)
    page = browser.get("/dashboard/developers")
    assert their_key.id not in page.text and their_endpoint.id not in page.text
    for path in (
        f"/dashboard/developers/keys/{their_key.id}/revoke",
        f"/dashboard/developers/webhooks/{their_endpoint.id}",
    ):
        answer = browser.get(path)
        assert answer.status_code == 404, path
        assert "There is no such key, endpoint or delivery in your shop" in answer.text
    for path in (
        f"/dashboard/developers/keys/{their_key.id}/revoke",
        f"/dashboard/developers/webhooks/{their_endpoint.id}/disable",
        f"/dashboard/developers/webhooks/{their_endpoint.id}/rotate",
        f"/dashboard/developers/webhooks/{their_endpoint.id}/test",
        f"/dashboard/developers/webhooks/{mine.id}/deliveries/{their_delivery.id}/send-again",
        "/dashboard/developers/keys/key_unknown/revoke",
    ):
        assert browser.post(path).status_code == 404, path
    assert kleline.merchants.keys(other)[0].revoked_at is None
    assert kleline.webhook_endpoints.get(other, their_endpoint.id).status == "enabled"


def test_a_suspended_shop_is_told_why_it_gets_no_new_key_or_endpoint(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    kleline.merchants.suspend(shop, actor=OPERATOR)
    page = browser.get("/dashboard/developers")
    assert "Your shop is suspended" in page.text
    keys_before = len(kleline.merchants.keys(shop))
    refused = browser.send("/dashboard/developers/keys", label="New")
    assert refused.status_code == 403 and "Your shop is suspended: it can get no new API key" in alert(refused)
    assert 'value="New"' in refused.text
    refused = browser.send("/dashboard/developers/webhooks", url=_CLOSED)
    assert refused.status_code == 403 and "Your shop is suspended" in alert(refused)
    assert len(kleline.merchants.keys(shop)) == keys_before and kleline.webhook_endpoints.list(shop) == []


def test_the_developers_section_speaks_french(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    page = browser.get("/dashboard/developers?lang=fr")
    assert page.status_code == 200 and "Clés d’API" in page.text and "Ajouter le point de réception" in page.text


def test_a_key_or_endpoint_form_sent_twice_makes_one_and_shows_its_secret_once(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    browser = _owner(kleline, clock, shop)
    keys_before = len(kleline.merchants.keys(shop))
    key_form = browser.form_key("/dashboard/developers/keys")
    made = browser.post("/dashboard/developers/keys", form_key=key_form, label="Till")
    found = _KEY.search(made.text)
    assert made.status_code == 200 and found, made.text
    again = browser.post("/dashboard/developers/keys", form_key=key_form, label="Till")  # a reload of the answer
    assert (again.status_code, again.headers["location"]) == (303, "/dashboard/developers")
    told = browser.get("/dashboard/developers").text
    assert "That form was already sent" in told and found.group(1) not in told
    assert len(kleline.merchants.keys(shop)) == keys_before + 1
    endpoint_form = browser.form_key("/dashboard/developers/webhooks")
    assert endpoint_form != browser.form_key("/dashboard/developers/keys")
    added = browser.post("/dashboard/developers/webhooks", form_key=endpoint_form, url=_CLOSED)
    assert added.status_code == 200, added.text
    twice = browser.post("/dashboard/developers/webhooks", form_key=endpoint_form, url=_CLOSED)
    assert twice.status_code == 303 and twice.headers["location"].startswith("/dashboard/developers/webhooks/")
    assert len(kleline.webhook_endpoints.list(shop, limit=100)) == 1
    assert "That form was already sent" in browser.get(twice.headers["location"]).text
