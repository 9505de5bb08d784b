"""Idempotency-Key over HTTP: replays, refusals, concurrent duplicates, retention, and a storm on a real server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import BackgroundTasks, FastAPI, Response
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.clock import system_clock
from kleline.ledger.audit import trial_balance

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
VISA = "4242424242424242"
ADA = {"email": "ada@example.org", "password": PASSWORD, "name": "Ada"}


class Probes:
    """Endpoints that exist only in this module's app, to make a request slow or fail on purpose."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {"slow": 0, "flaky": 0, "unavailable": 0, "after": 0}
        self.entered = threading.Event()
        self.gate = threading.Event()

    def install(self, app: FastAPI) -> None:
        @app.post("/v1/test/slow", status_code=201)
        def slow() -> dict[str, int]:
            self.calls["slow"] += 1
            self.entered.set()
            assert self.gate.wait(30)
            return {"call": self.calls["slow"]}

        @app.post("/v1/test/flaky", status_code=201)
        def flaky(response: Response) -> dict[str, int]:
            self.calls["flaky"] += 1
            if self.calls["flaky"] == 1:
                raise RuntimeError("the first call breaks")
            response.headers["Location"] = f"/v1/test/things/{self.calls['flaky']}"
            return {"call": self.calls["flaky"]}

        @app.post("/v1/test/after", status_code=201)
        def after(tasks: BackgroundTasks) -> dict[str, int]:
            self.calls["after"] += 1
            tasks.add_task(self.fail_after_the_answer)
            return {"call": self.calls["after"]}

        @app.post("/v1/test/unavailable")
        def unavailable() -> Response:
            self.calls["unavailable"] += 1
            return Response(b"down", status_code=503, media_type="text/plain")

    @staticmethod
    def fail_after_the_answer() -> None:
        raise RuntimeError("a background task fails once the answer is sent")


@pytest.fixture
def routes() -> Probes:
    return Probes()


@pytest.fixture
def app(kleline: Kleline, routes: Probes) -> FastAPI:
    application = create_app(kleline)
    routes.install(application)
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def count(kleline: Kleline, table: str) -> int:
    with kleline.db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0])


def keyed(key: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "Idempotency-Key": key}


def assert_same_answer(first: httpx.Response, replay: httpx.Response) -> None:
    assert (replay.status_code, replay.content) == (first.status_code, first.content)
    assert replay.headers["content-type"] == first.headers["content-type"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


def wallet(client: TestClient, email: str) -> tuple[dict[str, str], str]:
    """A signed-up, signed-in customer with a card: (headers, card id)."""
    assert client.post("/v1/customers", json={**ADA, "email": email}).status_code == 201
    token = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD}).json()["token"]
    headers = bearer(token)
    card = client.post(
        "/v1/wallet/cards",
        json={"number": VISA, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "A Customer"},
        headers=headers,
    )
    assert card.status_code == 201, card.text
    return headers, card.json()["id"]


def test_a_retried_sign_up_returns_the_first_answer_and_opens_one_wallet(client: TestClient, kleline: Kleline) -> None:
    first = client.post("/v1/customers", json=ADA, headers=keyed("sign-up-1"))
    assert first.status_code == 201
    # The retry serialises its JSON differently: same keys in another order, other spacing.
    retry = client.post(
        "/v1/customers",
        content=b'{ "name": "Ada",\n "password": "correct horse battery staple", "email": "ada@example.org" }',
        headers=keyed("sign-up-1", {"Content-Type": "application/json"}),
    )
    assert_same_answer(first, retry)
    assert count(kleline, "customers") == 1


def test_without_the_header_a_repeated_post_runs_again(client: TestClient, kleline: Kleline) -> None:
    assert client.post("/v1/customers", json=ADA).status_code == 201
    problem(client.post("/v1/customers", json=ADA), 409, "email_taken")
    assert count(kleline, "idempotency_records") == 0


