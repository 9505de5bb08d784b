"""Webhooks end to end: endpoints registered over HTTP, events recorded in a transaction, the worker delivering to
a real receiver on 127.0.0.1 (``KLELINE_WEBHOOKS_ALLOW_LOOPBACK=true``) that verifies every signature."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline, build
from kleline.cli import app as cli
from kleline.config import DEVELOPMENT_MASTER_KEYS, load_settings
from kleline.events.outbox import record
from kleline.events.signature import SignatureMismatch, StaleSignature, verify
from kleline.worker.runner import Worker

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from .checkout_world import card, customer, fund, payment
from .http import bearer, problem
from .webhook_receiver import Receiver, running_receiver

IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline that may call loopback addresses (as tests and the demo configure it), with a short timeout."""
    settings = load_settings(database_url=database_url, webhooks_allow_loopback=True, webhook_timeout_seconds=1.0)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def merchant(kleline: Kleline) -> tuple[str, str]:
    """A merchant's id and secret key."""
    shop, key = kleline.merchants.register(name="Librairie du Bac", email="a@example.org", iban=IBAN)
    return shop.id, key


@pytest.fixture
def receiver(clock: FakeClock) -> Iterator[Receiver]:
    """A receiver that checks signatures against the test's clock."""
    with running_receiver(now=lambda: clock.now.timestamp()) as running:
        yield running


def register(client: TestClient, key: str, receiver: Receiver) -> dict[str, Any]:
    """Register the receiver as an endpoint and give it its secret."""
    response = client.post("/v1/webhook-endpoints", json={"url": receiver.url}, headers=bearer(key))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secret = created["secret"]
    return created


def record_event(kleline: Kleline, merchant_id: str, object_id: str, type: str, **data: Any) -> str:
    with kleline.db.transaction() as tx:
        return record(
            tx,
            type=type,
            merchant_id=merchant_id,
            object_id=object_id,
            data={"id": object_id, **data},
            created_at=kleline.clock(),
        )


def test_the_receiver_gets_signed_events_that_verify(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver
) -> None:
    register(client, merchant[1], receiver)
    event_id = record_event(kleline, merchant[0], "pay_1", "payment.succeeded", amount=1250, currency="EUR")
    report = Worker(kleline, sweeps=()).run_once()
    assert (report.deliveries.attempted, report.deliveries.delivered) == (1, 1)
    (got,) = receiver.received
    assert got.verified, got.refusal
    assert got.path == "/kleline/webhooks"
    assert got.headers["Content-Type"] == "application/json"
    assert got.event == client.get(f"/v1/events/{event_id}", headers=bearer(merchant[1])).json()
    assert got.event["data"] == {"id": "pay_1", "amount": 1250, "currency": "EUR"}


def test_the_helper_rejects_a_tampered_body_a_stale_timestamp_and_a_wrong_secret(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, merchant[1], receiver)
    record_event(kleline, merchant[0], "pay_1", "payment.succeeded", amount=1250)
    Worker(kleline, sweeps=()).run_once()
    (got,) = receiver.received
    header, body, secret, now = got.headers["Kleline-Signature"], got.body, receiver.secret, clock.now.timestamp()
    assert secret is not None
    assert verify(secret, header, body, now=now)
    with pytest.raises(SignatureMismatch):
        verify(secret, header, body.replace(b"1250", b"1"), now=now)
    with pytest.raises(StaleSignature):
        verify(secret, header, body, now=now + 3600)
    with pytest.raises(SignatureMismatch):
        verify("whsec_" + "0" * 64, header, body, now=now)
    other = register(client, merchant[1], receiver)  # another endpoint's secret is a wrong secret too
    with pytest.raises(SignatureMismatch):
        verify(other["secret"], header, body, now=now)


def test_a_receiver_that_fails_then_recovers_gets_every_event_at_least_once_in_order(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, merchant[1], receiver)
    receiver.statuses = [500, 502, 503, 500, 500]
    first = record_event(kleline, merchant[0], "pay_1", "payment.authorized")
    second = record_event(kleline, merchant[0], "pay_1", "payment.succeeded")
    third = record_event(kleline, merchant[0], "pay_1", "refund.succeeded")
    elsewhere = record_event(kleline, merchant[0], "pay_2", "payment.failed")
    worker = Worker(kleline, sweeps=())
    for _ in range(12):  # one pass at a time, the clock moved past the longest backoff in between
        worker.run_once()
        clock.advance(minutes=10)
    assert all(r.verified for r in receiver.received)
    assert len(receiver.answered(500)) + len(receiver.answered(502)) + len(receiver.answered(503)) == 5
    delivered = receiver.delivered_ids()
    assert sorted(delivered) == sorted([first, second, third, elsewhere])  # every event, once it was accepted
    pay_1 = [r.event["id"] for r in receiver.received if r.event["data"]["id"] == "pay_1"]
    # In order: the same event again and again until accepted, never the next one before it.
    assert pay_1 == sorted(pay_1, key=[first, second, third].index)
    for event_id in (first, second, third, elsewhere):
        (delivery,) = client.get(f"/v1/events/{event_id}/deliveries", headers=bearer(merchant[1])).json()["data"]
        assert delivery["status"] == "delivered"
        assert delivery["attempts"][-1]["status_code"] == 200
        assert [a["number"] for a in delivery["attempts"]] == list(range(1, len(delivery["attempts"]) + 1))


