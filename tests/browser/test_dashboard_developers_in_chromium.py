"""The dashboard's developers section in Chromium: an owner creates an API key (a code asked again after 15 minutes),
sees its secret once, revokes it after a confirm step; adds a webhook endpoint (a small server on loopback), sends it
a test event and sees the delivery's answer. Then each state of the section at phone width and wide, in French and
English: nothing overflows sideways, and axe finds no violation."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.api.app import create_app
from kleline.bootstrap import build
from kleline.config import load_settings

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD, authenticator, member, merchant
from ..e2e.live_server import loopback_listener, serving
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_SHOP = "Librairie-Papeterie des Quatre-Saisons et du Marché Saint-Germain-des-Prés"


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def _receiver() -> Iterator[str]:
    """A shop's server on loopback that answers every webhook 200; its address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kleline/webhooks"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live(database_url: str, clock: FakeClock) -> Iterator[LiveKleline]:
    """Kleline served on loopback, whose webhooks may go to loopback (the test's receiver)."""
    listener, url = loopback_listener()
    settings = load_settings(
        database_url=database_url,
        public_url=url,
        sign_in_rate=1000,
        webhooks_allow_loopback=True,
        webhook_timeout_seconds=2.0,
    )
    system = build(settings, clock=clock)
    try:
        with serving(create_app(system), listener):
            yield LiveKleline(system, url)
    finally:
        system.close()


def _sign_in(page: Page, base: str, email: str, code: str, next_path: str = "/dashboard/developers") -> None:
    page.goto(f"{base}/dashboard/sign-in?next={next_path}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/dashboard/sign-in/code"))
    page.locator("#code").fill(code)
    page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
    page.wait_for_url(f"{base}{next_path}")


def test_an_owner_creates_a_key_sees_it_once_revokes_it_and_tries_a_webhook_endpoint(
    live: LiveKleline, page: Page, clock: FakeClock
) -> None:
    kleline = live.kleline
    shop = merchant(kleline)
    owner = member(kleline, shop, "ada@example.org", name="Ada Lovelace")
    totp = authenticator(kleline, owner, clock)
    _sign_in(page, live.url, "ada@example.org", totp.at(clock.now))
    expect(page.get_by_role("heading", name="Developers")).to_be_visible()

    clock.advance(minutes=16)  # the code given at sign-in is now too old for a new key
    page.get_by_label("Label (optional)").fill("Production server")
    page.get_by_role("button", name="Create an API key").click()
    page.wait_for_url(re.compile(r"/dashboard/confirm"))
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/dashboard/developers\?label="))
    expect(page.get_by_label("Label (optional)")).to_have_value("Production server")
    page.get_by_role("button", name="Create an API key").click()
    expect(page.get_by_role("heading", name="Your new API key: copy it now")).to_be_visible()
    secret = page.get_by_label("Secret key “Production server”").input_value()
    assert kleline.merchants.authenticate(secret) == shop
    page.get_by_label("Secret key “Production server”").focus()
    page.keyboard.press("Control+A")  # the field selects whole, for the clipboard
    assert page.evaluate("window.getSelection().toString() || document.activeElement.value") == secret

    page.goto(f"{live.url}/dashboard/developers")  # seen once: never again
    assert secret not in page.content()
    row = page.locator(".items li", has_text="Production server")
    expect(row).to_contain_text(f"sk_…{secret[-4:]}")
    row.get_by_role("link", name=re.compile("Revoke")).click()
    expect(page.get_by_role("heading", name="Revoke this API key?")).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    page.wait_for_url(f"{live.url}/dashboard/developers")
    expect(page.get_by_role("status")).to_contain_text("The API key was revoked")
    expect(page.locator(".items li", has_text="Production server")).to_contain_text("revoked")

    with _receiver() as address:
        page.get_by_label("Endpoint address").fill(address)
        page.get_by_role("button", name="Add the endpoint").click()
        expect(page.get_by_role("heading", name="Endpoint added: copy its signing secret now")).to_be_visible()
        assert page.get_by_role("textbox", name="Signing secret").input_value().startswith("whsec_")
        page.get_by_role("link", name="Open the endpoint and send it a test event").click()
        page.get_by_role("button", name="Send a test event").click()
        expect(page.get_by_role("status")).to_contain_text("A test event is on its way")
        assert kleline.webhooks.deliver_due().delivered == 1
        page.reload()
    deliveries = page.locator(".deliveries")
    expect(deliveries).to_contain_text("webhook_endpoint.test · Delivered")
    expect(deliveries).to_contain_text(re.compile(r"Attempt 1, .*: 200"))
    page.get_by_role("button", name=re.compile("Send again")).click()
    expect(page.get_by_role("status")).to_contain_text("The event will be sent again")


