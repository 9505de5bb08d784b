"""The property of issue 15's consent: over random sequences of consents, withdrawals, purchases, audience estimates,
offers and answers to them, nothing a merchant is given (its API's answers, webhooks as they are delivered, its
dashboard's pages, its CSV export and its statements, its offers and audiences) carries a customer's email without a
live ``share_email`` consent to that merchant (given at checkout, in the wallet, or by answering an offer), nor ever
the customer's name or their own id (``cus_``); the email shows exactly while the consent lives; two merchants know
one customer under two different pseudonyms; an offer reaches exactly the customers who agreed to hear from that
merchant (and, for an audience drawn from purchases, let their purchases count); and every figure about people a
merchant reads is "fewer than 50" or at least 50.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.privacy.audience_model import MINIMUM
from kleline.privacy.offer_model import ANSWERS
from kleline.worker.runner import Worker

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import PASSWORD, card, fund
from .dashboard_world import IBAN, DashboardVisitor, authenticator, member
from .http import bearer
from .webhook_receiver import Receiver, running_receiver

CUSTOMERS = (("Zéphyrine Quillfeather", "zephyrine@example.org"), ("Barnabé Oakenshield", "barnabe@example.net"))
SHOPS = ("Librairie Kléber", "Fromagerie Vaubourg")
KINDS = ("books", "grocery")  # the shops' categories; both shops are in one mall
HEARING = ("mall:mall", "category:books", "category:grocery")
"""What an ``offers`` consent covers: the mall (both shops), or one shop's category."""
AUDIENCES: tuple[dict[str, str], ...] = (
    {},  # whoever agreed to hear from the shop
    {"mall_id": "mall"},  # ... and bought in the mall ("mall": its id), letting their purchases count
    {"category": "grocery", "recency": "30_days"},  # ... and bought at a grocer's lately, letting purchases count
)