def test_an_endpoint_answering_410_is_disabled(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    endpoint = register(client, merchant[1], receiver)
    receiver.statuses = [410]
    first = record_event(kleline, merchant[0], "pay_1", "payment.authorized")
    record_event(kleline, merchant[0], "pay_1", "payment.succeeded")
    report = Worker(kleline, sweeps=()).run_once()
    assert report.deliveries.disabled == 1
    shown = client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=bearer(merchant[1])).json()
    assert (shown["status"], shown["disabled_reason"]) == ("disabled", "answered 410 Gone")
    clock.advance(hours=1)
    record_event(kleline, merchant[0], "pay_2", "payment.succeeded")
    Worker(kleline, sweeps=()).run_once()
    assert len(receiver.received) == 1  # nothing after the 410
    (delivery,) = client.get(f"/v1/events/{first}/deliveries", headers=bearer(merchant[1])).json()["data"]
    assert delivery["status"] == "canceled" and delivery["attempts"][0]["status_code"] == 410


def test_redirects_are_not_followed_and_slow_receivers_time_out(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, merchant[1], receiver)
    with running_receiver(now=receiver.now) as elsewhere:
        receiver.statuses = [307]
        receiver.extra_headers = {"Location": elsewhere.url}
        event_id = record_event(kleline, merchant[0], "pay_1", "payment.succeeded")
        Worker(kleline, sweeps=()).run_once()
        assert elsewhere.received == []
    receiver.extra_headers = {}
    receiver.delay = 2.5  # past the 1 s timeout
    clock.advance(minutes=5)
    Worker(kleline, sweeps=()).run_once()
    (delivery,) = client.get(f"/v1/events/{event_id}/deliveries", headers=bearer(merchant[1])).json()["data"]
    redirect, slow = delivery["attempts"]
    assert (redirect["status_code"], redirect["error"]) == (307, "redirects are not followed")
    assert slow["status_code"] is None and "timed out" in slow["error"]
    assert slow["duration_ms"] < 2400  # cut at the timeout, not when the receiver finally answered
    assert delivery["status"] == "pending"


def test_redeliver_sends_a_delivered_event_again(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, merchant[1], receiver)
    event_id = record_event(kleline, merchant[0], "pay_1", "payment.succeeded")
    Worker(kleline, sweeps=()).run_once()
    clock.advance(minutes=1)
    response = client.post(f"/v1/events/{event_id}/redeliver", headers=bearer(merchant[1]))
    assert response.status_code == 202
    assert [d["status"] for d in response.json()["data"]] == ["delivered", "pending"]
    Worker(kleline, sweeps=()).run_once()
    assert receiver.delivered_ids() == [event_id, event_id]
    assert all(r.verified for r in receiver.received)


def test_the_loopback_switch_lets_a_local_receiver_register_but_not_link_local(
    client: TestClient, merchant: tuple[str, str], receiver: Receiver
) -> None:
    register(client, merchant[1], receiver)
    for url in ("http://localhost:9/hook", "http://[::1]:9/hook", "http://10.1.2.3/hook"):
        response = client.post("/v1/webhook-endpoints", json={"url": url}, headers=bearer(merchant[1]))
        assert response.status_code == 201, response.text
    response = client.post(
        "/v1/webhook-endpoints", json={"url": "http://169.254.169.254/latest"}, headers=bearer(merchant[1])
    )
    problem(response, 400, "invalid_webhook_url")


def test_kleline_keys_rotate_rewraps_webhook_secrets(
    client: TestClient,
    merchant: tuple[str, str],
    receiver: Receiver,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = register(client, merchant[1], receiver)
    k2 = "k2:" + base64.b64encode(b"2" * 32).decode()
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("KLELINE_MASTER_KEYS", f"{k2},{DEVELOPMENT_MASTER_KEYS}")
    monkeypatch.setenv("COLUMNS", "240")
    result = CliRunner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-wrapped 1 webhook endpoint secret(s) under master key k2" in result.output
    rotated = build(load_settings(database_url=database_url, master_keys=k2))
    try:
        assert rotated.webhook_endpoints.secret(created["id"]) == created["secret"]
    finally:
        rotated.close()


def test_a_webhook_carries_the_email_only_if_its_consent_lives_when_it_is_delivered(
    client: TestClient, kleline: Kleline, merchant: tuple[str, str], receiver: Receiver, clock: FakeClock
) -> None:
    register(client, merchant[1], receiver)
    kleline.merchants.approve(merchant[0], actor=OPERATOR)
    ada = customer(kleline)
    fund(kleline, ada.id, card(kleline, ada.id), 2000)
    scope = f"merchant:{merchant[0]}"
    kleline.consents.grant(ada.id, "share_email", scope, channel="checkout")
    paying = payment(kleline, merchant[0], 1000, return_url=None)
    assert kleline.payments.confirm(paying.id, ada.id, "purse", None).status == "succeeded"
    stored = kleline.events.list(merchant[0], limit=10)
    assert stored and all(e.data["customer_email"] is None for e in stored)  # never kept in the event
    kleline.consents.withdraw(ada.id, "share_email", scope, channel="wallet")  # after the event, before delivery

    Worker(kleline, sweeps=()).run_once()
    pseudonym = kleline.disclosure.pseudonym(merchant[0], ada.id)
    assert receiver.received and all(r.verified for r in receiver.received)
    for delivered in receiver.received:
        data = delivered.event["data"]
        assert (data["customer_id"], data["customer_email"]) == (pseudonym, None)
        assert ada.id not in delivered.body.decode() and ada.email not in delivered.body.decode()

    kleline.consents.grant(ada.id, "share_email", scope, channel="wallet")
    clock.advance(minutes=1)
    event_id = receiver.received[-1].event["id"]
    assert client.post(f"/v1/events/{event_id}/redeliver", headers=bearer(merchant[1])).status_code == 202
    Worker(kleline, sweeps=()).run_once()
    again = receiver.received[-1]
    assert again.verified and again.event["id"] == event_id
    assert (again.event["data"]["customer_id"], again.event["data"]["customer_email"]) == (pseudonym, ada.email)
