"""Control characters are refused at the door, on both backends alike (PostgreSQL cannot store NUL, SQLite can):
in a path a 404 (the path names nothing; a checkout link gets its page), in a query string, a header or a body a
400 ``validation_error`` naming the parameter or field; never a 500, whether the route needs a key or not, and
nothing is written (no idempotency key claimed)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline

from ..operator_keys import operator_key
from .http import bearer, problem

PASSWORD = "correct horse battery staple"
# NUL, the other C0 controls (bell, line feed, escape, unit separator) and DEL.
CONTROLS = ["\x00", "\x07", "\n", "\x1b", "\x1f", "\x7f"]
_PARAMETER = re.compile(r"\{[^}]+\}")


@pytest.fixture
def operator(kleline: Kleline) -> dict[str, str]:
    return bearer(operator_key(kleline.db))


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline), follow_redirects=False) as test_client:
        yield test_client


def _operations(client: TestClient) -> Iterator[tuple[str, str, dict[str, Any]]]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _count(kleline: Kleline, table: str) -> int:
    with kleline.db.transaction(write=False) as tx:
        return int(tx.fetchone(f"SELECT COUNT(*) FROM {table}")[0])


def test_an_id_with_a_control_character_names_nothing_on_every_route(
    client: TestClient, operator: dict[str, str]
) -> None:
    routes = [(method, path) for method, path, _ in _operations(client) if "{" in path]
    assert len(routes) > 30
    for method, path in routes:
        for control in CONTROLS:
            url = _PARAMETER.sub(quote(f"x{control}"), path)
            for headers in (operator, {}):
                response = client.request(method.upper(), url, headers=headers, json={})
                assert problem(response, 404, "not_found"), (method, url)


def test_a_checkout_link_with_a_control_character_is_the_checkout_s_not_found_page(browser: TestClient) -> None:
    for control in CONTROLS:
        for method, path in (("GET", "/checkout/pay_{}"), ("POST", "/checkout/pay_{}/confirm")):
            response = browser.request(method, path.format(quote(control)))
            assert response.status_code == 404, response.text
            assert response.headers["content-type"].startswith("text/html")
            assert "No such payment" in response.text


def test_a_query_parameter_with_a_control_character_is_a_400_naming_it_on_every_route(
    client: TestClient, operator: dict[str, str]
) -> None:
    checked = 0
    for method, path, operation in _operations(client):
        url = _PARAMETER.sub("x", path)
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            for control in ("\x00", "\x1b"):
                response = client.request(
                    method.upper(), url, params={parameter["name"]: f"1{control}"}, headers=operator
                )
                assert problem(response, 400, "validation_error")["param"] == parameter["name"], (method, url)
                checked += 1
    assert checked > 40
    response = client.get("/v1/malls", params={"starting_after\x00": "x"}, headers=operator)
    assert problem(response, 400, "validation_error")["param"] == "starting_after\x00"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"name": "Ada\x00"}, "name"),
        ({"name": "Ada\x1b[31m"}, "name"),
        ({"email": "ada\x00@example.org"}, "email"),
        ({"password": "correct horse\x00battery"}, "password"),
        ({"name": "Ada\ud800"}, "name"),  # a lone surrogate: no database can encode it
        ({"na\x00me": "Ada"}, "body"),
        ({"profile": {"names": ["Ada", "Lovelace\x00"]}}, "profile.names.1"),
    ],
)
def test_a_json_body_with_a_control_character_is_a_400_naming_the_field_before_anything_is_written(
    client: TestClient, kleline: Kleline, body: dict[str, Any], param: str
) -> None:
    sign_up = {"email": "ada@example.org", "password": PASSWORD, "name": "Ada", **body}
    headers = {"Idempotency-Key": "sign-up-1", "Content-Type": "application/json"}
    response = client.post("/v1/customers", content=json.dumps(sign_up), headers=headers)  # ASCII, \u escapes
    assert problem(response, 400, "validation_error")["param"] == param
    assert (_count(kleline, "customers"), _count(kleline, "idempotency_records")) == (0, 0)
    accepted = client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada"})
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "application/merge-patch+json"])
def test_a_json_body_is_inspected_whatever_json_type_it_declares_or_none(
    client: TestClient, kleline: Kleline, content_type: str | None
) -> None:
    body = json.dumps({"email": "ada@example.org", "password": PASSWORD, "name": "Ada\x00"}).encode()
    request = client.build_request("POST", "/v1/customers", content=body)
    request.headers.pop("Content-Type", None)
    if content_type is not None:
        request.headers["Content-Type"] = content_type
    assert problem(client.send(request), 400, "validation_error")["param"] == "name"
    assert _count(kleline, "customers") == 0


def test_text_keeps_its_tabs_and_line_breaks(client: TestClient, operator: dict[str, str]) -> None:
    created = client.post(
        "/v1/merchants",
        json={"name": "Librairie\tKléber", "email": "shop@example.fr", "iban": "DE89370400440532013000"},
        headers=operator,
    )
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Librairie\tKléber"


@pytest.mark.parametrize("header", ["Idempotency-Key", "Authorization", "X-Anything"])
def test_a_header_with_a_control_character_is_a_400_naming_it_and_claims_no_key(
    client: TestClient, kleline: Kleline, header: str
) -> None:
    headers = {"Idempotency-Key": "sign-up-1", header: "Bearer sk_\x00x"}
    response = client.post("/v1/customers", json={"email": "a@example.org", "password": PASSWORD}, headers=headers)
    assert problem(response, 400, "validation_error")["param"] == header.lower()
    assert (_count(kleline, "customers"), _count(kleline, "idempotency_records")) == (0, 0)


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/sign-in", {"email": "ada\x00@example.org", "password": PASSWORD}),
        ("/sign-in", {"email": "ada@example.org", "password": "x\x00"}),
        ("/sign-up", {"email": "ada@example.org", "password": PASSWORD, "name": "Ada\x00"}),
        ("/sign-up", {"email": "ada@example.org", "password": PASSWORD, "na\x00me": "Ada"}),
        ("/checkout/pay_x/confirm", {"method": "purse\x00"}),
    ],
)
def test_a_page_form_with_a_control_character_is_refused_cleanly(
    browser: TestClient, kleline: Kleline, path: str, fields: dict[str, str]
) -> None:
    page = browser.get("/sign-up")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    response = browser.post(path, data={"csrf_token": token.group(1), **fields})
    assert problem(response, 400, "validation_error")
    assert _count(kleline, "customers") == 0