customers = st.integers(0, len(CUSTOMERS) - 1)
shops = st.integers(0, len(SHOPS) - 1)
audiences = st.integers(0, len(AUDIENCES) - 1)
granting = st.sampled_from((True, True, False))  # a consent granted (True) more often than withdrawn
replies = st.one_of(st.none(), st.sampled_from(ANSWERS))
STEPS = st.one_of(
    st.tuples(st.just("grant"), customers, shops),
    st.tuples(st.just("withdraw"), customers, shops),
    st.tuples(st.just("buy"), customers, shops, st.booleans()),  # the boolean: "share my email" ticked
    st.tuples(st.just("deliver")),  # the worker delivers the webhooks due
    st.tuples(st.just("hear"), customers, st.integers(0, len(HEARING) - 1), granting),  # the offers consent
    st.tuples(st.just("count"), customers, granting),  # the audience_statistics consent
    st.tuples(st.just("estimate"), shops, audiences, st.booleans()),  # the boolean: on the dashboard, or by the API
    # The shop sends an offer to the audience (API); then each customer it reached answers it, or not (None).
    st.tuples(st.just("offer"), shops, audiences, st.tuples(*[replies for _ in CUSTOMERS])),
    st.tuples(st.just("answer"), customers, st.sampled_from(ANSWERS), st.integers(0, 7)),  # a later answer, or another
)
STORY: list[tuple[Any, ...]] = [
    ("hear", 0, 0, True),  # Zéphyrine hears offers from the mall's shops
    ("hear", 1, 2, True),  # Barnabé from grocers', and lets his purchases count; he buys at the cheesemonger's
    ("count", 1, True),
    ("buy", 1, 1, False),
    ("buy", 0, 0, False),  # Zéphyrine buys at the bookshop, but does not let her purchases count
    ("offer", 1, 2, (None, "share_email")),  # the cheesemonger's offer to recent grocery buyers: Barnabé only
    ("offer", 0, 1, ("interested", None)),  # the bookshop's to mall buyers: nobody (Zéphyrine's purchases do not count)
    ("offer", 0, 0, ("interested", "share_email")),  # the bookshop's to all who hear it: Zéphyrine only
    ("answer", 0, "not_interested", 0),  # refused: she answered already
    ("withdraw", 1, 1),  # Barnabé takes his email back from the cheesemonger
    ("hear", 0, 0, False),
    ("offer", 0, 0, ("share_email", "share_email")),  # nobody hears the bookshop now
]
"""A sequence that goes through every kind of step, before the random ones."""


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
        audience_monthly_budget_milli=1_000_000,  # 2,000 estimates or offers a month: the budget is tested elsewhere
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
    owner: DashboardVisitor  # the shop's owner: only an owner estimates audiences and sends offers
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
    mall_id: str
    live: dict[tuple[int, int], bool] = field(default_factory=dict)
    payments: dict[str, tuple[int, int]] = field(default_factory=dict)  # payment id -> (customer, shop)
    hears: dict[tuple[int, int], bool] = field(default_factory=dict)  # (customer, HEARING index) -> offers consent
    counts: dict[int, bool] = field(default_factory=dict)  # customer -> audience_statistics consent
    bought: dict[int, set[int]] = field(default_factory=dict)  # customer -> the shops they bought at
    offers: dict[str, int] = field(default_factory=dict)  # offer id -> its shop
    received: dict[int, set[str]] = field(default_factory=dict)  # customer -> the offers in their inbox
    answers: dict[tuple[int, str], str] = field(default_factory=dict)  # (customer, offer id) -> their answer

    def hearing(self, index: int) -> str:
        """``HEARING[index]`` as the API takes it."""
        return HEARING[index].replace(":mall", f":{self.mall_id}")

    def audience(self, index: int) -> dict[str, str]:
        """``AUDIENCES[index]`` as the API takes it."""
        return {name: self.mall_id if value == "mall" else value for name, value in AUDIENCES[index].items()}

    def members(self, shop: int, audience: int) -> set[int]:
        """Who an offer of ``shop`` to ``AUDIENCES[audience]`` reaches now: whoever agreed to hear offers from the
        mall or the shop's category, and, for an audience drawn from purchases, lets them count and bought there."""
        covering = {0, 1 + shop}  # the mall, the shop's category
        reached = set()
        for person in range(len(self.people)):
            if not any(self.hears.get((person, scope), False) for scope in covering):
                continue
            bought = self.bought.get(person, set())
            if audience == 0 or (self.counts.get(person, False) and (bought if audience == 1 else 1 in bought)):
                reached.add(person)
        return reached

    def answered(self, offer_id: str) -> int:
        """How many answered the offer so as to make themselves known (what its merchant is told)."""
        return sum(1 for (_, offer), answer in self.answers.items() if offer == offer_id and answer != "not_interested")

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
    mall = kleline.malls.create("Passage des Halles", "passage-des-halles", actor=OPERATOR)
    shops = []
    for index, name in enumerate(SHOPS):
        registered, secret = kleline.merchants.register(
            name=name, email="shop@example.fr", iban=IBAN, category=KINDS[index], mall_ids=[mall.id]
        )
        shop_id = kleline.merchants.approve(registered.id, actor=OPERATOR).id
        receiver = stack.enter_context(running_receiver(now=lambda: clock.now.timestamp()))
        created = client.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=bearer(secret))
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        email = f"accounts{index}@shop.example"
        member(kleline, shop_id, email, "accountant")
        dashboard = DashboardVisitor(TestClient(pages, follow_redirects=False))  # a browser of its own
        dashboard.sign_in_dashboard(email, next_path="/dashboard/payments")
        owner_email = f"owner{index}@shop.example"
        totp = authenticator(kleline, member(kleline, shop_id, owner_email), clock)
        owner = DashboardVisitor(TestClient(pages, follow_redirects=False))
        owner.sign_in_dashboard(owner_email, totp, at=clock.now, next_path="/dashboard/offers")
        shops.append(Shop(shop_id, bearer(secret), receiver, dashboard, owner))
    people = []
    for name, email in CUSTOMERS:
        signed_up = kleline.customers.sign_up(email, PASSWORD, name)
        fund(kleline, signed_up.id, card(kleline, signed_up.id), 15_000)
        token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
        people.append(Person(signed_up.id, name, email, bearer(token)))
    return World(kleline, client, shops, people, mall.id)


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
        world.bought.setdefault(person, set()).add(shop)
        if sharing:
            world.live[(person, shop)] = True
    elif kind in ("hear", "count"):
        person, granting = step[1], step[-1]
        body = {
            "purpose": "offers" if kind == "hear" else "audience_statistics",
            "scope": world.hearing(step[2]) if kind == "hear" else "",
        }
        path = "/v1/wallet/consents" + ("" if granting else "/withdraw")
        answer = client.post(path, json=body, headers=world.people[person].token)
        assert answer.status_code == 200 and answer.json()["granted"] is granting, answer.text
        if kind == "hear":
            world.hears[(person, step[2])] = granting
        else:
            world.counts[person] = granting
    elif kind == "estimate":
        _estimate(world, step[1], step[2], on_dashboard=step[3])
    elif kind == "offer":
        _offer(world, step[1], step[2], step[3])
    elif kind == "answer":
        _answer(world, step[1], step[2], step[3])
    else:
        report = Worker(world.kleline, sweeps=()).run_once()
        assert report.deliveries.failed == 0


def _reach(figure: int | None) -> None:
    """A figure about people is never below the minimum: "fewer than 50" (null), or at least 50."""
    assert figure is None or figure >= MINIMUM, figure