def test_the_same_key_with_another_body_or_path_is_refused(client: TestClient, kleline: Kleline) -> None:
    assert client.post("/v1/customers", json=ADA, headers=keyed("k")).status_code == 201
    problem(
        client.post("/v1/customers", json={**ADA, "name": "Eve"}, headers=keyed("k")), 409, "idempotency_key_reused"
    )
    credentials = {"email": ADA["email"], "password": PASSWORD}
    problem(client.post("/v1/auth/token", json=credentials, headers=keyed("k")), 409, "idempotency_key_reused")
    problem(client.post("/v1/customers?x=1", json=ADA, headers=keyed("k")), 409, "idempotency_key_reused")
    assert count(kleline, "customers") == 1
    assert count(kleline, "customer_tokens") == 0


def test_a_retried_top_up_charges_the_card_and_credits_the_purse_once(client: TestClient, kleline: Kleline) -> None:
    headers, card = wallet(client, "ada@example.org")
    body = {"amount": 2500, "currency": "EUR", "card_id": card}
    first = client.post("/v1/wallet/top-ups", json=body, headers=keyed("top-up-1", headers))
    assert first.status_code == 201 and first.json()["status"] == "succeeded"
    for _ in range(3):
        assert_same_answer(first, client.post("/v1/wallet/top-ups", json=body, headers=keyed("top-up-1", headers)))
    assert count(kleline, "top_ups") == 1
    assert client.get("/v1/wallet", headers=headers).json()["purse"]["balance"] == 2500
    assert kleline.ledger.balance("card:visa:receivable").posted == 2500


def test_two_callers_may_use_the_same_key_string_independently(client: TestClient, kleline: Kleline) -> None:
    ada, ada_card = wallet(client, "ada@example.org")
    bob, bob_card = wallet(client, "bob@example.org")
    to_ada = client.post(
        "/v1/wallet/top-ups", json={"amount": 1000, "currency": "EUR", "card_id": ada_card}, headers=keyed("1", ada)
    )
    to_bob = client.post(
        "/v1/wallet/top-ups", json={"amount": 700, "currency": "EUR", "card_id": bob_card}, headers=keyed("1", bob)
    )
    assert (to_ada.status_code, to_bob.status_code) == (201, 201)
    assert "idempotent-replayed" not in to_bob.headers
    assert to_ada.json()["id"] != to_bob.json()["id"]
    assert client.get("/v1/wallet", headers=ada).json()["purse"]["balance"] == 1000
    assert client.get("/v1/wallet", headers=bob).json()["purse"]["balance"] == 700


@pytest.mark.parametrize(
    "headers",
    [
        [("Idempotency-Key", "")],
        [("Idempotency-Key", "x" * 256)],
        [("Idempotency-Key", "café".encode())],
        [("Idempotency-Key", "one"), ("Idempotency-Key", "two")],
    ],
    ids=["empty", "too-long", "not-ascii", "twice"],
)
def test_a_malformed_key_is_a_validation_error_and_runs_nothing(
    client: TestClient, kleline: Kleline, headers: list[tuple[str, str | bytes]]
) -> None:
    response = client.post("/v1/customers", json=ADA, headers=httpx.Headers(headers))
    assert problem(response, 400, "validation_error")["param"] == "Idempotency-Key"
    assert count(kleline, "customers") == 0


def test_a_4xx_answer_is_kept_and_replayed(client: TestClient, kleline: Kleline) -> None:
    headers, _card = wallet(client, "ada@example.org")
    body = {"amount": 1000, "currency": "EUR", "card_id": "card_unknown"}
    first = client.post("/v1/wallet/top-ups", json=body, headers=keyed("k", headers))
    problem(first, 404, "not_found")
    assert_same_answer(first, client.post("/v1/wallet/top-ups", json=body, headers=keyed("k", headers)))
    invalid = client.post("/v1/customers", json={"email": "x"}, headers=keyed("k2"))
    problem(invalid, 400, "validation_error")
    assert_same_answer(invalid, client.post("/v1/customers", json={"email": "x"}, headers=keyed("k2")))


