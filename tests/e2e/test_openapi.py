"""The OpenAPI document tells the truth about errors: problem JSON (RFC 9457), 400 for bad input, never FastAPI's 422.

A client generated from ``/openapi.json`` must expect what the API really sends: a ``400`` ``validation_error``
problem where FastAPI would have documented ``422 HTTPValidationError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from kleline.db.engine import Database
from kleline.db.migrate import upgrade
from kleline.idempotency import KEY_PATTERN, MAX_KEY_LENGTH, InvalidIdempotencyKey, check_key

from ..conftest import create_database_url

PROBLEM = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}
IDEMPOTENCY_KEY = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN}


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """The document does not depend on the backend: SQLite only."""
    url, _ = create_database_url("sqlite", tmp_path)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) to what it names."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def problem_schema(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The schema of a response's problem+json content (failing when it has none)."""
    content = resolve(document, response).get("content", {})
    assert PROBLEM in content, f"no {PROBLEM} content in {response}"
    return resolve(document, content[PROBLEM]["schema"])


def test_no_operation_documents_fastapis_422(document: dict[str, Any]) -> None:
    offenders = [
        f"{method.upper()} {path}"
        for path, method, op in operations(document)
        if "422" in op["responses"] and "limit_exceeded" not in op["responses"]["422"]["description"]
    ]
    assert offenders == []  # only a route's own 422 (a top-up over the wallet's limits) is documented
    assert "HTTPValidationError" not in str(document)
    assert "ValidationError" not in document["components"]["schemas"]


def test_every_operation_with_input_documents_a_400_problem(document: dict[str, Any]) -> None:
    checked = 0
    for path, method, operation in operations(document):
        if "requestBody" in operation or operation.get("parameters"):
            assert "400" in operation["responses"], f"{method.upper()} {path}"
            schema = problem_schema(document, operation["responses"]["400"])
            assert {"type", "title", "status", "detail", "code"} <= set(schema["required"])
            checked += 1
    assert checked > 50  # the API's routes, not a vacuous pass


