"""Issue 12's journeys end to end in Chromium, across every shopper page and the demo shop of ``examples/shop``:

1. a shopper opens a wallet on the web, sets up an authenticator app from the key shown beside the QR code (its codes
   computed with pyotp for the server's hand-moved clock), adds a card, tops up 50 EUR with a code, buys the demo
   shop's 45 EUR saucepan through the hosted checkout with another code, finds the payment in the activity, opens
   its receipt, downloads it and checks it with ``kleline receipt verify`` and with the /receipts/verify page;
2. the same shopper's journey with a passkey in Chromium's virtual authenticator (CDP ``WebAuthn``): added on the
   security page, then used for the strong authentication of a 50 EUR top-up and of the payment, and to sign in
   without a password.

Journey 1 runs with the mouse (English at 1280 px, French at 360 px) and with the keyboard alone (Tab, Enter, Space
and typing, never a click; French at 1280 px: the phone-width keyboard run flaked on Space opening the file chooser
under load, so the phone width is left to the mouse runs): on every Kleline page visited nothing overflows the
viewport sideways and axe finds no violation. Screenshots of each page go to ``/tmp/shots/journey`` (or
``KLELINE_SCREENSHOTS``).

The direct-debit top-up, the repaid debt (test_wallet_in_chromium.py) and browsing a mall to a shop
(test_malls_in_chromium.py) have journeys of their own.
"""

from __future__ import annotations

import importlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
import segno
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.cli import app as cli
from kleline.config import load_settings
from kleline.demo import DemoData, seed
from kleline.ledger.audit import trial_balance
from kleline.money import Money
from kleline.web.i18n import Language, chosen

from ..conftest import FakeClock
from ..e2e.checkout_world import PASSWORD
from ..e2e.live_server import loopback_listener, serving
from .conftest import BOTH_BACKENDS
from .test_security_in_chromium import authenticator

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "shop"))
demo_shop: Any = importlib.import_module("demo_shop")

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("KLELINE_SCREENSHOTS", "/tmp/shots/journey"))
_AXE = Axe()


@dataclass
class World:
    """Kleline served at http://localhost:PORT (browsers refuse passkeys for an IP address, not for localhost),
    seeded with ``make demo``'s data, and the demo shop serving beside it, talking to Kleline over HTTP."""

    kleline: Kleline
    url: str
    shop_url: str
    data: DemoData
    orders: Any


@pytest.fixture
def world(database_url: str, clock: FakeClock) -> Iterator[World]:
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
    try:
        data = seed(system, shop_url=shop_url)
        orders = demo_shop.OrderBook()
        config = demo_shop.ShopConfig(url, data.shop.secret_key, data.shop.webhook_secret, shop_url)
        with serving(create_app(system), listener), serving(demo_shop.create_app(config, orders=orders), shop_listener):
            yield World(system, url, shop_url, data, orders)
    finally:
        system.close()


class Texts:
    """The pages' words in one language, looked up in the catalogue the pages use."""

    def __init__(self, lang: str) -> None:
        self.language: Language = chosen(lang, None, None)

    def __call__(self, message: str, **values: str) -> str:
        text = self.language.gettext(message)
        return text % values if values else text

    def money(self, minor: int) -> str:
        return self.language.money(Money(minor, "EUR"))


@dataclass
class Look:
    """Each Kleline page a journey visits: nothing wider than the viewport, axe clean, a screenshot kept."""

    journey: str
    lang: str
    width: int
    problems: list[str] = field(default_factory=list)
    count: int = 0

    def __call__(self, page: Page, name: str, *, ours: bool = True) -> None:
        page.wait_for_load_state()
        self.count += 1
        where = f"{self.journey} {self.lang} {self.width}px {self.count:02d}-{name}"
        if ours:
            assert page.locator("html").get_attribute("lang") == self.lang, (where, page.url)
            scroll, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > inner:
                self.problems.append(f"{where}: scrollWidth {scroll} > innerWidth {inner}")
            violations = _AXE.run(page).response["violations"]
            self.problems += [f"{where}: axe {v['id']}: {v['help']}" for v in violations]
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{self.journey}-{self.lang}-{self.width}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)


