"""Issue 13's journey end to end in Chromium (on SQLite, as every browser test): a shop joins Kleline at /join, its
owner sets up an authenticator app, an operator approves the shop (``kleline merchants approve``), the owner invites an
accountant and a support colleague, creates an API key and a webhook endpoint, and the demo shop of ``examples/shop``
sells with that key: a customer pays from the purse at Kleline's checkout. The owner then sees the webhook's delivery,
refunds part of the payment from the dashboard, and, once the month is over, downloads its FEC and invoice. The support
colleague's refund above its limit is refused, the accountant reads but moves no money, and another shop's payment typed
into the address bar is a 404.

Every Kleline page on the way is checked as the shopper journeys are (``Look``: nothing overflows sideways, axe
finds no violation) and kept as a screenshot in ``/tmp/shots/merchant-journey`` (or ``KLELINE_SCREENSHOTS``).
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.cli import app as cli
from kleline.config import load_settings
from kleline.demo import DemoData, seed
from kleline.ledger.audit import trial_balance

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD
from ..e2e.live_server import loopback_listener, serving
from .conftest import BOTH_BACKENDS
from .test_journeys_in_chromium import Look

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "shop"))
demo_shop: Any = importlib.import_module("demo_shop")

pytestmark = pytest.mark.browser

OWNER = "camille@papeterie-moreau.example"
ACCOUNTANT = "louis@papeterie-moreau.example"
SUPPORT = "ines@papeterie-moreau.example"
SHOP_NAME = "Papeterie Moreau SARL"
TEA_TOWEL = 1990  # the demo shop's linen tea towel: below the exemption, paid from the purse without a code


@dataclass
class World:
    """Kleline served at http://localhost:PORT with ``make demo``'s data (its customers, malls and demo shop), the
    port the demo shop will listen on once the new shop has a key to give it, and the database's URL (for the CLI)."""

    kleline: Kleline
    url: str
    database_url: str
    data: DemoData
    shop_listener: Any
    shop_url: str


@pytest.fixture
def world(database_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # The demo shop checks a webhook's signed time against its own clock (5 minutes either way): the journey starts
    # at the real time, and moves the clock forward only after the webhook was delivered.
    clock.now = datetime.now(UTC).replace(microsecond=0)
    listener, url = loopback_listener()
    url = url.replace("127.0.0.1", "localhost")
    settings = load_settings(
        database_url=database_url,
        public_url=url,
        webhooks_allow_loopback=True,  # the demo shop's endpoint is on loopback, as in make demo
        sign_in_rate=1000,
        sign_up_rate=1000,
    )
    system = build(settings, clock=clock)
    shop_listener, shop_url = loopback_listener()
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)  # the operator's CLI works on the same database
    try:
        data = seed(system, shop_url=shop_url)  # the demo shop will sell for the new shop, with the new shop's key
        # So the seeded shop's endpoint (the same address) is set aside, with the deliveries of its past sales.
        for endpoint in system.webhook_endpoints.list(data.shop.merchant_id):
            system.webhook_endpoints.disable(data.shop.merchant_id, endpoint.id, "the demo shop sells for another")
        with serving(create_app(system), listener):
            yield World(system, url, database_url, data, shop_listener, shop_url)
    finally:
        system.close()


def _code(totp: pyotp.TOTP, clock: FakeClock) -> str:
    """The app's code of the next time step (a code is accepted once: each use waits for a fresh one)."""
    clock.advance(seconds=30)
    return str(totp.at(clock.now))