def test_a_refused_sign_in_is_not_kept_so_the_key_works_once_the_wallet_exists(
    client: TestClient, kleline: Kleline
) -> None:
    credentials = {"email": ADA["email"], "password": PASSWORD}
    refused = client.post("/v1/auth/token", json=credentials, headers=keyed("sign-in"))
    problem(refused, 401, "invalid_credentials")
    assert "idempotent-replayed" not in refused.headers
    assert count(kleline, "idempotency_records") == 0
    assert client.post("/v1/customers", json=ADA).status_code == 201
    signed_in = client.post("/v1/auth/token", json=credentials, headers=keyed("sign-in"))
    assert signed_in.status_code == 201
    assert_same_answer(signed_in, client.post("/v1/auth/token", json=credentials, headers=keyed("sign-in")))
    assert count(kleline, "customer_tokens") == 1


def test_a_key_of_the_wrong_kind_is_refused_every_time_and_nothing_is_kept(
    client: TestClient, kleline: Kleline
) -> None:
    operator = bearer(operator_key(kleline.db))
    body = {"amount": 1000, "currency": "EUR", "card_id": "card_1"}
    for _ in range(2):
        refused = client.post("/v1/wallet/top-ups", json=body, headers=keyed("k", operator))
        problem(refused, 403, "forbidden")
        assert "idempotent-replayed" not in refused.headers
    assert count(kleline, "idempotency_records") == 0


def test_a_server_error_is_not_kept_so_a_retry_runs_again(client: TestClient, routes: Probes) -> None:
    problem(client.post("/v1/test/flaky", json={}, headers=keyed("k")), 500, "internal_error")
    second = client.post("/v1/test/flaky", json={}, headers=keyed("k"))
    assert (second.status_code, second.json()) == (201, {"call": 2})
    replay = client.post("/v1/test/flaky", json={}, headers=keyed("k"))
    assert_same_answer(second, replay)
    assert replay.headers["location"] == second.headers["location"] == "/v1/test/things/2"
    assert routes.calls["flaky"] == 2

    for expected_calls in (1, 2):
        unavailable = client.post("/v1/test/unavailable", headers=keyed("k-503"))
        assert (unavailable.status_code, unavailable.content) == (503, b"down")
        assert routes.calls["unavailable"] == expected_calls


def test_an_answer_already_sent_when_a_background_task_fails_is_kept(client: TestClient, routes: Probes) -> None:
    first = client.post("/v1/test/after", headers=keyed("k"))
    assert (first.status_code, first.json()) == (201, {"call": 1})
    assert_same_answer(first, client.post("/v1/test/after", headers=keyed("k")))
    assert routes.calls["after"] == 1


def test_a_duplicate_sent_while_the_first_runs_is_told_to_retry(client: TestClient, routes: Probes) -> None:
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/v1/test/slow", json={"n": 1}, headers=keyed("k"))
        assert routes.entered.wait(10)
        duplicate = client.post("/v1/test/slow", json={"n": 1}, headers=keyed("k"))
        assert problem(duplicate, 409, "idempotency_request_in_progress")
        assert duplicate.headers["retry-after"] == "1"
        # Another body with the key is still another request, in flight or not.
        problem(client.post("/v1/test/slow", json={"n": 2}, headers=keyed("k")), 409, "idempotency_key_reused")
        routes.gate.set()
        answer = first.result(timeout=10)
    assert (answer.status_code, answer.json()) == (201, {"call": 1})
    assert_same_answer(answer, client.post("/v1/test/slow", json={"n": 1}, headers=keyed("k")))
    assert routes.calls["slow"] == 1


def test_concurrent_duplicates_run_the_request_once(client: TestClient, routes: Probes) -> None:
    start = threading.Barrier(10)

    def send(_: int) -> httpx.Response:
        start.wait()
        return client.post("/v1/test/slow", json={"n": 1}, headers=keyed("storm"))

    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(send, i) for i in range(10)]
        assert routes.entered.wait(10)
        time.sleep(0.2)  # let every duplicate arrive while the first is held
        routes.gate.set()
        responses = [future.result(timeout=30) for future in futures]
    assert routes.calls["slow"] == 1
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    for response in responses:
        if response.status_code == 409:
            problem(response, 409, "idempotency_request_in_progress")