class Mouse:
    """A shopper who clicks and types into fields."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def fill(self, field: Locator, text: str) -> None:
        field.fill(text)

    def press(self, control: Locator) -> None:
        control.click()

    def choose(self, radio: Locator) -> None:
        radio.check()

    def upload(self, chooser: Locator, file: Path) -> None:
        chooser.set_input_files(file)


class Keyboard:
    """A shopper with the keyboard alone: Tab (never a click) to reach a control, typing, Enter, Space, arrows."""

    PRESSES = 200

    def __init__(self, page: Page) -> None:
        self.page = page

    def _settled(self, script: str, arg: object = None) -> object:
        """``script``'s answer on the page as it is once any navigation that Enter started has ended: a keypress
        returns before the page it submits has loaded, and a script run in between meets a destroyed context."""
        for _ in range(3):
            try:
                return self.page.evaluate(script, arg)
            except PlaywrightError as error:
                if "Execution context was destroyed" not in str(error):
                    raise
                self.page.wait_for_load_state()
        return self.page.evaluate(script, arg)

    def _focused(self, control: Locator) -> bool:
        self._settled("() => document.readyState")
        return bool(control.evaluate("element => element === document.activeElement"))

    def reach(self, control: Locator) -> None:
        """Tab until ``control`` has the focus (the page's order of focus, as a person would go through it)."""
        expect(control).to_be_visible()
        for _ in range(self.PRESSES):
            if self._focused(control):
                outline = control.evaluate("element => getComputedStyle(element).outlineStyle")
                assert outline not in ("none", ""), f"{control} has the focus but shows no focus ring"
                return
            self.page.keyboard.press("Tab")
        raise AssertionError(f"{control} never got the focus with Tab")

    def fill(self, field: Locator, text: str) -> None:
        self.reach(field)
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.type(text)

    def press(self, control: Locator) -> None:
        self.reach(control)
        self.page.keyboard.press("Enter")

    def choose(self, radio: Locator) -> None:
        """Tab into the radio group (the focus lands on its checked button), then arrow down to ``radio``."""
        name = radio.get_attribute("name")
        for _ in range(self.PRESSES):
            if self._settled(
                "name => document.activeElement?.type === 'radio' && document.activeElement.name === name", name
            ):
                break
            self.page.keyboard.press("Tab")
        for _ in range(10):
            if radio.is_checked():
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"{radio} could not be chosen with the arrows")

    def upload(self, chooser: Locator, file: Path) -> None:
        """Reach the file field and press Space to open the file chooser; on a loaded machine the first press can
        come before the page takes keyboard activation, so a person presses again (three tries)."""
        for attempt in range(3):
            self.reach(chooser)
            try:
                with self.page.expect_file_chooser(timeout=5_000) as opened:
                    self.page.keyboard.press("Space")
            except PlaywrightError:
                if attempt == 2:
                    raise
                continue
            opened.value.set_files(file)
            return


Hands = Mouse | Keyboard


def _modules(uri: str) -> list[list[bool]]:
    """The dark modules of the QR code an app reads ``uri`` from (with segno's quiet zone of 4 modules)."""
    return [[bool(bit) for bit in row] for row in segno.make(uri, error="m").matrix_iter(border=4)]


def _qr_modules(svg: Locator) -> list[list[bool]]:
    """The dark modules of the QR code as the browser draws it: the centre of each module of the picture, as a
    camera would sample it (its size in modules is the SVG's width at 5 pixels a module, quiet zone included)."""
    size = int(float(svg.get_attribute("width") or "0") / 5)
    picture = Image.open(io.BytesIO(svg.screenshot())).convert("L")
    step_x, step_y = picture.width / size, picture.height / size
    return [
        [picture.getpixel((int((x + 0.5) * step_x), int((y + 0.5) * step_y))) < 128 for x in range(size)]  # type: ignore[operator]
        for y in range(size)
    ]