def _states(live: LiveKleline, clock: FakeClock) -> list[State]:
    kleline = live.kleline
    shop = merchant(kleline, LONG_SHOP)
    owner = member(kleline, shop, "adelaide.montmorency-laval@example.org", name="Adélaïde de Montmorency-Laval")
    totp = authenticator(kleline, owner, clock)
    long_url = "http://127.0.0.1:9/" + "kleline-webhooks-de-la-librairie-papeterie-des-quatre-saisons/" * 3
    endpoint, _ = kleline.webhook_endpoints.create(shop, long_url)
    kleline.webhook_endpoints.create(shop, "http://127.0.0.1:9/hooks")
    kleline.events.send_test(shop, endpoint.id)
    kleline.webhooks.deliver_due()  # nobody answers on the discard port: an attempt with its error
    revoked = kleline.merchants.create_key(shop).key
    kleline.merchants.revoke_key(shop, revoked.id)
    live_key = kleline.merchants.keys(shop)[-1]

    def signed_in(path: str, then: str | None = None) -> tuple[str, State]:
        def act(page: Page) -> None:
            page.locator("#email").fill("adelaide.montmorency-laval@example.org")
            page.locator("#password").fill(PASSWORD)
            page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
            page.wait_for_selector("#code")
            clock.advance(seconds=30)
            page.locator("#code").fill(totp.at(clock.now))
            page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
            page.wait_for_selector("h1")
            if then is not None:
                page.locator(then).click()
                page.wait_for_selector("h1")

        name = path.strip("/").replace("/", "-") + (f"-{then.split('/')[-1][:12]}" if then else "")
        return name, (name, f"/dashboard/sign-in?next={path}", act)

    def key_made(page: Page) -> None:
        signed_in("/dashboard/developers")[1][2](page)
        page.locator("#key-label").fill("Serveur de production de la Librairie-Papeterie")
        page.locator("form[action='/dashboard/developers/keys'] button").click()
        page.wait_for_selector("#new-key-secret")

    def url_refused(page: Page) -> None:
        signed_in("/dashboard/developers")[1][2](page)
        page.locator("#endpoint-url").fill("ftp://shop.example/" + "x" * 80)
        page.locator("form[action='/dashboard/developers/webhooks'] button").click()
        page.wait_for_selector(".error-summary")

    def rotated(page: Page) -> None:
        signed_in(f"/dashboard/developers/webhooks/{endpoint.id}")[1][2](page)
        page.locator(f"form[action='/dashboard/developers/webhooks/{endpoint.id}/rotate'] button").click()
        page.wait_for_selector("#new-endpoint-secret")

    return [
        signed_in("/dashboard/developers")[1],
        ("developers-key-made", "/dashboard/sign-in?next=/dashboard/developers", key_made),
        ("developers-url-refused", "/dashboard/sign-in?next=/dashboard/developers", url_refused),
        signed_in(f"/dashboard/developers/keys/{live_key.id}/revoke")[1],
        signed_in(f"/dashboard/developers/webhooks/{endpoint.id}")[1],
        ("developers-rotated", f"/dashboard/sign-in?next=/dashboard/developers/webhooks/{endpoint.id}", rotated),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_developers_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live, clock), lang, WIDTHS) == []
