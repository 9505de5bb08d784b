"""A shopper in Chromium: from the home page through the malls to a shop; at the checkout, back to the shop without
paying, or paid and on to the shop through Kleline's confirmation. Then every one of these pages at phone and desktop
widths, in French and English: nothing overflows sideways and axe finds no violation.

Set ``KLELINE_SCREENSHOTS`` to a directory to keep a full-page screenshot of each page there, to look at.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.demo import DemoData, seed
from kleline.demo.data import MALLS
from kleline.demo.data import PASSWORD as DEMO_PASSWORD
from kleline.merchants.model import Mall

from ..conftest import FakeClock
from ..e2e.checkout_world import IBAN, PASSWORD, card, customer, fund, payment
from ..e2e.live_server import loopback_listener, serving
from ..operator_keys import OPERATOR
from .conftest import SHOP_ORIGIN, LiveKleline, Shop
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

RETURN_URL = f"{SHOP_ORIGIN}/orders/42/done"
WIDTHS = (360, 1280)


def open_shop(kleline: Kleline, mall: Mall, name: str, email: str, description: str, siret: str | None) -> str:
    """An approved merchant of ``mall`` whose shop is the test's shop site; its id."""
    merchant, _ = kleline.merchants.register(
        name=name,
        email=email,
        iban=IBAN,
        siret=siret,
        website=f"{SHOP_ORIGIN}/",
        description=description,
        mall_ids=[mall.id],
    )
    return kleline.merchants.approve(merchant.id, actor=OPERATOR).id


def mall_world(kleline: Kleline) -> dict[str, str]:
    """Two malls: Passage Kléber with a bookshop and a record shop, the Halles with a cheese shop."""
    passage = kleline.malls.create("Passage Kléber", "passage-kleber", actor=OPERATOR)
    halles = kleline.malls.create("Les Halles numériques", "les-halles", actor=OPERATOR)
    books = open_shop(
        kleline,
        passage,
        "Librairie Kléber",
        "livres@kleber.example",
        "New and second-hand books, French and foreign literature",
        "73282932000074",
    )
    open_shop(kleline, passage, "Disques Bleus", "disques@bleus.example", "Jazz and blues records", None)
    open_shop(kleline, halles, "Fromagerie Duval", "fromages@duval.example", "Farmhouse cheeses, cut to order", None)
    return {"passage": passage.id, "halles": halles.id, "books": books}


def sign_in(page: Page, email: str = "ada@example.org", password: str = PASSWORD) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("form[action='/sign-in'] button[type=submit]").click()


def test_a_shopper_browses_from_the_home_page_through_a_mall_to_a_shop(
    live: LiveKleline, page: Page, shop_site: Shop
) -> None:
    world = mall_world(live.kleline)
    page.goto(live.url)
    expect(page.get_by_role("heading", level=1)).to_have_text("One wallet for every shop")
    page.get_by_role("navigation", name="Kleline").get_by_role("link", name="Malls").click()
    expect(page).to_have_url(f"{live.url}/malls")
    page.get_by_role("link", name="Passage Kléber").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passage Kléber")
    expect(page.get_by_text("New and second-hand books, French and foreign literature")).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^What Kleline knows of it\s*: Librairie Kléber$")).click()
    expect(page).to_have_url(f"{live.url}/merchants/{world['books']}")
    expect(page.locator("#siret")).to_contain_text("732 829 320 00074")
    expect(page.locator("#since")).to_have_text("15 January 2026")
    page.get_by_role("link", name="Go to the shop").click()
    page.wait_for_url(f"{SHOP_ORIGIN}/")
    assert shop_site.returns == [f"{SHOP_ORIGIN}/"]


def test_a_shopper_cancels_at_the_checkout_and_is_back_at_the_shop_with_the_payment_open(
    live: LiveKleline, page: Page, shop_site: Shop
) -> None:
    kleline = live.kleline
    world = mall_world(kleline)
    customer(kleline)
    paying = payment(kleline, world["books"], 1250, return_url=RETURN_URL)
    page.goto(paying.checkout_url)
    sign_in(page)
    expect(page.get_by_role("button", name="Pay €12.50")).to_be_visible()
    page.get_by_role("link", name="Cancel and return to Librairie Kléber").click()
    page.wait_for_url(re.compile(rf"^{re.escape(RETURN_URL)}\?"))
    query = parse_qs(urlsplit(shop_site.returns[0]).query)
    assert query == {"payment_id": [paying.id], "status": ["requires_confirmation"]}
    assert kleline.payments.get(paying.id).status == "requires_confirmation"


