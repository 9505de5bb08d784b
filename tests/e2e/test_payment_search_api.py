"""A merchant's payments list over HTTP: filters, the search box, cursors both ways, precise errors, and the export
of the filtered list as CSV (``GET /v1/payments/export.csv``); ``starting_after`` pages on as before."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.bootstrap import Kleline
from kleline.payments import store
from kleline.payments.model import Payment
from kleline.reports.payments_csv import PAYMENT_COLUMNS

from .http import problem
from .test_payments_api import World


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def _later(world: World, **delta: float) -> None:
    world.kleline.clock.advance(**delta)  # type: ignore[attr-defined]


def _list(world: World, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    answer = world.client.get("/v1/payments", params=params, headers=world.shop if headers is None else headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [p["id"] for p in body["data"]]


@pytest.fixture
def sales(world: World) -> dict[str, str]:
    """Six payments of the shop, five minutes apart: two paid from the purse, one canceled, three waiting; and one
    of the other merchant's with the same reference and amount."""
    made = {}
    for name, amount, reference in (
        ("book", 1250, "ORD-100"),
        ("pen", 300, "ord-101"),
        ("map", 1250, "ORD-200"),
        ("ink", 990, '=HYPERLINK("http://evil.example")'),
        ("bag", 4500, None),
        ("cap", 1500, "ORD-102"),
    ):
        made[name] = world.pay(amount, reference=reference, description=f"a {name}")["id"]
        if name in ("book", "pen"):
            world.confirm(made[name])  # while the customer's token lives
        _later(world, minutes=5)
    canceled = world.client.post(f"/v1/payments/{made['map']}/cancel", headers=world.shop)
    assert canceled.status_code == 200, canceled.text
    theirs = world.client.post(
        "/v1/payments", json={"amount": 1250, "currency": "EUR", "reference": "ORD-100"}, headers=world.other
    )
    made["theirs"] = theirs.json()["id"]
    return made


def test_a_merchant_filters_and_searches_its_payments(world: World, sales: dict[str, str]) -> None:
    assert _ids(_list(world, status="succeeded")) == [sales["pen"], sales["book"]]
    assert _ids(_list(world, status=["canceled", "succeeded"], method="purse")) == [sales["pen"], sales["book"]]
    assert _ids(_list(world, status="requires_confirmation,canceled")) == [
        sales[n] for n in ("cap", "bag", "ink", "map")
    ]
    assert _ids(_list(world, q="ord-10")) == [sales["cap"], sales["pen"], sales["book"]]
    assert _ids(_list(world, q="12,50")) == [sales["map"], sales["book"]]
    assert _ids(_list(world, amount="12.50", status="succeeded")) == [sales["book"]]
    assert _ids(_list(world, q=sales["bag"])) == [sales["bag"]]
    assert _ids(_list(world, q=sales["theirs"])) == []
    assert _ids(_list(world, q="ada@example.org")) == []  # customers cannot consent to share their email yet
    # The clock started at 2026-01-15 09:30 UTC; the six payments were made five minutes apart, the last at 09:55.
    assert len(_ids(_list(world, created_from="2026-01-15", created_to="2026-01-15"))) == 6
    assert _ids(_list(world, created_from="2026-01-15T09:50:00Z")) == [sales["cap"], sales["bag"]]
    assert _ids(_list(world, created_to="2026-01-15T10:35:00+01:00")) == [sales["pen"], sales["book"]]
    assert _ids(_list(world, created_from="2026-01-16")) == []


def test_pages_go_both_ways_with_cursors(world: World, sales: dict[str, str]) -> None:
    newest_first = [sales[n] for n in ("cap", "bag", "ink", "map", "pen", "book")]
    first = _list(world, limit=2)
    assert _ids(first) == newest_first[:2]
    assert (first["has_more"], first["previous_cursor"]) == (True, None)
    second = _list(world, limit=2, cursor=first["next_cursor"])
    third = _list(world, limit=2, cursor=second["next_cursor"])
    assert (_ids(second), _ids(third)) == (newest_first[2:4], newest_first[4:])
    assert (third["has_more"], third["next_cursor"]) == (False, None)
    back = _list(world, limit=2, cursor=third["previous_cursor"])
    assert _ids(back) == _ids(second) and back["has_more"] is True
    top = _list(world, limit=2, cursor=back["previous_cursor"])
    assert _ids(top) == _ids(first) and top["has_more"] is False and top["previous_cursor"] is None
    # starting_after, an id, pages on as it always did, and now names the pages around.
    after = _list(world, limit=2, starting_after=newest_first[1])
    assert _ids(after) == newest_first[2:4] and after["next_cursor"] == second["next_cursor"]
    assert _ids(_list(world, limit=2, cursor=after["previous_cursor"])) == newest_first[:2]
    filtered = _list(world, limit=1, status="succeeded")
    assert _ids(_list(world, limit=1, status="succeeded", cursor=filtered["next_cursor"])) == [sales["book"]]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"status": "refunded"}, "status"),
        ({"status": ["succeeded", "paid"]}, "status"),
        ({"method": "cash"}, "method"),
        ({"created_from": "2026-01-16", "created_to": "2026-01-15"}, "created_to"),
        ({"created_from": "16/01/2026"}, "created_from"),
        ({"created_to": "2026-01-15T09:30:00"}, "created_to"),
        ({"amount": "12.505"}, "amount"),
        ({"amount": "twelve"}, "amount"),
        ({"cursor": "nonsense-cursor"}, "cursor"),
        ({"cursor": "bjF-cGF5X2FiYw", "starting_after": "pay_abc"}, "cursor"),
        ({"q": "x" * 201}, "q"),
        ({"limit": 101}, "limit"),
    ],
)
def test_a_bad_filter_is_a_precise_error(world: World, params: dict[str, Any], param: str) -> None:
    for path in ("/v1/payments", "/v1/payments/export.csv"):
        if path.endswith(".csv") and param in ("cursor", "limit"):
            continue
        answer = world.client.get(path, params=params, headers=world.shop)
        assert problem(answer, 400, "validation_error")["param"] == param, path


