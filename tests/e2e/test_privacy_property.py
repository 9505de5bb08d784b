"""The property of issue 15's consent: over random sequences of consents, withdrawals and purchases, nothing a
merchant is given (its API's answers, webhooks as they are delivered, its dashboard's pages, its CSV export and its
statements) carries a customer's email without a live ``share_email`` consent to that merchant, nor ever the
customer's name or their own id (``cus_``); the email shows exactly while the consent lives; and two merchants know
one customer under two different pseudonyms.

Offers (another part of issue 15) join the sequences where ``STEPS`` says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.worker.runner import Worker

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import PASSWORD, card, fund
from .dashboard_world import IBAN, DashboardVisitor, member
from .http import bearer
from .webhook_receiver import Receiver, running_receiver

CUSTOMERS = (("Zéphyrine Quillfeather", "zephyrine@example.org"), ("Barnabé Oakenshield", "barnabe@example.net"))
SHOPS = ("Librairie Kléber", "Fromagerie Vaubourg")

customers = st.integers(0, len(CUSTOMERS) - 1)
shops = st.integers(0, len(SHOPS) - 1)
STEPS = st.one_of(
    st.tuples(st.just("grant"), customers, shops),
    st.tuples(st.just("withdraw"), customers, shops),
    st.tuples(st.just("buy"), customers, shops, st.booleans()),  # the boolean: "share my email" ticked
    st.tuples(st.just("deliver")),  # the worker delivers the webhooks due
    # Offers: add here a step that sends an offer to an audience and has a customer answer it (interested, or
    # share_email, which grants the consent: set ``world.live`` for it), once the offers exist.
)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline whose webhooks may reach a local receiver, and whose purse payments need no strong authentication."""
    settings = load_settings(
        database_url=database_url,
        webhooks_allow_loopback=True,
        sign_in_rate=1000,
        sca_single_limit=1_000_000,
        sca_cumulative_limit=100_000_000,
        sca_max_payments=1_000_000,
    )
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@dataclass
class Shop:
    id: str
    key: dict[str, str]
    receiver: Receiver
    dashboard: DashboardVisitor
    seen_webhooks: int = 0


@dataclass
class Person:
    id: str
    name: str
    email: str
    token: dict[str, str]


@dataclass
class World:
    kleline: Kleline
    client: TestClient
    shops: list[Shop]
    people: list[Person]
    live: dict[tuple[int, int], bool] = field(default_factory=dict)
    payments: dict[str, tuple[int, int]] = field(default_factory=dict)  # payment id -> (customer, shop)

    def pseudonym(self, person: int, shop: int) -> str:
        pseudonym = self.kleline.disclosure.pseudonym(self.shops[shop].id, self.people[person].id)
        assert pseudonym is not None
        return pseudonym

    def forbidden(self, shop: int) -> list[str]:
        """What shop ``shop`` must not read now: every customer's own id and name, the email of those who do not
        share it with it, and the pseudonyms other shops know them by."""
        words: list[str] = []
        for index, person in enumerate(self.people):
            words += [person.id, person.name]
            if not self.live.get((index, shop), False):
                words.append(person.email)
            words += [self.pseudonym(index, other) for other in range(len(self.shops)) if other != shop]
        return words

    def check(self, shop: int, what: str, text: str) -> None:
        lowered = text.lower()
        for word in self.forbidden(shop):
            assert word.lower() not in lowered, f"{SHOPS[shop]} reads {word!r} in {what}"
        assert not re.search(r"\bcus_[0-9a-f]", text), f"{SHOPS[shop]} reads a customer's own id in {what}"


def _world(kleline: Kleline, client: TestClient, pages: FastAPI, stack: ExitStack, clock: FakeClock) -> World:
    shops = []
    for index, name in enumerate(SHOPS):
        registered, secret = kleline.merchants.register(name=name, email="shop@example.fr", iban=IBAN)
        shop_id = kleline.merchants.approve(registered.id, actor=OPERATOR).id
        receiver = stack.enter_context(running_receiver(now=lambda: clock.now.timestamp()))
        created = client.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=bearer(secret))
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        email = f"accounts{index}@shop.example"
        member(kleline, shop_id, email, "accountant")
        dashboard = DashboardVisitor(TestClient(pages, follow_redirects=False))  # a browser of its own
        dashboard.sign_in_dashboard(email, next_path="/dashboard/payments")
        shops.append(Shop(shop_id, bearer(secret), receiver, dashboard))
    people = []
    for name, email in CUSTOMERS:
        signed_up = kleline.customers.sign_up(email, PASSWORD, name)
        fund(kleline, signed_up.id, card(kleline, signed_up.id), 15_000)
        token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
        people.append(Person(signed_up.id, name, email, bearer(token)))
    return World(kleline, client, shops, people)