def _code(totp: pyotp.TOTP, clock: FakeClock) -> str:
    """The app's code of the next time step (a code is accepted once: each use waits for a fresh one)."""
    clock.advance(seconds=30)
    return str(totp.at(clock.now))


def _wallet_link(page: Page, t: Texts, path: str) -> Locator:
    return page.get_by_role("navigation", name=t("Your wallet")).locator(f"a[href='{path}']")


def _open_a_wallet(page: Page, hands: Hands, look: Look, t: Texts, world: World) -> None:
    page.goto(f"{world.url}/sign-up?next=/wallet&lang={look.lang}")
    look(page, "sign-up")
    hands.fill(page.locator("#name"), "Ada Lovelace")
    hands.fill(page.locator("#email"), "ada@example.org")
    hands.fill(page.locator("#password"), PASSWORD)
    hands.press(page.locator("form[action='/sign-up'] button[type=submit]"))
    welcome = t("Your wallet is open. Welcome, %(name)s!", name="Ada Lovelace")
    expect(page.get_by_role("status")).to_contain_text(welcome)
    expect(page.locator("#balance")).to_have_text(t.money(0))
    look(page, "wallet-new")


def _add_a_card(page: Page, hands: Hands, look: Look, t: Texts) -> None:
    hands.press(_wallet_link(page, t, "/wallet"))
    hands.press(page.locator("main a[href^='/wallet/cards/new']").first)
    look(page, "card-new")
    hands.fill(page.locator("#number"), "4242 4242 4242 4242")
    hands.fill(page.locator("#exp_month"), "12")
    hands.fill(page.locator("#exp_year"), "2030")
    hands.fill(page.locator("#cvc"), "123")
    hands.fill(page.locator("#holder_name"), "Ada Lovelace")
    hands.press(page.locator("form[action^='/wallet/cards'] button[type=submit]"))
    expect(page.get_by_role("status")).to_contain_text("4242")
    look(page, "wallet-card")


def _top_up(page: Page, hands: Hands, look: Look, t: Texts, euros: int) -> None:
    hands.press(_wallet_link(page, t, "/wallet/top-up"))
    look(page, "top-up")
    hands.fill(page.locator("#amount"), str(euros))
    expect(page.locator("input[name=source]").first).to_be_checked()  # the only card
    hands.press(page.locator("form[action='/wallet/top-up'] button[type=submit]"))


def _buy_the_saucepan(page: Page, hands: Hands, look: Look, world: World) -> None:
    """In the demo shop: buy the 45 EUR saucepan, which sends the shopper to Kleline's checkout."""
    page.goto(world.shop_url)  # typed in the address bar
    look(page, "demo-shop", ours=False)
    hands.press(page.locator("form:has(input[value=saucepan]) button[type=submit]"))
    page.wait_for_url(f"{world.url}/checkout/*")
    expect(page.locator("#amount")).to_have_text(Texts(look.lang).money(4500))
    expect(page.locator("#merchant")).to_have_text("La Boutique du Coin")
    look(page, "checkout")


def _back_at_the_shop(page: Page, hands: Hands, look: Look, t: Texts, world: World) -> str:
    """Kleline's confirmation, then on to the shop, whose order is paid (the shop asked Kleline): the payment's id."""
    expect(page.locator("#confirmation")).to_contain_text(t.money(4500))
    look(page, "checkout-paid")
    hands.press(page.locator("#return-link"))
    page.wait_for_url(f"{world.shop_url}/orders/*")
    (order,) = world.orders.all()
    expect(page.locator(".status")).to_have_text("paid")
    look(page, "demo-shop-order", ours=False)
    payment = world.kleline.payments.get(order.payment_id)
    assert (payment.status, payment.amount_captured, payment.merchant_id) == (
        "succeeded",
        4500,
        world.data.shop.merchant_id,
    )
    return str(order.payment_id)


