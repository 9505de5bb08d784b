"""Rate limits per client over HTTP: sign-in and sign-up, on the API and on the pages, with one count per address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from .http import problem

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGN_IN_RATE, SIGN_UP_RATE = 5, 3


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(
        load_settings(database_url=database_url, sign_in_rate=SIGN_IN_RATE, sign_up_rate=SIGN_UP_RATE), clock=clock
    )
    try:
        yield system
    finally:
        system.close()


def client_at(kleline: Kleline, address: str) -> TestClient:
    return TestClient(create_app(kleline), follow_redirects=False, client=(address, 40000))


@pytest.fixture
def attacker(kleline: Kleline) -> Iterator[TestClient]:
    with client_at(kleline, "203.0.113.66") as client:
        yield client


@pytest.fixture
def bystander(kleline: Kleline) -> Iterator[TestClient]:
    with client_at(kleline, "198.51.100.5") as client:
        yield client


def sign_in(client: TestClient, email: str = "ada@example.org", password: str = PASSWORD) -> int:
    return client.post("/v1/auth/token", json={"email": email, "password": password}).status_code


def sign_up(client: TestClient, n: int) -> int:
    body = {"email": f"user{n}@example.org", "password": PASSWORD, "name": f"User {n}"}
    return client.post("/v1/customers", json=body).status_code


def test_sign_in_past_the_limit_gets_429_with_retry_after_and_another_client_is_not_affected(
    kleline: Kleline, attacker: TestClient, bystander: TestClient, clock: FakeClock
) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    clock.advance(seconds=50)  # 09:30:50: the minute's window ends in 10 seconds
    guesses = [sign_in(attacker, f"guess{n}@example.org") for n in range(SIGN_IN_RATE)]
    assert guesses == [401] * SIGN_IN_RATE
    refused = attacker.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD})
    body = problem(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "10" and "try again in 10 seconds" in body["detail"]
    assert sign_in(bystander) == 201
    clock.advance(seconds=10)
    assert sign_in(attacker) == 201


def test_sign_up_past_the_limit_gets_429_with_retry_after(
    attacker: TestClient, bystander: TestClient, clock: FakeClock
) -> None:
    assert [sign_up(attacker, n) for n in range(SIGN_UP_RATE)] == [201] * SIGN_UP_RATE
    refused = attacker.post(
        "/v1/customers", json={"email": "more@example.org", "password": PASSWORD, "name": "One More"}
    )
    problem(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "1800"  # the hour's window began at 09:00
    assert sign_up(bystander, 99) == 201
    clock.advance(minutes=30)
    assert sign_up(attacker, 100) == 201


def test_forty_concurrent_sign_ins_from_one_client_let_exactly_the_limit_through(attacker: TestClient) -> None:
    with ThreadPoolExecutor(40) as threads:
        statuses = list(threads.map(lambda n: sign_in(attacker, f"guess{n}@example.org"), range(40)))
    assert statuses.count(401) == SIGN_IN_RATE and statuses.count(429) == 40 - SIGN_IN_RATE


def form_post(client: TestClient, path: str, **fields: str) -> tuple[int, str, str | None]:
    found = _CSRF.search(client.get(path).text)
    assert found
    response = client.post(path, data={"csrf_token": found.group(1), **fields})
    return response.status_code, response.text, response.headers.get("Retry-After")


def test_the_pages_forms_share_the_api_s_count_and_say_so_in_the_form(
    kleline: Kleline, attacker: TestClient, bystander: TestClient
) -> None:
    kleline.customers.sign_up("ada@example.org", PASSWORD, "Ada")
    for n in range(SIGN_IN_RATE - 1):
        assert sign_in(attacker, f"guess{n}@example.org") == 401
    assert form_post(attacker, "/sign-in", email="guess@example.org", password="a guess")[0] == 400  # the last one
    status, page, retry_after = form_post(attacker, "/sign-in", email="ada@example.org", password=PASSWORD)
    assert (status, retry_after) == (429, "60")  # 09:30:00: a whole minute to wait
    assert 'role="alert"' in page and "rate_limited" in page
    assert "Too many attempts from your connection: try again in 60 seconds" in page
    assert form_post(bystander, "/sign-in", email="ada@example.org", password=PASSWORD)[0] == 303
    for n in range(SIGN_UP_RATE):
        assert sign_up(attacker, n) == 201
    status, page, retry_after = form_post(
        attacker, "/sign-up", name="Grace", email="grace@example.org", password=PASSWORD
    )
    assert (status, retry_after) == (429, "1800")
    assert "rate_limited" in page and "Too many attempts from your connection: try again in 30 minutes" in page
    typo = form_post(attacker, "/sign-up", name="Grace", email="grace@", password=PASSWORD)
    assert typo[0] == 400 and "rate_limited" not in typo[1]  # a form with mistakes never counts, nor is refused


def test_the_openapi_document_tells_of_the_429_on_both_routes(attacker: TestClient) -> None:
    paths = attacker.get("/openapi.json").json()["paths"]
    for path in ("/v1/auth/token", "/v1/customers"):
        answer = paths[path]["post"]["responses"]["429"]
        assert "rate_limited" in answer["description"] and "Retry-After" in answer["headers"]
        assert answer["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