def _step(world: World, step: tuple[Any, ...]) -> None:
    client = world.client
    kind = step[0]
    if kind in ("grant", "withdraw"):
        person, shop = step[1], step[2]
        path = "/v1/wallet/consents" + ("/withdraw" if kind == "withdraw" else "")
        body = {"purpose": "share_email", "scope": f"merchant:{world.shops[shop].id}"}
        answer = client.post(path, json=body, headers=world.people[person].token)
        assert answer.status_code == 200, answer.text
        world.live[(person, shop)] = kind == "grant"
    elif kind == "buy":
        person, shop, sharing = step[1], step[2], step[3]
        created = client.post("/v1/payments", json={"amount": 100, "currency": "EUR"}, headers=world.shops[shop].key)
        assert created.status_code == 201, created.text
        payment_id = created.json()["id"]
        confirmed = client.post(
            f"/v1/payments/{payment_id}/confirm",
            json={"method": "purse", "share_email": sharing},
            headers=world.people[person].token,
        )
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded", confirmed.text
        world.payments[payment_id] = (person, shop)
        if sharing:
            world.live[(person, shop)] = True
    else:
        report = Worker(world.kleline, sweeps=()).run_once()
        assert report.deliveries.failed == 0


def _check(world: World, month: str) -> None:
    for index, shop in enumerate(world.shops):
        client, key = world.client, shop.key
        listed = client.get("/v1/payments", params={"limit": 100}, headers=key)
        world.check(index, "GET /v1/payments", listed.text)
        for payment in listed.json()["data"]:
            person, at = world.payments[payment["id"]]
            assert at == index
            expected = world.people[person].email if world.live.get((person, index), False) else None
            assert (payment["customer_id"], payment["customer_email"]) == (world.pseudonym(person, index), expected)
        for person in world.people:
            found = client.get("/v1/payments", params={"q": person.email}, headers=key)
            world.check(index, "a search by email", found.text)
        world.check(index, "GET /v1/events", client.get("/v1/events", params={"limit": 100}, headers=key).text)
        world.check(index, "the CSV export", client.get("/v1/payments/export.csv", headers=key).text)
        for format in ("json", "csv", "fec"):
            statement = client.get(f"/v1/merchant-statements/{month}", params={"format": format}, headers=key)
            assert statement.status_code == 200, statement.text
            world.check(index, f"the {format} statement", statement.text)
        world.check(index, "the dashboard's payments", shop.dashboard.get("/dashboard/payments").text)
        newest = [p["id"] for p in listed.json()["data"][:2]]
        for payment_id in newest:
            page = shop.dashboard.get(f"/dashboard/payments/{payment_id}")
            assert page.status_code == 200
            world.check(index, f"the dashboard's page of {payment_id}", page.text)
            receipt = shop.dashboard.get(f"/dashboard/payments/{payment_id}/receipts/{payment_id}")
            world.check(index, "a receipt", receipt.text)
        # Webhooks as they were delivered: consents cannot change between a delivery and this check.
        for received in shop.receiver.received[shop.seen_webhooks :]:
            assert received.verified, received.refusal
            world.check(index, "a webhook", received.body.decode())
            data = received.event["data"]
            if data.get("object") == "payment" and data.get("customer_id") is not None:
                person, _ = world.payments[data["id"]]
                expected = world.people[person].email if world.live.get((person, index), False) else None
                assert data["customer_email"] == expected
        shop.seen_webhooks = len(shop.receiver.received)


def test_no_merchant_ever_reads_who_a_customer_is_without_a_live_consent(
    kleline: Kleline, clock: FakeClock, database_url: str
) -> None:
    with ExitStack() as stack:
        client = stack.enter_context(TestClient(create_app(kleline)))
        world = _world(kleline, client, create_app(kleline), stack, clock)
        assert world.pseudonym(0, 0) != world.pseudonym(0, 1) and world.pseudonym(1, 0) != world.pseudonym(1, 1)
        month = clock.now.strftime("%Y-%m")

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(steps=st.lists(STEPS, min_size=1, max_size=6))
        def sequences(steps: list[tuple[Any, ...]]) -> None:
            for step in steps:
                _step(world, step)
                _check(world, month)
            _step(world, ("deliver",))
            _check(world, month)

        sequences()