def _person(chromium: Browser, stack: ExitStack) -> Page:
    """A browser of its own (its own cookies), English, wide screen."""
    context: BrowserContext = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    stack.callback(context.close)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def _join(page: Page, world: World, look: Look, clock: FakeClock) -> pyotp.TOTP:
    """The shop's application at /join, then the owner's authenticator app: the app, to compute its codes."""
    mall = world.data.malls[0]
    page.goto(f"{world.url}/")
    page.get_by_role("link", name="Sell with Kleline").click()
    page.wait_for_url(f"{world.url}/join")
    look(page, "join")
    for field, value in (
        ("#name", SHOP_NAME),
        ("#siret", "732 829 320 00074"),
        ("#vat_number", "FR44732829320"),
        ("#iban", "FR14 2004 1010 0505 0001 3M02 606"),
        ("#contact_name", "Camille Moreau"),
        ("#email", OWNER),
        ("#contact_phone", "01 23 45 67 89"),
        ("#website", "https://papeterie-moreau.example"),
        ("#description", "Carnets, stylos-plumes et encres"),
        ("#password", PASSWORD),
    ):
        page.locator(field).fill(value)
    page.locator("#category").select_option("stationery")
    page.locator(f"input[name='mall:{mall.id}']").check()
    page.get_by_role("button", name="Send the application").click()

    page.wait_for_url(re.compile(r"/dashboard/sign-in/authenticator"))
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = page.locator(".secret code")
    expect(secret).to_be_visible()
    look(page, "authenticator")
    totp = pyotp.TOTP(secret.inner_text().replace(" ", ""))
    page.get_by_label("Code from your authenticator app").fill(totp.at(clock.now))
    page.get_by_role("button", name="Confirm the app").click()
    page.wait_for_url(f"{world.url}/dashboard")
    expect(page.locator(".standing")).to_contain_text("FR44732829320")
    look(page, "pending")
    return totp


def _approve(world: World, page: Page, look: Look) -> str:
    """The operator's side (no console yet): the queue and the approval on the command line."""
    queue = CliRunner().invoke(cli, ["merchants", "list", "--status", "pending"])
    assert queue.exit_code == 0, queue.output
    [applied] = world.kleline.merchants.list(status="pending")
    assert applied.name == SHOP_NAME and applied.id in queue.output
    approved = CliRunner().invoke(cli, ["merchants", "approve", applied.id])
    assert approved.exit_code == 0, approved.output
    page.reload()
    expect(page.locator(".standing")).to_have_count(0)
    look(page, "approved")
    return applied.id


def _invite(page: Page, world: World, look: Look, email: str, role: str, limit: str = "") -> str:
    """The owner invites a person from the users page: the link to send them."""
    page.goto(f"{world.url}/dashboard/settings/users")
    page.get_by_label("Their email address").fill(email)
    page.locator("#invite-role").select_option(role)
    if limit:
        page.locator("#invite-refund_limit").fill(limit)
    page.get_by_role("button", name="Make the invitation link").click()
    expect(page.get_by_role("heading", name="Invitation ready: send this link")).to_be_visible()
    look(page, f"invited-{role}")
    return page.locator(".notice .secret code").inner_text()


def _accept(page: Page, link: str, name: str) -> None:
    """A colleague follows the link and chooses a password, which signs them in (no second factor asked of them),
    then signs out until there is something to do."""
    page.goto(link)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join the dashboard").click()
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("status")).to_contain_text("Welcome to the team")
    expect(page.get_by_text(name, exact=False).first).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/dashboard/sign-in$"))


