"""The OpenAPI document tells the truth, checked by a fuzzer: every operation of ``/openapi.json``, called with input
generated from the document itself (valid and invalid) by each kind of caller, on each backend, answers with a
documented status, content type, body and headers, and never with a server error.

Schemathesis drives the ASGI application in-process (no server). It runs in the default suite on purpose: the
document drifts from the code whenever a route gains an error, and only a run that exercises every route notices.
Its cost is bounded (a fixed number of examples per operation, a fixed seed so that a failure reproduces).

Each operation gets its own Hypothesis run over Schemathesis's strategies (``APIOperation.as_strategy``), rather than
``schemathesis.pytest.from_fixture``, whose wrapper rewrites pytest's private node ids and breaks on pytest 9.2.

One application per backend serves the whole module (the fuzzer's requests never open more than its pool of
connections). Each test gets fresh credentials, so that one caller's fuzzing (a customer signing out, an operator
suspending a merchant) does not change what the next caller can reach.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.schemas import APIOperation, BaseSchema

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import BACKENDS, FakeClock, MigratedTemplates, drop_database
from ..operator_keys import operator_key
from .http import bearer
from .openapi_checks import CHECKS

CALLERS = ("nobody", "operator", "merchant", "customer")
PASSWORD = "correct horse battery staple"
SEED = 20260115
EXAMPLES = 12  # per operation and caller, valid and invalid input together

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
            # Each test sends exactly its caller's credentials: a generated Authorization header would make every
            # caller a stranger with a random key.
            "with-security-parameters": False,
        },
        "phases": {"stateful": {"enabled": False}},
    }
)


@dataclass
class Served:
    """Kleline on one backend, its application, and a client to make the callers' credentials with."""

    kleline: Kleline
    app: FastAPI
    client: TestClient
    schema: BaseSchema


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, migrated_templates: MigratedTemplates, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One application per backend for the whole module, on a fresh migrated database."""
    directory: Path = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    url, name = migrated_templates.copy(request.param, directory)
    try:
        kleline = build(load_settings(database_url=url), clock=FakeClock())
        try:
            app = create_app(kleline)
            with TestClient(app) as client:
                schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG)
                yield Served(kleline, app, client, schema)
        finally:
            kleline.close()
    finally:
        drop_database(name)


def _customer_token(client: TestClient) -> str:
    email = f"fuzz-{secrets.token_hex(4)}@example.org"
    created = client.post("/v1/customers", json={"email": email, "password": PASSWORD, "name": "Ada"})
    assert created.status_code == 201, created.text
    signed_in = client.post("/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 201, signed_in.text
    token: str = signed_in.json()["token"]
    return token


def _merchant_key(client: TestClient, operator: str) -> str:
    """The secret key of a new, approved merchant (so that its calls go past "not active")."""
    shop = {
        "name": "Librairie du Bac SARL",
        "email": f"fuzz-{secrets.token_hex(4)}@example.org",
        "iban": "FR1420041010050500013M02606",
    }
    registered = client.post("/v1/merchants", json=shop)
    assert registered.status_code == 201, registered.text
    approved = client.post(f"/v1/merchants/{registered.json()['id']}/approve", headers=bearer(operator))
    assert approved.status_code == 200, approved.text
    key: str = registered.json()["secret_key"]
    return key


def credentials(served: Served, who: str) -> dict[str, str]:
    """The headers of one kind of caller, with credentials made afresh for each test."""
    if who == "nobody":
        return {}
    operator = operator_key(served.kleline.db)
    if who == "merchant":
        return bearer(_merchant_key(served.client, operator))
    if who == "customer":
        return bearer(_customer_token(served.client))
    return bearer(operator)


def _fuzz(operation: APIOperation, caller: dict[str, str]) -> None:
    """Call ``operation`` with valid and invalid generated input; raise on the first answer that breaks a check."""
    modes = [GenerationMode.POSITIVE]
    if operation.body or any(True for _ in operation.iter_parameters()):
        modes.append(GenerationMode.NEGATIVE)
    strategy = st.one_of(*(operation.as_strategy(mode) for mode in modes))

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def call(case: Case) -> None:
        case.validate_response(case.call(headers=caller), checks=CHECKS, headers=caller)

    call()


@pytest.mark.parametrize("who", CALLERS)
def test_every_operation_answers_as_documented_to_every_caller(served: Served, who: str) -> None:
    caller = credentials(served, who)
    failures: list[str] = []
    tested = 0
    for result in served.schema.get_all_operations():
        operation = result.ok()
        tested += 1
        try:
            _fuzz(operation, caller)
        except (Exception, FailureGroup) as error:  # every operation is fuzzed; the failures are reported together
            failures.append(f"--- {operation.label} as {who}:\n{error}")
    assert tested > 70  # the API's operations, not a vacuous pass
    assert not failures, f"{len(failures)} of {tested} operations broke their documentation:\n" + "\n".join(failures)
