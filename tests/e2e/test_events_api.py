"""Events and webhook endpoints over HTTP: what a merchant sees and may do, what everyone else is refused, and the
SSRF guard on endpoint URLs (default settings: no loopback or private targets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.events.outbox import record

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
PUBLIC_URL = "http://93.184.216.34/kleline/hook"  # a public address: no DNS needed
IBAN = "FR1420041010050500013M02606"


def record_event(kleline: Kleline, merchant_id: str, object_id: str, type: str = "payment.succeeded") -> str:
    """Record an event as a payment would, inside its transaction."""
    with kleline.db.transaction() as tx:
        return record(
            tx,
            type=type,
            merchant_id=merchant_id,
            object_id=object_id,
            data={"id": object_id, "amount": 1250, "currency": "EUR"},
            created_at=kleline.clock(),
        )


@dataclass
class Parties:
    """Everyone who may knock: an operator, this merchant, another merchant, a customer (and nobody)."""

    operator: str
    merchant_id: str
    merchant: str
    other_merchant_id: str
    other_merchant: str
    customer: str

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "nobody" else bearer(getattr(self, who))


@pytest.fixture
def parties(client: TestClient, kleline: Kleline) -> Parties:
    mine, mine_key = kleline.merchants.register(name="Librairie du Bac", email="a@example.org", iban=IBAN)
    theirs, theirs_key = kleline.merchants.register(name="Autre Boutique", email="b@example.org", iban=IBAN)
    response = client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada"})
    assert response.status_code == 201, response.text
    token = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD}).json()["token"]
    return Parties(operator_key(kleline.db), mine.id, mine_key, theirs.id, theirs_key, token)


def create_endpoint(client: TestClient, key: str, url: str = PUBLIC_URL) -> dict[str, Any]:
    response = client.post("/v1/webhook-endpoints", json={"url": url}, headers=bearer(key))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- endpoints -----------------------------------------------------------------------------------------------------


def test_a_merchant_registers_an_endpoint_and_sees_its_secret_once(client: TestClient, parties: Parties) -> None:
    created = create_endpoint(client, parties.merchant)
    assert created["id"].startswith("we_") and created["secret"].startswith("whsec_")
    assert len(created["secret"]) > 40
    assert (created["url"], created["status"], created["disabled_reason"]) == (PUBLIC_URL, "enabled", None)
    listed = client.get("/v1/webhook-endpoints", headers=bearer(parties.merchant)).json()
    assert [e["id"] for e in listed["data"]] == [created["id"]] and listed["has_more"] is False
    assert "secret" not in listed["data"][0]
    fetched = client.get(f"/v1/webhook-endpoints/{created['id']}", headers=bearer(parties.merchant)).json()
    assert "secret" not in fetched and fetched["id"] == created["id"]


def test_the_secret_is_stored_sealed(client: TestClient, kleline: Kleline, parties: Parties) -> None:
    created = create_endpoint(client, parties.merchant)
    with kleline.db.transaction(write=False) as tx:
        row = tx.fetchone("SELECT * FROM webhook_endpoints WHERE id = :id", {"id": created["id"]})
    stored = b"".join(value if isinstance(value, bytes) else str(value).encode() for value in row)
    assert created["secret"].encode() not in stored
    assert created["secret"].removeprefix("whsec_").encode() not in stored
    assert kleline.webhook_endpoints.secret(created["id"]) == created["secret"]


def test_endpoints_list_in_pages_and_delete(client: TestClient, parties: Parties, clock: FakeClock) -> None:
    ids = []
    for n in range(3):
        ids.append(create_endpoint(client, parties.merchant, f"{PUBLIC_URL}/{n}")["id"])
        clock.advance(seconds=1)
    page = client.get("/v1/webhook-endpoints?limit=2", headers=bearer(parties.merchant)).json()
    assert [e["id"] for e in page["data"]] == [ids[2], ids[1]] and page["has_more"] is True
    rest = client.get(f"/v1/webhook-endpoints?limit=2&starting_after={ids[1]}", headers=bearer(parties.merchant))
    assert [e["id"] for e in rest.json()["data"]] == [ids[0]] and rest.json()["has_more"] is False
    assert client.delete(f"/v1/webhook-endpoints/{ids[1]}", headers=bearer(parties.merchant)).status_code == 204
    remaining = client.get("/v1/webhook-endpoints", headers=bearer(parties.merchant)).json()["data"]
    assert [e["id"] for e in remaining] == [ids[2], ids[0]]
    problem(client.delete(f"/v1/webhook-endpoints/{ids[1]}", headers=bearer(parties.merchant)), 404, "not_found")


def test_a_merchant_may_have_sixteen_endpoints_at_most(client: TestClient, parties: Parties) -> None:
    for n in range(16):
        create_endpoint(client, parties.merchant, f"{PUBLIC_URL}/{n}")
    response = client.post("/v1/webhook-endpoints", json={"url": PUBLIC_URL}, headers=bearer(parties.merchant))
    problem(response, 409, "too_many_webhook_endpoints")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://localhost:8000/hook",
        "http://192.168.0.10/hook",
        "ftp://93.184.216.34/hook",
        "https://user:secret@93.184.216.34/hook",
        "not a url",
    ],
)
def test_endpoint_urls_aiming_inside_or_malformed_are_refused(client: TestClient, parties: Parties, url: str) -> None:
    response = client.post("/v1/webhook-endpoints", json={"url": url}, headers=bearer(parties.merchant))
    body = problem(response, 400, "invalid_webhook_url")
    assert body["param"] == "url"
    assert client.get("/v1/webhook-endpoints", headers=bearer(parties.merchant)).json()["data"] == []


# -- events --------------------------------------------------------------------------------------------------------


def test_a_merchant_lists_its_own_events_newest_first(client: TestClient, kleline: Kleline, parties: Parties) -> None:
    ids = [
        record_event(kleline, parties.merchant_id, "pay_1", "payment.authorized"),
        record_event(kleline, parties.merchant_id, "pay_1", "payment.succeeded"),
        record_event(kleline, parties.merchant_id, "pay_2", "payment.failed"),
    ]
    record_event(kleline, parties.other_merchant_id, "pay_9")
    body = client.get("/v1/events", headers=bearer(parties.merchant)).json()
    assert [e["id"] for e in body["data"]] == ids[::-1] and body["has_more"] is False
    first = body["data"][-1]
    assert first == {
        "id": ids[0],
        "type": "payment.authorized",
        "created_at": "2026-01-15T09:30:00.000000Z",
        "data": {"id": "pay_1", "amount": 1250, "currency": "EUR"},
    }
    page = client.get("/v1/events?limit=1", headers=bearer(parties.merchant)).json()
    assert [e["id"] for e in page["data"]] == [ids[2]] and page["has_more"] is True
    after = client.get(f"/v1/events?limit=1&starting_after={ids[2]}", headers=bearer(parties.merchant)).json()
    assert [e["id"] for e in after["data"]] == [ids[1]]
    only = client.get("/v1/events?type=payment.succeeded", headers=bearer(parties.merchant)).json()["data"]
    assert [e["id"] for e in only] == [ids[1]]
    assert client.get(f"/v1/events/{ids[0]}", headers=bearer(parties.merchant)).json() == first


def test_paging_after_another_merchants_event_is_not_found(
    client: TestClient, kleline: Kleline, parties: Parties
) -> None:
    theirs = record_event(kleline, parties.other_merchant_id, "pay_9")
    response = client.get(f"/v1/events?starting_after={theirs}", headers=bearer(parties.merchant))
    assert problem(response, 404, "not_found")["param"] == "starting_after"


def test_deliveries_and_redelivery_over_http(client: TestClient, kleline: Kleline, parties: Parties) -> None:
    endpoint = create_endpoint(client, parties.merchant)
    event_id = record_event(kleline, parties.merchant_id, "pay_1")
    deliveries = client.get(f"/v1/events/{event_id}/deliveries", headers=bearer(parties.merchant)).json()
    (delivery,) = deliveries["data"]
    assert delivery["id"].startswith("wd_")
    assert (delivery["endpoint_id"], delivery["url"], delivery["status"]) == (endpoint["id"], PUBLIC_URL, "pending")
    assert delivery["attempts"] == [] and delivery["next_attempt_at"] == "2026-01-15T09:30:00.000000Z"
    response = client.post(f"/v1/events/{event_id}/redeliver", headers=bearer(parties.merchant))
    assert response.status_code == 202, response.text
    assert [d["id"] for d in response.json()["data"]] == [delivery["id"]]  # still pending: brought forward


# -- who may call what ---------------------------------------------------------------------------------------------

CALLS = [
    ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/{endpoint}"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint}"),
    ("GET", "/v1/events"),
    ("GET", "/v1/events/{event}"),
    ("GET", "/v1/events/{event}/deliveries"),
    ("POST", "/v1/events/{event}/redeliver"),
]
WHO = {"merchant": None, "other_merchant": 404, "operator": 403, "customer": 403, "nobody": 401}
CODES = {403: "forbidden", 404: "not_found"}


def snapshot(kleline: Kleline) -> tuple[Any, ...]:
    """Everything the events calls could change."""
    with kleline.db.transaction(write=False) as tx:
        return tuple(
            tuple(tx.fetchall(f"SELECT * FROM {table} ORDER BY 1"))
            for table in ("events", "webhook_endpoints", "webhook_deliveries", "webhook_attempts")
        )


@pytest.mark.parametrize("who", list(WHO))
def test_only_the_merchant_itself_may_call(client: TestClient, kleline: Kleline, parties: Parties, who: str) -> None:
    for method, path in CALLS:
        endpoint = create_endpoint(client, parties.merchant)
        event_id = record_event(kleline, parties.merchant_id, "pay_1")
        url = path.format(endpoint=endpoint["id"], event=event_id)
        body = {"url": PUBLIC_URL} if method == "POST" and "webhook" in path else None
        before = snapshot(kleline)
        response = client.request(method, url, json=body, headers=parties.headers(who))
        expected = WHO[who]
        if expected is None:
            assert response.status_code in (200, 201, 202, 204), (method, path, response.text)
            continue
        lists = method == "GET" and path in ("/v1/events", "/v1/webhook-endpoints")
        if who == "other_merchant" and (lists or (method == "POST" and "webhook" in path)):
            # Its own list, or its own new endpoint: nothing of this merchant's is shown or touched.
            assert response.status_code in (200, 201), (method, path, response.text)
            assert endpoint["id"] not in response.text and event_id not in response.text
            continue
        problem(response, expected, response.json().get("code", "") if expected == 401 else CODES[expected])
        assert snapshot(kleline) == before, (method, path, who)  # nothing moved