def _sign_in(page: Page, world: World, email: str, next_path: str) -> None:
    page.goto(f"{world.url}/dashboard/sign-in?next={next_path}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    page.wait_for_url(f"{world.url}{next_path}")


def _integrate(page: Page, world: World, look: Look) -> tuple[str, str]:
    """The owner's API key and webhook endpoint for the demo shop: the key's secret and the endpoint's signing
    secret, each read the one time the page shows it."""
    page.goto(f"{world.url}/dashboard/developers")
    page.get_by_label("Label (optional)").fill("Demo shop")
    page.get_by_role("button", name="Create an API key").click()
    expect(page.get_by_role("heading", name="Your new API key: copy it now")).to_be_visible()
    look(page, "key-created")
    key = page.get_by_label("Secret key “Demo shop”").input_value()
    page.goto(f"{world.url}/dashboard/developers")
    page.get_by_label("Endpoint address").fill(f"{world.shop_url}/webhooks/kleline")
    page.get_by_role("button", name="Add the endpoint").click()
    expect(page.get_by_role("heading", name="Endpoint added: copy its signing secret now")).to_be_visible()
    signing = page.get_by_role("textbox", name="Signing secret").input_value()
    look(page, "endpoint-added")
    return key, signing


def _sell(page: Page, world: World, look: Look, orders: Any) -> str:
    """Alice, a demo customer, buys the demo shop's tea towel from her purse at Kleline's checkout: the payment."""
    alice = world.data.customers[0]
    page.goto(world.shop_url)
    page.locator("form:has(input[value=tea-towel]) button[type=submit]").click()
    page.wait_for_url(f"{world.url}/checkout/*")
    expect(page.locator("#merchant")).to_have_text(SHOP_NAME)
    page.get_by_label("Email address").fill(alice.email)
    page.get_by_label("Password").fill(alice.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label(re.compile(r"^Your purse: ")).check()
    page.get_by_role("button", name="Pay €19.90").click()
    expect(page.locator("#confirmation")).to_contain_text("€19.90")
    look(page, "checkout-paid")
    page.locator("#return-link").click()
    page.wait_for_url(f"{world.shop_url}/orders/*")
    (order,) = orders.all()
    return str(order.payment_id)


def _refund_part(page: Page, world: World, look: Look, totp: pyotp.TOTP, clock: FakeClock, payment_id: str) -> None:
    """The owner finds the sale in the payments list and refunds €5.00 of it, giving a fresh code first."""
    page.goto(f"{world.url}/dashboard/payments")
    line = page.locator(".activity-line", has_text="€19.90")
    expect(line).to_have_count(1)
    look(page, "payments")
    line.get_by_role("link").first.click()
    page.wait_for_url(f"{world.url}/dashboard/payments/{payment_id}")
    clock.advance(minutes=16)  # the last code is too old for a refund
    page.get_by_label("Amount to refund, in euros").fill("5.00")
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(re.compile(r"/dashboard/confirm\?"))
    page.get_by_label("Code from your authenticator app").fill(_code(totp, clock))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(rf"/dashboard/payments/{payment_id}\?amount=5.00"))
    page.get_by_role("button", name="Refund the customer").click()
    page.wait_for_url(f"{world.url}/dashboard/payments/{payment_id}")
    expect(page.get_by_role("status")).to_contain_text("The refund is made")
    expect(page.locator(".timeline")).to_contain_text("Refund made")
    expect(page.get_by_label("Amount to refund, in euros")).to_have_value("14.90")
    look(page, "refunded")


@BOTH_BACKENDS
def test_a_shop_joins_is_approved_sells_through_the_demo_shop_refunds_and_downloads_its_books(
    world: World, chromium: Browser, clock: FakeClock, tmp_path: Path
) -> None:
    kleline = world.kleline
    look = Look("merchant", "en", 1280)
    with ExitStack() as stack:
        owner = _person(chromium, stack)
        totp = _join(owner, world, look, clock)
        shop = _approve(world, owner, look)

        accountant_link = _invite(owner, world, look, ACCOUNTANT, "accountant")
        support_link = _invite(owner, world, look, SUPPORT, "support", "3.00")
        support, accountant = _person(chromium, stack), _person(chromium, stack)
        _accept(support, support_link, "Inès Garnier")  # each the day they are invited: a link lasts 72 hours
        _accept(accountant, accountant_link, "Louis Perrin")
        key, signing = _integrate(owner, world, look)  # the code of the app's set-up is recent: no code asked
        assert kleline.merchants.authenticate(key) == shop

        orders = demo_shop.OrderBook()
        config = demo_shop.ShopConfig(world.url, key, signing, world.shop_url)
        stack.enter_context(serving(demo_shop.create_app(config, orders=orders), world.shop_listener))
        shopper = _person(chromium, stack)
        payment_id = _sell(shopper, world, look, orders)
        payment = kleline.payments.get(payment_id)
        assert (payment.merchant_id, payment.status, payment.amount_captured) == (shop, "succeeded", TEA_TOWEL)

        # The sale's webhook reaches the demo shop, and the owner sees its delivery on the endpoint's page.
        # One event of a payment at a time, in order: as many rounds of the worker as the payment has events.
        while (report := kleline.webhooks.deliver_due()).attempted:
            assert report.delivered == report.attempted, report
        assert {order.status for order in orders.all()} == {"paid"}
        owner.goto(f"{world.url}/dashboard/developers")
        owner.locator("a[href^='/dashboard/developers/webhooks/']").first.click()
        expect(owner.locator(".deliveries")).to_contain_text("payment.succeeded · Delivered")
        look(owner, "deliveries")

        _refund_part(owner, world, look, totp, clock, payment_id)
        assert [refund.amount.minor for refund in kleline.refunds.list(payment_id=payment_id)] == [500]

        # The support colleague may refund €3.00 a payment: €4.00 is refused, and nothing moves.
        _sign_in(support, world, SUPPORT, f"/dashboard/payments/{payment_id}")
        support.get_by_label("Amount to refund, in euros").fill("4.00")
        support.get_by_role("button", name="Refund the customer").click()
        expect(support.get_by_role("alert")).to_contain_text("Your refund limit is €3.00 per payment")
        look(support, "support-refused")
        assert len(kleline.refunds.list(payment_id=payment_id)) == 1

        # Another shop's payment, typed into the address bar, does not exist for this shop.
        everyones, _ = kleline.payments.list(limit=100)
        elsewhere = [other for other in everyones if other.merchant_id != shop]
        assert elsewhere, "the demo data has payments of other shops"
        answer = support.goto(f"{world.url}/dashboard/payments/{elsewhere[0].id}")
        assert answer is not None and answer.status == 404
        look(support, "other-shops-payment")

        # The accountant reads the books once January is over: the month's FEC and commission invoice.
        clock.now = (clock.now.replace(day=1) + timedelta(days=32)).replace(day=2)  # the next month's second day
        _sign_in(accountant, world, ACCOUNTANT, "/dashboard/statements")
        if clock.now.year != payment.created_at.year:  # December's sale, read in January: last year's page
            accountant.get_by_role("navigation", name="Years").get_by_role(
                "link", name=str(payment.created_at.year)
            ).click()
        look(accountant, "statements")
        month = f"{payment.created_at:%Y-%m}"
        name_of_month = f"{payment.created_at:%B %Y}"
        for name, fmt in ((f"FEC {name_of_month}", "fec"), (f"Invoice (PDF) {name_of_month}", "pdf")):
            with accountant.expect_download() as started:
                accountant.get_by_role("link", name=name, exact=True).click()
            saved = tmp_path / started.value.suggested_filename
            started.value.save_as(saved)
            assert saved.read_bytes() == kleline.reports.statement_document(shop, month, fmt).content, fmt
        assert saved.read_bytes().startswith(b"%PDF-")
        accountant.goto(f"{world.url}/dashboard/payments/{payment_id}")
        expect(accountant.get_by_label("Amount to refund, in euros")).to_have_count(0)

    assert look.problems == []
    assert trial_balance(kleline.db).balanced
    # The shop keeps the sale less its commission, less the refund, plus the commission Kleline gave back with it.
    [refund] = kleline.refunds.list(payment_id=payment_id)
    net = TEA_TOWEL - payment.fee - refund.amount.minor + refund.fee_returned
    assert kleline.ledger.balance(f"merchant:{shop}:balance").posted == net