def _receipt(page: Page, hands: Hands, look: Look, t: Texts, world: World, payment_id: str, tmp_path: Path) -> None:
    """The payment in the activity, its receipt, the signed file downloaded and checked twice."""
    page.goto(f"{world.url}/wallet")  # typed in the address bar, back at Kleline
    hands.press(_wallet_link(page, t, "/wallet/activity"))
    first = page.locator(".activity-line").first
    expect(first).to_contain_text("La Boutique du Coin")
    expect(first).to_contain_text(t.money(4500))
    look(page, "activity")
    hands.press(first.locator(f"a[href='/wallet/receipts/{payment_id}']"))
    expect(page.locator(".receipt-amount")).to_have_text(t.money(4500))
    look(page, "receipt")
    with page.expect_download() as download:
        hands.press(page.locator(f"a[href='/wallet/receipts/{payment_id}/download']"))
    file = tmp_path / download.value.suggested_filename
    download.value.save_as(file)
    assert file.name == f"kleline-receipt-{payment_id}.json"

    checked = CliRunner().invoke(cli, ["receipt", "verify", str(file), "--keys", f"{world.url}/v1/keys"])
    assert checked.exit_code == 0, checked.output
    assert f"valid receipt {payment_id}" in checked.output or payment_id in checked.output
    assert "La Boutique du Coin" in checked.output

    hands.press(page.locator("main a[href='/receipts/verify']"))
    look(page, "verify")
    hands.upload(page.locator("#receipt"), file)
    hands.press(page.locator(".verify-form button[type=submit]"))
    expect(page.locator(".verdict h2")).to_contain_text(t("Valid receipt"))
    expect(page.locator(".verdict")).to_contain_text("La Boutique du Coin")
    look(page, "verify-valid")