def test_records_are_swept_after_the_retention_and_the_key_then_runs_anew(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    first = client.post("/v1/customers", json=ADA, headers=keyed("k"))
    assert first.status_code == 201
    clock.advance(hours=23)
    assert kleline.idempotency.sweep(clock.now) == 0
    assert_same_answer(first, client.post("/v1/customers", json=ADA, headers=keyed("k")))
    clock.advance(hours=1, microseconds=1)
    assert kleline.idempotency.sweep(clock.now) == 1
    assert count(kleline, "idempotency_records") == 0
    problem(client.post("/v1/customers", json=ADA, headers=keyed("k")), 409, "email_taken")


def test_kleline_idempotency_sweep_removes_old_records(
    client: TestClient, kleline: Kleline, clock: FakeClock, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = system_clock() - timedelta(hours=25)
    assert client.post("/v1/customers", json=ADA, headers=keyed("old")).status_code == 201
    clock.now = system_clock()
    assert (
        client.post("/v1/customers", json={**ADA, "email": "bob@example.org"}, headers=keyed("new")).status_code == 201
    )
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "240")
    result = CliRunner().invoke(cli, ["idempotency", "sweep"])
    assert result.exit_code == 0, result.output
    assert "removed 1 idempotency record(s) older than 24 h" in result.output
    assert count(kleline, "idempotency_records") == 1


def test_the_openapi_schema_names_the_header_on_every_post(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    posts = [(path, ops["post"]) for path, ops in schema["paths"].items() if "post" in ops]
    assert posts
    for path, operation in posts:
        names = [parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "header"]
        assert names.count("Idempotency-Key") == 1, path


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn server in a thread, on a free loopback port."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", ws="none", log_config=None, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.slow
def test_a_storm_of_duplicates_on_a_real_server_has_one_effect_per_key(
    app: FastAPI, client: TestClient, kleline: Kleline
) -> None:
    wallets = [wallet(client, f"customer{n}@example.org") for n in range(5)]
    sends: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    for n in range(50):
        headers, card = wallets[n % 5]
        body = {"amount": 100 + n, "currency": "EUR", "card_id": card}
        sends += [(f"storm-{n}", headers, body)] * 5
    with serving(app) as url, httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_connections=64)) as http:

        def send(item: tuple[str, dict[str, str], dict[str, Any]]) -> tuple[str, httpx.Response]:
            key, headers, body = item
            return key, http.post("/v1/wallet/top-ups", json=body, headers=keyed(key, headers))

        with ThreadPoolExecutor(50) as pool:
            results = list(pool.map(send, sends))
        # Once the storm is over, every key answers with its first answer.
        settled = {key: http.post("/v1/wallet/top-ups", json=body, headers=keyed(key, h)) for key, h, body in sends}

    answers: dict[str, set[bytes]] = {}
    for key, response in results:
        if response.status_code == 409:
            problem(response, 409, "idempotency_request_in_progress")
        elif response.status_code == 503:
            # A storm on a small pool may be told to come back (a busy machine, a pool of 2): a client retries it.
            problem(response, 503, "database_busy")
            assert int(response.headers["retry-after"]) >= 1
        else:
            assert response.status_code == 201, response.text
            answers.setdefault(key, set()).add(response.content)
    assert len(answers) > 0 and all(len(bodies) == 1 for bodies in answers.values())
    for key, response in settled.items():
        assert response.status_code == 201
        if key in answers:  # answered in the storm: the same answer again, replayed
            assert response.headers["idempotent-replayed"] == "true"
            assert {response.content} == answers[key]
    assert count(kleline, "top_ups") == 50
    assert len({response.json()["id"] for response in settled.values()}) == 50
    for n, (headers, _card) in enumerate(wallets):
        expected = sum(100 + k for k in range(50) if k % 5 == n)
        assert client.get("/v1/wallet", headers=headers).json()["purse"]["balance"] == expected
    assert trial_balance(kleline.db).balanced
