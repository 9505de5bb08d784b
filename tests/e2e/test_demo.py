"""The demo: its data is seeded once however often it runs, and the demo shop sells through Kleline for real.

The shop (``examples/shop``) runs as ``kleline demo`` runs it: a separate web server on a loopback port, reaching
Kleline only over HTTP with its secret key (here through Kleline's ASGI app instead of a socket), and receiving
webhooks that the worker sends over real HTTP, signed, through the same SSRF guard as in production.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.cli import app as cli
from kleline.clock import system_clock
from kleline.config import load_settings
from kleline.demo import Addresses, DemoData, banner, seed, shop_directory, start_shop
from kleline.demo.bank import DemoBank
from kleline.demo.data import (
    CONSENTS,
    CUSTOMERS,
    MALLS,
    MERCHANTS,
    OFFER,
    PASSWORD,
    PURCHASES,
    PURSE_TARGET,
    SHOP_EMAIL,
)
from kleline.demo.launch import beside_the_demo
from kleline.events.signature import HEADER, sign
from kleline.ledger.audit import trial_balance
from kleline.merchants.errors import InvalidMerchantKey
from kleline.money import Money
from kleline.worker.runner import Worker

from .dashboard_world import DashboardVisitor
from .http import bearer
from .live_server import loopback_listener, serving
from .page_visitor import Visitor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "shop"))
demo_shop: Any = importlib.import_module("demo_shop")

KLELINE_URL = "http://kleline.test"


@pytest.fixture
def kleline(database_url: str) -> Iterator[Kleline]:
    """Kleline as the demo runs it: webhooks may go to loopback, and time is the wall clock (the shop checks the
    signatures' timestamps against its own clock)."""
    settings = load_settings(database_url=database_url, webhooks_allow_loopback=True, public_url=KLELINE_URL)
    system = build(settings, clock=system_clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    """Kleline's API and pages."""
    return create_app(kleline)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client of Kleline's API, for the customer's side of a purchase."""
    with TestClient(app, base_url=KLELINE_URL) as test_client:
        yield test_client


@dataclass
class Shop:
    """The running demo shop: its address, its orders, the demo data it was given, and a browser on it."""

    url: str
    orders: Any
    data: DemoData
    browser: httpx.Client

    def order(self) -> Any:
        """The shop's only order."""
        (order,) = self.orders.all()
        return order


@pytest.fixture
def shop(kleline: Kleline, app: FastAPI) -> Iterator[Shop]:
    """Demo data seeded, and the demo shop serving on a free loopback port with the secrets the seeding made."""
    listener, url = loopback_listener()
    data = seed(kleline, shop_url=url)
    orders = demo_shop.OrderBook()
    config = demo_shop.ShopConfig(KLELINE_URL, data.shop.secret_key, data.shop.webhook_secret, url)
    shop_app = demo_shop.create_app(config, transport=httpx.ASGITransport(app=app), orders=orders)
    with serving(shop_app, listener), httpx.Client(base_url=url, timeout=10) as browser:
        yield Shop(url, orders, data, browser)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Wait until ``url`` answers 200, while ``process`` (which serves it) is still running."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"the process serving {url} exited"
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.1)


def _buy(shop: Shop, sku: str = "comte") -> tuple[Any, str]:
    """Click 'Buy' in the shop: the order, and where the browser is sent (Kleline's checkout)."""
    answer = shop.browser.post("/orders", data={"sku": sku})
    assert answer.status_code == 303, answer.text
    return shop.order(), answer.headers["location"]


def _pay_by_purse(client: TestClient, payment_id: str, email: str = "alice@example.com") -> dict[str, Any]:
    token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
    answer = client.post(f"/v1/payments/{payment_id}/confirm", json={"method": "purse"}, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    paid: dict[str, Any] = answer.json()
    return paid


def test_seeding_makes_malls_merchants_and_funded_customers(kleline: Kleline) -> None:
    data = seed(kleline, shop_url="http://127.0.0.1:8001")

    assert sorted(mall.slug for mall in data.malls) == sorted(slug for _, slug in MALLS)
    assert len(data.merchants) == len(MERCHANTS) == 12
    assert all(merchant.status == "active" and merchant.mall_ids for merchant in data.merchants)
    assert all(mall.listed().members for mall in data.malls)
    assert [customer.email for customer in data.customers] == [email for _, email, _ in CUSTOMERS]
    for customer, (_, _, numbers) in zip(data.customers, CUSTOMERS, strict=True):
        assert [card.last4 for card in customer.cards] == [number[-4:] for number in numbers]
        spent = sum(p.amount - p.refunded for p in PURCHASES if p.customer == customer.email and p.method == "purse")
        assert customer.purse == Money(PURSE_TARGET.minor - spent, "EUR")  # funded, a few purchases, their refunds
        assert customer.totp_secret  # enrolled by this run, so shown
        assert kleline.customers.get(customer.id).kyc_level == "verified"
    assert "3155" in [card.last4 for card in data.customers[0].cards]  # the card that asks for authentication
    shop_merchant = kleline.merchants.get(data.shop.merchant_id)
    assert shop_merchant.email == SHOP_EMAIL and shop_merchant.status == "active"
    assert kleline.merchants.authenticate(data.shop.secret_key) == data.shop.merchant_id
    assert data.shop.webhook_url == "http://127.0.0.1:8001/webhooks/kleline"
    assert data.shop.webhook_secret.startswith("whsec_")
    assert trial_balance(kleline.db).balanced


def test_the_demo_malls_show_what_each_shop_sells_its_siret_and_link_to_the_demo_shop(kleline: Kleline) -> None:
    data = seed(kleline, shop_url="http://127.0.0.1:8001")
    for merchant, spec in zip(data.merchants, MERCHANTS, strict=True):
        assert (merchant.description, merchant.website) == (spec.description, "http://127.0.0.1:8001/")
        assert merchant.siret is not None and merchant.approved_at is not None
    alice = data.customers[0]
    history = kleline.payments.purse_movements(alice.id, limit=10)
    assert len(history) >= 2  # the top-up and the purse purchase
    payments, _more = kleline.payments.list(merchant_id=data.merchants[1].id, limit=10)  # Librairie Kléber
    assert [(p.customer_id, p.amount_captured, p.amount_refunded) for p in payments] == [(alice.id, 1290, 390)]
    moved = seed(kleline, shop_url="http://127.0.0.1:9001")  # the shop on another port: the links follow it
    assert {merchant.website for merchant in moved.merchants} == {"http://127.0.0.1:9001/"}
    assert trial_balance(kleline.db).balanced


def test_seeding_again_finds_everything_and_renews_only_the_shop_secrets(kleline: Kleline) -> None:
    first = seed(kleline, shop_url="http://127.0.0.1:8001")
    again = seed(kleline, shop_url="http://127.0.0.1:8001")

    assert [mall.id for mall in again.malls] == [mall.id for mall in first.malls]
    assert [merchant.id for merchant in again.merchants] == [merchant.id for merchant in first.merchants]
    assert [customer.id for customer in again.customers] == [customer.id for customer in first.customers]
    assert len(kleline.malls.list()) == len(MALLS)
    assert len(kleline.merchants.list()) == len(MERCHANTS)
    for before, after in zip(first.customers, again.customers, strict=True):
        assert [card.id for card in after.cards] == [card.id for card in before.cards]
        assert after.purse == before.purse  # funded once, not topped up again; the purchases made once
        assert after.totp_secret is None  # shown by the first run only
    assert [mall.merchant_ids for mall in again.malls] == [mall.merchant_ids for mall in first.malls]
    # The shop gets a new key and a new endpoint (their secrets are shown once); the old ones stop working.
    with pytest.raises(InvalidMerchantKey):
        kleline.merchants.authenticate(first.shop.secret_key)
    assert kleline.merchants.authenticate(again.shop.secret_key) == again.shop.merchant_id
    endpoints = kleline.webhook_endpoints.list(again.shop.merchant_id)
    assert [endpoint.url for endpoint in endpoints] == [again.shop.webhook_url]
    assert again.shop.webhook_secret != first.shop.webhook_secret
    with kleline.db.transaction(write=False) as tx:  # the customers are found again without signing them in
        assert tx.fetchone("SELECT COUNT(*) FROM customer_tokens")[0] == 0
    assert trial_balance(kleline.db).balanced


def test_the_banner_says_where_to_click_and_how_to_sign_in(kleline: Kleline) -> None:
    addresses = Addresses.on_this_machine("127.0.0.1", 8000, 8001)
    data = seed(kleline, shop_url=addresses.shop)

    text = "\n".join(banner(data, addresses, shop_running=True))

    for expected in [
        "http://127.0.0.1:8001",
        "http://localhost:8000/docs",
        "http://localhost:8000/malls",
        "sign in at http://localhost:8000/sign-in as a demo customer",
        "Add a passkey at http://localhost:8000/wallet/security",
        "http://localhost:8000/wallet/privacy",
        "http://localhost:8000/wallet/inbox",
        "http://localhost:8000/dashboard/offers",
        data.operator_key,
        PASSWORD,
    ]:
        assert expected in text
    elsewhere = Addresses.on_this_machine("192.0.2.10", 8000, 8001)  # an IP address: no passkey to offer
    assert "passkey" not in "\n".join(banner(data, elsewhere, shop_running=True))
    for customer in data.customers:
        assert customer.email in text and str(customer.totp_secret) in text
    again = "\n".join(banner(seed(kleline, shop_url=addresses.shop), addresses, shop_running=True))
    assert "shown by the first run" in again


def test_the_banner_gives_other_terminals_the_demo_database_and_a_command_there_reads_it(
    kleline: Kleline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    addresses = Addresses(kleline="http://127.0.0.1:8000", shop="http://127.0.0.1:8001")
    data = seed(kleline, shop_url=addresses.shop)
    bank = DemoBank("iso8583://127.0.0.1:8583")
    lines = banner(data, addresses, shop_running=True, bank=bank, database_url=kleline.settings.database_url)
    (export,) = [line for line in lines if line.startswith("Other terminals: export ")]
    settings = dict(word.split("=", 1) for word in shlex.split(export.removeprefix("Other terminals: export ")))
    assert set(settings) == {"KLELINE_DATABASE_URL", "KLELINE_BANK_URL"}
    assert settings["KLELINE_BANK_URL"] == bank.url

    elsewhere = tmp_path / "another-terminal"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("KLELINE_DATABASE_URL", settings["KLELINE_DATABASE_URL"])
    result = CliRunner().invoke(cli, ["ledger", "trial-balance"])

    assert result.exit_code == 0, result.output
    assert f"customer:{data.customers[0].id}:purse" in result.output  # the demo's books, not an empty database
    assert list(elsewhere.iterdir()) == []


def test_the_banner_makes_a_relative_sqlite_path_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (line, _) = beside_the_demo("sqlite:///demo.db")
    assert line == f"Other terminals: export KLELINE_DATABASE_URL=sqlite:///{tmp_path / 'demo.db'}"
    (masked, _) = beside_the_demo("postgresql://kleline:s3cret@db.example/kleline")
    assert "s3cret" not in masked and "postgresql://kleline:***@db.example/kleline" in masked


def test_the_demo_finds_the_shop_in_this_checkout() -> None:
    directory = shop_directory()

    assert directory is not None and (directory / "demo_shop" / "app.py").is_file()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the shop's environment in /proc")
def test_the_shop_process_gets_its_secrets_but_none_of_klelines_settings(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_MASTER_KEYS", "k1:a-secret-the-shop-must-not-see")
    port = _free_port()
    addresses = Addresses(kleline=KLELINE_URL, shop=f"http://127.0.0.1:{port}")
    data = seed(kleline, shop_url=addresses.shop)
    directory = shop_directory()
    assert directory is not None
    process = start_shop(directory, data, addresses, "127.0.0.1", port)
    try:
        _wait_until_answering(f"{addresses.shop}/health", process)
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    finally:
        process.terminate()
        process.wait(timeout=10)
    names = {entry.partition(b"=")[0].decode() for entry in environ if entry}
    assert {"SHOP_SECRET_KEY", "SHOP_WEBHOOK_SECRET", "SHOP_KLELINE_URL", "SHOP_PUBLIC_URL"} <= names
    assert not [name for name in names if name.startswith("KLELINE_")]


@pytest.mark.parametrize(
    ("host", "kleline_url"),
    [
        # On loopback (or every address), at localhost: browsers refuse passkeys for an IP address.
        ("127.0.0.1", "http://localhost:8000"),
        ("localhost", "http://localhost:8000"),
        ("0.0.0.0", "http://localhost:8000"),
        ("::", "http://localhost:8000"),
        ("::1", "http://[::1]:8000"),  # IPv6 only: localhost may name 127.0.0.1 alone
        ("192.0.2.10", "http://192.0.2.10:8000"),
        ("kleline.localhost", "http://kleline.localhost:8000"),
    ],
)
def test_the_demo_is_announced_at_addresses_a_browser_opens(host: str, kleline_url: str) -> None:
    assert Addresses.on_this_machine(host, 8000, 8001) == Addresses(kleline_url, "http://127.0.0.1:8001")


def test_kleline_demo_serves_kleline_and_the_shop_until_sigterm_then_stops_both(tmp_path: Path) -> None:
    port, shop_port = _free_port(), _free_port()
    environment = {name: value for name, value in os.environ.items() if not name.startswith("KLELINE_")}
    environment["KLELINE_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    command = [
        str(Path(sys.executable).with_name("kleline")),
        "demo",
        "--port",
        str(port),
        "--shop-port",
        str(shop_port),
    ]
    with subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as demo:
        try:
            assert demo.stdout is not None
            for line in demo.stdout:  # the banner comes once Kleline and the shop both answer
                if "Kleline demo is ready." in line:
                    break
            else:
                pytest.fail(f"kleline demo exited with {demo.wait()} before it was ready")
            with httpx.Client(base_url=f"http://127.0.0.1:{shop_port}", timeout=10) as browser:
                bought = browser.post("/orders", data={"sku": "comte"})
                assert bought.status_code == 303, bought.text
                checkout = bought.headers["location"]
                # At localhost, where passkeys work: Kleline's public address, its passkeys' relying party.
                assert checkout.startswith(f"http://localhost:{port}/checkout/pay_")
                page = httpx.get(checkout, timeout=10)
                assert page.status_code == 200 and "La Boutique du Coin" in page.text
                sign_in = httpx.get(f"http://localhost:{port}/sign-in", timeout=10)
                assert 'action="/sign-in/passkey"' in sign_in.text  # offered: the address names a host
            demo.send_signal(signal.SIGTERM)
            assert demo.wait(30) == 128 + signal.SIGTERM
            with pytest.raises(httpx.TransportError):
                httpx.get(f"http://127.0.0.1:{shop_port}/health", timeout=2)  # the shop was stopped with it
        finally:
            if demo.poll() is None:
                demo.kill()


def test_an_order_paid_at_kleline_becomes_paid_in_the_shop_when_the_webhook_arrives(
    shop: Shop, client: TestClient, kleline: Kleline
) -> None:
    seeded = Worker(kleline).run_once()  # the shop's past sales, seeded: acknowledged, none of them is an order
    assert seeded.deliveries.delivered == seeded.deliveries.attempted > 0, seeded.summary()
    order, checkout = _buy(shop)
    assert checkout == f"{KLELINE_URL}/checkout/{order.payment_id}"
    payment = client.get(f"/v1/payments/{order.payment_id}", headers=bearer(shop.data.shop.secret_key)).json()
    assert (payment["amount"], payment["reference"]) == (890, order.id)
    assert payment["return_url"] == f"{shop.url}/orders/{order.id}/return"
    assert order.status == "awaiting_payment"

    assert _pay_by_purse(client, order.payment_id)["status"] == "succeeded"
    assert shop.order().status == "awaiting_payment"  # the shop has heard nothing yet

    report = Worker(kleline).run_once()

    assert report.deliveries.delivered == 2, report.summary()
    paid = shop.order()
    assert paid.status == "paid"
    assert [kind for _, kind in paid.webhooks] == ["payment.authorized", "payment.succeeded"]
    page = shop.browser.get(f"/orders/{order.id}")
    assert "status-paid" in page.text and "payment.succeeded" in page.text
    assert Worker(kleline).run_once().deliveries.attempted == 0


def test_the_return_page_believes_kleline_not_the_query_string(shop: Shop, client: TestClient) -> None:
    order, _ = _buy(shop)

    forged = shop.browser.get(
        f"/orders/{order.id}/return", params={"payment_id": order.payment_id, "status": "succeeded"}
    )
    assert forged.status_code == 303
    assert shop.order().status == "awaiting_payment"
    other = shop.browser.get(f"/orders/{order.id}/return", params={"payment_id": "pay_other", "status": "succeeded"})
    assert other.status_code == 400

    _pay_by_purse(client, order.payment_id)
    back = shop.browser.get(f"/orders/{order.id}/return", params={"payment_id": order.payment_id, "status": "failed"})

    assert back.status_code == 303 and back.headers["location"] == f"/orders/{order.id}"
    assert shop.order().status == "paid"  # read from Kleline, before any webhook
    assert shop.order().webhooks == ()


def test_a_refund_from_the_shop_is_confirmed_by_its_webhook(shop: Shop, client: TestClient, kleline: Kleline) -> None:
    order, _ = _buy(shop, "tea-towel")
    _pay_by_purse(client, order.payment_id, "bruno@example.com")
    Worker(kleline).run_once()

    assert shop.browser.post(f"/orders/{order.id}/refund").status_code == 303
    Worker(kleline).run_once()

    refunded = shop.order()
    assert refunded.shown_status == "refunded" and refunded.refunded == 1990
    assert "refund.succeeded" in [kind for _, kind in refunded.webhooks]
    assert shop.browser.post(f"/orders/{order.id}/refund").status_code == 400  # nothing left to refund


def _event(client: TestClient, shop: Shop, kind: str) -> dict[str, Any]:
    events = client.get("/v1/events", headers=bearer(shop.data.shop.secret_key)).json()["data"]
    event: dict[str, Any] = next(event for event in events if event["type"] == kind)
    return event


def test_a_tampered_or_badly_signed_webhook_is_refused_and_changes_nothing(shop: Shop, client: TestClient) -> None:
    order, _ = _buy(shop)
    _pay_by_purse(client, order.payment_id)
    event = _event(client, shop, "payment.succeeded")
    body = json.dumps(event, separators=(",", ":")).encode()
    now = int(time.time())
    signature = sign(shop.data.shop.webhook_secret, body, now)
    tampered = body.replace(b'"amount":890', b'"amount":1')
    assert tampered != body

    refused = [
        shop.browser.post("/webhooks/kleline", content=tampered, headers={HEADER: signature}),
        shop.browser.post("/webhooks/kleline", content=body, headers={HEADER: sign("whsec_wrong", body, now)}),
        shop.browser.post(
            "/webhooks/kleline", content=body, headers={HEADER: sign(shop.data.shop.webhook_secret, body, now - 3600)}
        ),
        shop.browser.post("/webhooks/kleline", content=body),
    ]

    assert [answer.status_code for answer in refused] == [400, 400, 400, 400]
    assert shop.order().status == "awaiting_payment" and shop.order().webhooks == ()
    accepted = shop.browser.post("/webhooks/kleline", content=body, headers={HEADER: signature})
    assert accepted.status_code == 200 and accepted.json()["duplicate"] is False
    assert shop.order().status == "paid"


def test_a_redelivered_event_is_applied_once(shop: Shop, client: TestClient, kleline: Kleline) -> None:
    order, _ = _buy(shop)
    _pay_by_purse(client, order.payment_id)
    Worker(kleline).run_once()
    event = _event(client, shop, "payment.succeeded")

    answer = client.post(f"/v1/events/{event['id']}/redeliver", headers=bearer(shop.data.shop.secret_key))
    assert answer.status_code == 202, answer.text
    assert Worker(kleline).run_once().deliveries.delivered == 1

    kinds = [kind for _, kind in shop.order().webhooks]
    assert kinds == ["payment.authorized", "payment.succeeded"]


def test_the_demo_shops_owner_signs_in_to_the_dashboard_with_the_printed_password_and_secret(kleline: Kleline) -> None:
    addresses = Addresses(kleline="http://127.0.0.1:8000", shop="http://127.0.0.1:8001")
    data = seed(kleline, shop_url=addresses.shop)
    owner = data.owner
    assert owner is not None and owner.totp_secret is not None
    text = "\n".join(banner(data, addresses, shop_running=True))
    for expected in ("http://127.0.0.1:8000/dashboard/sign-in", owner.email, PASSWORD, owner.totp_secret):
        assert expected in text

    with TestClient(create_app(kleline), follow_redirects=False) as client:
        visitor = DashboardVisitor(client)
        visitor.get("/dashboard/sign-in")
        answer = visitor.post("/dashboard/sign-in", email=owner.email, password=owner.password, next="/dashboard")
        assert answer.headers["location"].startswith("/dashboard/sign-in/code")
        visitor.get(answer.headers["location"])
        done = visitor.post("/dashboard/sign-in/code", code=pyotp.TOTP(owner.totp_secret).now(), next="/dashboard")
        assert (done.status_code, done.headers["location"]) == (303, "/dashboard")
        home = visitor.get("/dashboard")
        assert home.status_code == 200 and "La Boutique du Coin" in home.text and "Owner" in home.text
        offers = visitor.get("/dashboard/offers")  # the demo's offer, its reach under the minimum
        assert offers.status_code == 200 and OFFER.title in offers.text and "fewer than 50 customers" in offers.text
        assert visitor.get("/dashboard/audiences").status_code == 200

    again = seed(kleline, shop_url=addresses.shop)
    assert again.owner is not None and again.owner.totp_secret is None
    assert "Its authenticator secret was shown by the first run" in "\n".join(
        banner(again, addresses, shop_running=True)
    )


def test_the_demo_customers_made_privacy_choices_and_alice_finds_the_shops_offer_in_her_inbox(
    kleline: Kleline,
) -> None:
    data = seed(kleline, shop_url="http://127.0.0.1:8001")
    alice, bruno, chloe = data.customers
    shop = data.shop.merchant_id
    for customer in data.customers:
        states = kleline.consents.states(customer.id)
        chosen = [(purpose, scope) for email, purpose, scope in CONSENTS if email == customer.email]
        assert len(states) == len(chosen) and all(state.granted for state in states)
        assert {event.channel for event in kleline.consents.history(customer.id)} == {"wallet"}
    shares = {
        (c.email, s.scope) for c in data.customers for s in kleline.consents.states(c.id) if s.purpose == "share_email"
    }
    assert shares == {(bruno.email, f"merchant:{shop}")}  # Bruno shares his email with the demo shop
    (sent,) = kleline.offers.list(shop, limit=10)
    assert (sent.title, sent.reach) == (OFFER.title, None)  # three customers: "fewer than 50"
    assert [o.id for o in kleline.inbox.offers(alice.id, limit=10)] == [sent.id]
    assert [o.id for o in kleline.inbox.offers(chloe.id, limit=10)] == [sent.id]
    assert kleline.inbox.offers(bruno.id, limit=10) == []  # he hears music shops only

    with TestClient(create_app(kleline), follow_redirects=False) as client:
        browser = Visitor(client)
        privacy = browser.sign_in_to("/wallet/privacy", alice.email, PASSWORD)
        assert privacy.status_code == 200 and privacy.text.count(' consent-given"') == 2
        assert 'Withdraw<span class="visually-hidden">: the mall Les Halles numériques</span>' in privacy.text
        inbox = browser.get("/wallet/inbox")
        assert inbox.status_code == 200 and OFFER.title in inbox.text and "La Boutique du Coin" in inbox.text

    # A demo user's withdrawal stands when the demo starts again, and the offer still valid is not sent again.
    (scope,) = [s.scope for s in kleline.consents.states(alice.id) if s.purpose == "offers"]
    kleline.consents.withdraw(alice.id, "offers", scope, channel="wallet")
    seed(kleline, shop_url="http://127.0.0.1:8001")
    assert [s.granted for s in kleline.consents.states(alice.id) if s.purpose == "offers"] == [False]
    assert [o.id for o in kleline.offers.list(shop, limit=10)] == [sent.id]
    assert trial_balance(kleline.db).balanced