def test_authenticated_operations_document_401_and_object_routes_404(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        responses = operation["responses"]
        if operation.get("security"):
            problem_schema(document, responses["401"])
        if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
            problem_schema(document, responses["404"])
        if method == "post" and path.startswith("/v1/"):
            problem_schema(document, responses["409"])  # Idempotency-Key reused or still running


def test_kind_restricted_routes_document_403_and_public_ones_do_not(document: dict[str, Any]) -> None:
    paths = document["paths"]
    problem_schema(document, paths["/v1/ledger/trial-balance"]["get"]["responses"]["403"])  # operators only
    problem_schema(document, paths["/v1/wallet"]["get"]["responses"]["403"])  # customers only
    assert "403" not in paths["/v1/malls"]["get"]["responses"]  # anyone: an operator key only adds detail
    assert "401" not in paths["/v1/keys"]["get"]["responses"]  # public, no authentication at all


def test_common_problems_are_described_once_as_components(document: dict[str, Any]) -> None:
    responses = document["components"]["responses"]
    for name in ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict"):
        assert PROBLEM in responses[name]["content"]
    wallet = document["paths"]["/v1/wallet/cards/{card_id}"]["delete"]["responses"]
    assert wallet["401"] == {"$ref": "#/components/responses/Unauthorized"}


def test_a_routes_own_error_description_is_kept_with_the_problem_schema(document: dict[str, Any]) -> None:
    create = document["paths"]["/v1/webhook-endpoints"]["post"]["responses"]
    assert "invalid_webhook_url" in create["400"]["description"]
    assert "too_many_webhook_endpoints" in create["409"]["description"]
    problem_schema(document, create["400"])
    problem_schema(document, create["409"])


def test_the_documented_400_is_what_a_bad_body_gets(client: TestClient, document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/customers"]["post"]
    schema = problem_schema(document, operation["responses"]["400"])
    response = client.post("/v1/customers", json={"email": "not an address", "password": 12, "name": ""})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert set(schema["required"]) <= set(body)
    types = {"string": str, "integer": int}
    for name, value in body.items():
        declared = schema["properties"].get(name)
        if declared is not None and declared.get("type") in types:
            assert isinstance(value, types[declared["type"]]), name
    assert body["code"] == "validation_error"


@given(key=st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=300))
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
def test_the_documented_idempotency_key_is_exactly_what_the_api_accepts(key: str) -> None:
    schema = IDEMPOTENCY_KEY
    documented = schema["minLength"] <= len(key) <= schema["maxLength"] and re.search(schema["pattern"], key)
    try:
        check_key(key)
        accepted = True
    except InvalidIdempotencyKey:
        accepted = False
    assert bool(documented) == accepted, repr(key)


def test_every_post_names_the_idempotency_key_with_its_rule(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        if method == "post" and path.startswith("/v1/"):
            header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert header["schema"] == IDEMPOTENCY_KEY, path


def test_a_list_paged_by_an_id_documents_the_404_of_an_unknown_cursor(document: dict[str, Any]) -> None:
    paged = [
        operation
        for _path, _method, operation in operations(document)
        if any(parameter["name"] == "starting_after" for parameter in operation.get("parameters", []))
    ]
    assert len(paged) > 10
    for operation in paged:
        problem_schema(document, operation["responses"]["404"])


def test_routes_document_the_answers_they_give_besides_their_success(document: dict[str, Any]) -> None:
    paths = document["paths"]
    settle = paths["/v1/settlement-runs"]["post"]["responses"]
    assert (
        settle["200"]["content"]["application/json"]["schema"] == settle["201"]["content"]["application/json"]["schema"]
    )
    sign_in = paths["/v1/auth/token"]["post"]["responses"]
    assert "invalid_credentials" in sign_in["401"]["description"] and "rate_limited" in sign_in["429"]["description"]
    problem_schema(document, sign_in["429"])
    problem_schema(document, paths["/v1/refunds"]["post"]["responses"]["404"])


def test_the_month_of_a_statement_is_documented_with_its_pattern(document: dict[str, Any]) -> None:
    month = next(
        p for p in document["paths"]["/v1/merchant-statements/{month}"]["get"]["parameters"] if p["name"] == "month"
    )
    pattern = month["schema"]["pattern"]
    assert re.search(pattern, "2026-01") and re.search(pattern, "2026-12")
    assert not any(re.search(pattern, bad) for bad in ("2026-13", "2026-1", "26-01", "2026-00", "2026-01-01"))


def test_bodies_that_ignore_unknown_fields_do_not_document_them_as_refused(
    client: TestClient, document: dict[str, Any]
) -> None:
    """Unknown members of a body are ignored, not refused; no schema of a body may say otherwise."""
    schemas = document["components"]["schemas"]
    assert all(schema.get("additionalProperties") is not False for schema in schemas.values())
    body = {"email": "ada@example.org", "password": "correct horse battery staple", "name": "Ada", "nickname": "A"}
    assert client.post("/v1/customers", json=body).status_code == 201


@pytest.mark.parametrize(
    ("path", "method", "status", "code"),
    [
        ("/v1/payments/{payment_id}/confirm", "post", "410", "sca_challenge_expired"),
        ("/v1/payments/{payment_id}/confirm", "post", "502", "capture_failed"),
        ("/v1/payments/{payment_id}/capture", "post", "502", "capture_failed"),
        ("/v1/payments/{payment_id}/capture", "post", "503", "issuer_unavailable"),
        ("/v1/refunds", "post", "502", "refund_failed"),
        ("/v1/wallet/top-ups", "post", "410", "sca_challenge_expired"),
        ("/v1/wallet/top-ups", "post", "422", "limit_exceeded"),
        ("/v1/merchants", "post", "403", "fee_bps"),  # a registration that sets its own fee, without an operator key
    ],
)
def test_the_errors_routes_answer_deep_in_their_work_are_documented(
    document: dict[str, Any], path: str, method: str, status: str, code: str
) -> None:
    response = document["paths"][path][method]["responses"][status]
    assert code in response["description"]
    problem_schema(document, response)