def _estimate(world: World, shop: int, audience: int, *, on_dashboard: bool) -> None:
    """The shop estimates the audience's size, on its dashboard (owner) or by the API."""
    if on_dashboard:
        owner = world.shops[shop].owner
        owner.get("/dashboard/audiences")
        fields = {name: "" for name in ("mall_id", "category", "spend", "recency")} | world.audience(audience)
        page = owner.post("/dashboard/audiences", **fields)
        assert page.status_code == 200, page.text
        world.check(shop, "the dashboard's estimate", page.text)
        shown = re.search(r'id="estimate">([^<]*)<', page.text)
        assert shown is not None, page.text
        about = re.fullmatch(r"About ([\d,]+) customers", shown.group(1))
        assert shown.group(1) == f"Fewer than {MINIMUM} customers" or (
            about is not None and int(about.group(1).replace(",", "")) >= MINIMUM
        ), shown.group(1)
    else:
        answer = world.client.post(
            "/v1/audiences/estimate", json=world.audience(audience), headers=world.shops[shop].key
        )
        assert answer.status_code == 200, answer.text
        world.check(shop, "an estimate", answer.text)
        _reach(answer.json()["size"])


def _offer(world: World, shop: int, audience: int, replies: tuple[str | None, ...]) -> None:
    """The shop sends an offer to the audience by its API: it lands in the inbox of exactly the audience's members,
    who answer it with ``replies`` (one per customer; None: no answer)."""
    body = {
        "title": f"Offre n° {len(world.offers) + 1}",
        "body": "Dix pour cent sur tout, jusqu'à la fin du mois.",
        "link": "https://shop.example/offre",
        "valid_until": (world.kleline.clock() + timedelta(days=60)).isoformat(),
        "audience": world.audience(audience),
    }
    sent = world.client.post("/v1/offers", json=body, headers=world.shops[shop].key)
    assert sent.status_code == 201, sent.text
    world.check(shop, "POST /v1/offers", sent.text)
    offer = sent.json()
    _reach(offer["reach"])
    assert offer["answered"] == 0
    world.offers[offer["id"]] = shop
    reached = world.members(shop, audience)
    for person in reached:
        world.received.setdefault(person, set()).add(offer["id"])
    for person, reply in enumerate(replies):
        if reply is not None and person in reached:
            _reply(world, person, offer["id"], reply)


def _answer(world: World, person: int, reply: str, pick: int) -> None:
    """The customer answers one of the offers in their inbox, if any."""
    inbox = sorted(world.received.get(person, set()))
    if inbox:
        _reply(world, person, inbox[pick % len(inbox)], reply)


def _reply(world: World, person: int, offer_id: str, reply: str) -> None:
    """The customer answers the offer: once; the same answer again changes nothing, another is refused;
    ``share_email`` grants the offer's shop the customer's email."""
    given = world.answers.get((person, offer_id))
    answered = world.client.post(
        f"/v1/wallet/offers/{offer_id}/answer", json={"answer": reply}, headers=world.people[person].token
    )
    if given not in (None, reply):
        assert answered.status_code == 409 and answered.json()["code"] == "offer_already_answered", answered.text
        return
    assert answered.status_code == 200 and answered.json()["answer"] == reply, answered.text
    if given is None:
        world.answers[(person, offer_id)] = reply
        if reply == "share_email":
            world.live[(person, world.offers[offer_id])] = True


def _check_offers(world: World, index: int, shop: Shop) -> None:
    """What the shop reads of its offers and audiences: reach and answers, never a person."""
    client, key = world.client, shop.key
    listed = client.get("/v1/offers", params={"limit": 100}, headers=key)
    assert listed.status_code == 200, listed.text
    world.check(index, "GET /v1/offers", listed.text)
    offers = listed.json()["data"]
    assert {offer["id"] for offer in offers} == {o for o, at in world.offers.items() if at == index}
    for offer in offers:
        _reach(offer["reach"])
        assert offer["answered"] == world.answered(offer["id"]), offer
    for offer in offers[:2]:
        one = client.get(f"/v1/offers/{offer['id']}", headers=key)
        assert one.status_code == 200, one.text
        world.check(index, f"GET /v1/offers/{offer['id']}", one.text)
        assert one.json()["reach"] == offer["reach"] and one.json()["answered"] == offer["answered"]
    for path in ("/dashboard/offers", "/dashboard/audiences"):
        page = shop.owner.get(path)
        assert page.status_code == 200, page.text
        world.check(index, f"the dashboard's {path}", page.text)


def _check_inboxes(world: World) -> None:
    """Each customer's inbox holds exactly the offers the model says reached them, answered as they answered."""
    for person, who in enumerate(world.people):
        inbox = world.client.get("/v1/wallet/offers", params={"limit": 100}, headers=who.token)
        assert inbox.status_code == 200 and not inbox.json()["has_more"], inbox.text
        held = {offer["id"]: offer["answer"] for offer in inbox.json()["data"]}
        assert held == {o: world.answers.get((person, o)) for o in world.received.get(person, set())}


def _check(world: World, month: str) -> None:
    _check_inboxes(world)
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
        _check_offers(world, index, shop)


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
        @example(steps=STORY)
        def sequences(steps: list[tuple[Any, ...]]) -> None:
            for step in steps:
                _step(world, step)
                _check(world, month)
            _step(world, ("deliver",))
            _check(world, month)

        sequences()