def test_a_shopper_pays_sees_kleline_s_confirmation_then_continues_to_the_shop(
    live: LiveKleline, page: Page, shop_site: Shop
) -> None:
    kleline = live.kleline
    world = mall_world(kleline)
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 3000)
    paying = payment(kleline, world["books"], 1250, return_url=RETURN_URL)
    page.goto(paying.checkout_url)
    sign_in(page)
    page.get_by_role("button", name="Pay €12.50").click()
    expect(page.locator("#confirmation")).to_have_text(
        "✓ You paid €12.50 to Librairie Kléber. Kleline has the payment and has told the shop."
    )
    expect(page.locator("#status")).to_have_text("Paid")
    expect(page.get_by_role("link", name="See your receipt")).to_have_attribute("href", f"/wallet/receipts/{paying.id}")
    assert shop_site.returns == []
    page.get_by_role("link", name="Continue to Librairie Kléber").click()
    page.wait_for_url(re.compile(rf"^{re.escape(RETURN_URL)}\?"))
    assert parse_qs(urlsplit(shop_site.returns[0]).query) == {"payment_id": [paying.id], "status": ["succeeded"]}


def _states(kleline: Kleline, base: str) -> list[tuple[str, str, Callable[[Page], None]]]:
    """(name, address, what to do there) for each page of the malls and of the checkout's new steps."""
    world = mall_world(kleline)
    ada = customer(kleline, name="Adélaïde-Marguerite de Montmorency-Laval")
    fund(kleline, ada.id, card(kleline, ada.id), 1000)
    short = payment(kleline, world["books"], 2480, return_url=RETURN_URL)
    paid = payment(kleline, world["books"], 890, return_url=RETURN_URL)
    kleline.payments.confirm(paid.id, ada.id, "purse", None)

    def nothing(_: Page) -> None:
        return None

    def signed_in(page: Page) -> None:
        sign_in(page)
        page.wait_for_selector("h1")

    def purse_too_short(page: Page) -> None:
        signed_in(page)
        page.locator("#method").check()
        page.locator("form[action$='/confirm'] button[type=submit]").click()
        page.wait_for_selector(".error-summary")

    return [
        ("home", "/", nothing),
        ("home-signed-in", "/sign-in?next=/", signed_in),
        ("malls", "/malls", nothing),
        ("mall", f"/malls/{world['passage']}", nothing),
        ("merchant", f"/merchants/{world['books']}", nothing),
        ("merchant-not-found", "/merchants/mer_unknown", nothing),
        ("checkout-cancel", f"/checkout/{short.id}", nothing),
        ("checkout-short", f"/checkout/{short.id}", purse_too_short),
        ("checkout-confirmation", f"/checkout/{paid.id}", signed_in),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_malls_and_checkout_pages_fit_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str
) -> None:
    problems = layout_problems(chromium, live.url, _states(live.kleline, live.url), lang, WIDTHS)
    assert problems == []


@pytest.fixture
def demo_live(database_url: str, clock: FakeClock) -> Iterator[tuple[LiveKleline, DemoData]]:
    """Kleline served with ``make demo``'s data (its webhooks may go to loopback, as the demo's do)."""
    listener, url = loopback_listener()
    settings = load_settings(
        database_url=database_url, public_url=url, webhooks_allow_loopback=True, sign_in_rate=1000, sign_up_rate=1000
    )
    system = build(settings, clock=clock)
    try:
        data = seed(system, shop_url="http://127.0.0.1:8001")
        with serving(create_app(system), listener):
            yield LiveKleline(system, url), data
    finally:
        system.close()


def test_the_demo_s_malls_shops_and_customers_show_on_the_pages(
    demo_live: tuple[LiveKleline, DemoData], chromium: Browser
) -> None:
    live, data = demo_live
    halles = next(mall for mall in data.malls if mall.slug == "les-halles")
    duval = next(merchant for merchant in data.merchants if merchant.name == "Fromagerie Duval")

    def alice(page: Page) -> None:
        sign_in(page, "alice@example.com", DEMO_PASSWORD)
        page.wait_for_selector(".sign-out")

    states: list[State] = [
        ("demo-home", "/sign-in?next=/", alice),
        ("demo-malls", "/malls", lambda page: None),
        ("demo-mall", f"/malls/{halles.id}", lambda page: None),
        ("demo-merchant", f"/merchants/{duval.id}", lambda page: None),
    ]
    for lang in ("en", "fr"):
        assert layout_problems(chromium, live.url, states, lang, WIDTHS) == []
    context = chromium.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live.url}/malls")
        expect(page.locator(".tile")).to_have_count(len(MALLS))
        page.get_by_role("link", name="Les Halles numériques").click()
        expect(page.get_by_text("Farmhouse cheeses, cut to order")).to_be_visible()
        shop_links = page.get_by_role("link", name=re.compile(r"^Go to the shop"))
        expect(shop_links.first).to_have_attribute("href", "http://127.0.0.1:8001/")
        page.get_by_role("link", name=re.compile(r"^What Kleline knows of it\s*: Fromagerie Duval$")).click()
        expect(page.locator("#siret")).to_contain_text("000 000 034 00017")
    finally:
        context.close()