@pytest.mark.parametrize(
    ("hands_name", "lang", "width"),
    [("mouse", "en", 1280), ("mouse", "fr", 360), ("keyboard", "fr", 1280)],
)
@BOTH_BACKENDS
def test_a_shopper_opens_a_wallet_sets_up_an_app_tops_up_pays_the_demo_shop_and_verifies_the_receipt(
    world: World, chromium: Browser, clock: FakeClock, tmp_path: Path, hands_name: str, lang: str, width: int
) -> None:
    t = Texts(lang)
    look = Look(f"app-{hands_name}", lang, width)
    context = chromium.new_context(
        viewport={"width": width, "height": 800}, locale="fr-FR" if lang == "fr" else "en-GB", accept_downloads=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        hands: Hands = Keyboard(page) if hands_name == "keyboard" else Mouse(page)
        _open_a_wallet(page, hands, look, t, world)

        hands.press(_wallet_link(page, t, "/wallet/security"))
        look(page, "security")
        hands.press(page.locator("form[action='/wallet/security/authenticator'] button[type=submit]"))
        expect(page.locator(".qr svg")).to_be_visible()
        secret = page.locator(".secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)  # what the app does with the key it scanned
        uri = totp.provisioning_uri(name="ada@example.org", issuer_name="Kleline")
        assert _qr_modules(page.locator(".qr svg")) == _modules(uri), "the QR code does not carry the key shown"
        look(page, "security-enrolling")
        hands.fill(page.locator("#code"), str(totp.at(clock.now)))
        hands.press(page.locator("form[action='/wallet/security/authenticator/confirm'] button[type=submit]"))
        expect(page.locator(".state-ok")).to_be_visible()
        look(page, "security-app")

        _add_a_card(page, hands, look, t)
        _top_up(page, hands, look, t, 50)
        look(page, "top-up-challenge")
        hands.fill(page.locator("#sca_code"), _code(totp, clock))
        hands.press(page.locator("form[action$='/authenticate'] button[type=submit]"))
        expect(page.locator("#balance")).to_have_text(t.money(5000))
        look(page, "wallet-topped-up")

        _buy_the_saucepan(page, hands, look, world)
        hands.choose(page.locator("#method"))  # the purse: 50 EUR available
        hands.press(page.locator("form[action$='/confirm'] button[type=submit]"))
        expect(page.get_by_role("heading", name=t("Confirm it is you"))).to_be_visible()
        look(page, "checkout-challenge")
        hands.fill(page.locator("#sca_code"), _code(totp, clock))
        hands.press(page.locator("main form button[type=submit]").first)
        payment_id = _back_at_the_shop(page, hands, look, t, world)
        assert world.kleline.payments.get(payment_id).method == "purse"

        _receipt(page, hands, look, t, world, payment_id, tmp_path)
    finally:
        context.close()
    assert trial_balance(world.kleline.db).balanced
    assert look.problems == []


@pytest.mark.parametrize(("lang", "width"), [("en", 1280), ("fr", 360)])
@BOTH_BACKENDS
def test_a_shopper_with_a_passkey_pays_the_demo_shop_with_it_and_signs_in_with_it(
    world: World, chromium: Browser, clock: FakeClock, tmp_path: Path, lang: str, width: int
) -> None:
    t = Texts(lang)
    look = Look("passkey", lang, width)
    context = chromium.new_context(
        viewport={"width": width, "height": 800}, locale="fr-FR" if lang == "fr" else "en-GB", accept_downloads=True
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        authenticator(context, page)  # Chromium's virtual one, CDP WebAuthn
        hands = Mouse(page)
        _open_a_wallet(page, hands, look, t, world)

        hands.press(_wallet_link(page, t, "/wallet/security"))
        expect(page.get_by_role("button", name=t("Add a passkey"))).to_be_visible()  # the script runs
        hands.fill(page.locator("form[data-passkey=create] #name"), "Ada's laptop")
        hands.press(page.get_by_role("button", name=t("Add a passkey")))
        expect(page.get_by_role("status").filter(has_text="Ada's laptop")).to_be_visible()
        look(page, "security-passkey")
        customer_id = world.kleline.customers.check_password("ada@example.org", PASSWORD)
        [passkey] = world.kleline.passkeys.list(customer_id)

        _add_a_card(page, hands, look, t)
        _top_up(page, hands, look, t, 50)  # above the 30 EUR exemption: the passkey passes the challenge
        expect(page.locator("#sca_code")).to_have_count(0)  # no app: the passkey is the only way offered
        look(page, "top-up-challenge")
        hands.press(page.locator("form[data-passkey] button[type=submit]"))
        expect(page.locator("#balance")).to_have_text(t.money(5000))
        assert world.kleline.passkeys.list(customer_id)[0].last_used_at is not None
        look(page, "wallet-topped-up")

        _buy_the_saucepan(page, hands, look, world)
        hands.choose(page.locator("#method"))
        hands.press(page.locator("form[action$='/confirm'] button[type=submit]"))
        expect(page.get_by_role("heading", name=t("Confirm it is you"))).to_be_visible()
        look(page, "checkout-challenge")
        hands.press(page.locator("form[data-passkey] button[type=submit]"))
        payment_id = _back_at_the_shop(page, hands, look, t, world)
        assert world.kleline.passkeys.list(customer_id)[0].last_used_at is not None

        page.goto(f"{world.url}/wallet")
        hands.press(page.locator("form.sign-out button[type=submit]"))
        page.goto(f"{world.url}/sign-in?next=/wallet/activity")
        look(page, "sign-in")
        hands.press(page.locator("form[action='/sign-in/passkey'] button[type=submit]"))  # no email, no password
        page.wait_for_url(f"{world.url}/wallet/activity")
        expect(page.locator(".activity-line").first).to_contain_text("La Boutique du Coin")
        look(page, "activity-after-passkey-sign-in")
        assert world.kleline.passkeys.list(customer_id)[0].sign_count >= passkey.sign_count
        _receipt(page, hands, look, t, world, payment_id, tmp_path)
    finally:
        context.close()
    assert look.problems == []