def test_filters_and_cursors_are_for_merchant_keys(world: World, sales: dict[str, str]) -> None:
    refused = world.client.get("/v1/payments", params={"status": "succeeded"}, headers=world.customer)
    assert problem(refused, 400, "validation_error")["param"] == "status"
    cursor = _list(world, limit=1)["next_cursor"]
    refused = world.client.get("/v1/payments", params={"cursor": cursor}, headers=world.operator)
    assert problem(refused, 400, "validation_error")["param"] == "cursor"
    mine = _list(world, world.customer)
    assert set(_ids(mine)) == {sales["book"], sales["pen"]}
    assert (mine["next_cursor"], mine["previous_cursor"]) == (None, None)


def _csv(answer: Any) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="payments.csv"'
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert tuple(rows[0]) == PAYMENT_COLUMNS
    return [dict(zip(PAYMENT_COLUMNS, row, strict=True)) for row in rows[1:]]


def test_the_export_is_the_filtered_list_as_csv(world: World, sales: dict[str, str]) -> None:
    every = _csv(world.client.get("/v1/payments/export.csv", headers=world.shop))
    assert [row["id"] for row in every] == [sales[n] for n in ("cap", "bag", "ink", "map", "pen", "book")]
    book = every[-1]
    assert book == {
        "id": sales["book"],
        "created_at": "2026-01-15T09:30:00.000000Z",
        "status": "succeeded",
        "method": "purse",
        "amount": "12.50",
        "currency": "EUR",
        "refunded": "0.00",
        "fee": "0.44",
        "introduction_fee": "0.00",
        "net": "12.06",
        "reference": "ORD-100",
        "description": "a book",
    }
    assert every[2]["reference"] == '\'=HYPERLINK("http://evil.example")'  # never a formula in a spreadsheet
    refunded = world.client.post("/v1/refunds", json={"payment_id": sales["book"], "amount": 250}, headers=world.shop)
    assert refunded.status_code == 201, refunded.text
    paid = _csv(
        world.client.get("/v1/payments/export.csv", params={"q": "ord-10", "status": "succeeded"}, headers=world.shop)
    )
    assert [(row["id"], row["refunded"], row["fee"], row["net"]) for row in paid] == [
        (sales["pen"], "0.00", "0.11", "2.89"),
        (sales["book"], "2.50", "0.35", "9.65"),
    ]
    theirs = _csv(world.client.get("/v1/payments/export.csv", headers=world.other))
    assert [row["id"] for row in theirs] == [sales["theirs"]]


def test_only_a_merchant_key_exports(world: World) -> None:
    path = "/v1/payments/export.csv"
    problem(world.client.get(path, headers=world.customer), 403, "forbidden")
    problem(world.client.get(path, headers=world.operator), 403, "forbidden")
    problem(world.client.get(path), 401, "unauthorized")


def test_an_export_of_many_payments_holds_every_one_newest_first(world: World, kleline: Kleline) -> None:
    template = kleline.payments.get(world.pay(100)["id"])
    with kleline.db.transaction() as tx:
        for n in range(1, 1201):
            store.insert_payment(tx, _copy(template, n))
    rows = _csv(world.client.get("/v1/payments/export.csv", headers=world.shop))
    assert len(rows) == 1201
    assert [row["id"] for row in rows[:2]] == ["pay_bulk01200", "pay_bulk01199"]
    assert rows[-1]["id"] == template.id


def _copy(payment: Payment, n: int) -> Payment:
    return replace(payment, id=f"pay_bulk{n:05d}", created_at=payment.created_at + timedelta(seconds=n))


def test_the_document_names_the_filters_the_cursors_and_the_csv(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    listing = document["paths"]["/v1/payments"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "status",
        "method",
        "created_from",
        "created_to",
        "amount",
        "q",
        "cursor",
        "starting_after",
        "limit",
    } <= names
    assert "created_to" in listing["responses"]["400"]["description"]
    page = document["components"]["schemas"]["PaymentList"]["properties"]
    assert {"next_cursor", "previous_cursor", "has_more"} <= page.keys()
    export = document["paths"]["/v1/payments/export.csv"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]
    assert {"400", "401", "403"} <= export["responses"].keys()
    assert "cursor" not in {p["name"] for p in export["parameters"]}
