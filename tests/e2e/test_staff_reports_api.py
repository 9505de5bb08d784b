"""Kleline's staff over HTTP: the growth report (JSON and its CSV export), the safeguarding report, and looking
customers and merchants up; who may call what (support reads, only an export role downloads, merchants and
customers are refused, nobody without a key)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.ledger import NormalSide
from kleline.payments.model import PaymentRequest
from kleline.reports.growth_views import CSV_COLUMNS
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..integration.payments.conftest import IBAN, eur, shopper
from ..operator_keys import OPERATOR, operator_key
from .http import bearer, problem

NO_CHALLENGE = {"sca_single_limit": 10**9, "sca_cumulative_limit": 10**12, "sca_max_payments": 10**9}
VISA = "4242424242424242"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline where no payment asks for strong authentication."""
    system = build(load_settings(database_url=database_url, **NO_CHALLENGE), clock=clock)
    system.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def client(kleline: Kleline) -> Iterator[TestClient]:
    with TestClient(create_app(kleline)) as test_client:
        yield test_client


@dataclass
class World:
    shop: str
    shop_key: str
    customer: str
    customer_token: str
    support: dict[str, str]
    finance: dict[str, str]
    compliance: dict[str, str]


@pytest.fixture
def world(kleline: Kleline, client: TestClient, clock: FakeClock) -> World:
    """A shop at 3.5 % with a negative-sounding name (a spreadsheet formula), a customer with a card who paid it
    twice in December and once in January (one refunded in part), and a key for each staff role."""
    clock.now = datetime(2025, 12, 10, 10, 0, tzinfo=UTC)
    registered, secret = kleline.merchants.register(
        name='=HYPERLINK("http://evil")', email="evil@example.fr", iban=IBAN, siret="73282932000074"
    )
    shop = kleline.merchants.approve(registered.id, actor=OPERATOR).id
    ada = shopper(kleline, purse=100_000, email="ada.lovelace@example.org")
    kleline.cards.register(ada.id, VISA, 12, 2040, "123", "Ada Lovelace")
    first = kleline.payments.create(shop, PaymentRequest(eur(2000), description="Books"))
    kleline.payments.confirm(first.id, ada.id, "purse")
    clock.advance(minutes=1)
    kleline.payments.confirm(kleline.payments.create(shop, PaymentRequest(eur(1000))).id, ada.id, "purse")
    clock.now = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    kleline.payments.confirm(kleline.payments.create(shop, PaymentRequest(eur(1500))).id, ada.id, "purse")
    kleline.refunds.refund(shop, first.id, eur(1000))
    clock.now = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    token = client.post(
        "/v1/auth/token", json={"email": "ada.lovelace@example.org", "password": "correct horse battery staple"}
    ).json()["token"]

    def key(role: Role) -> dict[str, str]:
        return bearer(operator_key(kleline.db, role, role.value))

    return World(shop, secret, ada.id, token, key(Role.SUPPORT), key(Role.FINANCE), key(Role.COMPLIANCE))


def test_support_reads_the_growth_report(client: TestClient, world: World) -> None:
    response = client.get("/v1/reports/growth?from=2025-12&to=2026-01", headers=world.support)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["object"], body["from"], body["to"], body["timezone"]) == (
        "growth_report",
        "2025-12",
        "2026-01",
        "Europe/Paris",
    )
    assert body["target_growth"] == {"ratio": "1/10", "percent": "10.0", "meets_target": True}
    december, january = body["months"]
    assert december["payments"] == {"count": 2, "refunds": 0, "growth": None}
    assert december["sales"]["EUR"]["volume"] == 3000 and december["sales"]["EUR"]["commission"] == 70 + 35
    assert january["complete"] is False
    assert january["payments"]["count"] == 1 and january["payments"]["refunds"] == 1
    assert january["payments"]["growth"] == {"ratio": "-1/2", "percent": "-50.0", "meets_target": False}
    assert january["sales"]["EUR"]["volume"] == 1500 and january["sales"]["EUR"]["refunded"] == 1000
    assert january["sales"]["EUR"]["commission"] == 53 - 35  # 53 on 1500, 35 returned by the refund
    assert january["customers"] == {
        "new": 0,
        "total": 1,
        "growth": {"ratio": "0/1", "percent": "0.0", "meets_target": False},
    }
    assert january["merchants"]["active"] == 1
    default = client.get("/v1/reports/growth", headers=world.support).json()
    assert (default["from"], default["to"], len(default["months"])) == ("2025-02", "2026-01", 12)


def test_a_bad_range_is_a_validation_error_naming_its_parameter(client: TestClient, world: World) -> None:
    body = problem(client.get("/v1/reports/growth?from=2025-13", headers=world.support), 400, "validation_error")
    assert body["param"] == "from"
    body = problem(client.get("/v1/reports/growth?to=2026-02", headers=world.support), 400, "validation_error")
    assert body["param"] == "to"


def test_the_csv_is_an_export_and_safe_in_a_spreadsheet(client: TestClient, world: World) -> None:
    asked = "/v1/reports/growth?from=2025-12&to=2026-01&format=csv"
    problem(client.get(asked, headers=world.support), 403, "forbidden")
    problem(client.get("/v1/reports/growth.csv", headers=world.support), 403, "forbidden")
    response = client.get(asked, headers=world.finance)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert (
        response.content == client.get("/v1/reports/growth.csv?from=2025-12&to=2026-01", headers=world.finance).content
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 3
    line = dict(zip(CSV_COLUMNS, rows[2], strict=True))
    assert line["month"] == "2026-01" and line["volume"] == "15.00" and line["commission"] == "0.18"
    assert line["payments_growth_percent"] == "-50.0" and line["target_growth_percent"] == "10.0"
    # Every cell is a value a spreadsheet reads as such: a month, a code, a number, a boolean or nothing; a cell
    # with a minus sign is a number, and nothing starts as a formula does.
    value = re.compile(r"^(|[0-9]{4}-[0-9]{2}|[A-Z]{3}|true|false|-?[0-9]+(\.[0-9]+)?)$")
    for row in rows[1:]:
        assert all(value.match(cell) for cell in row), row
        assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in row)


def test_safeguarding_is_read_by_support(client: TestClient, world: World) -> None:
    response = client.get("/v1/safeguarding", headers=world.support)
    assert response.status_code == 200, response.text
    (eur_report,) = response.json()["currencies"]
    assert eur_report["currency"] == "EUR" and eur_report["balanced"] is True
    assert eur_report["unexplained"] == 0
    assert eur_report["difference"] == eur_report["safeguarded"] - eur_report["owed"]
    assert sum(line["effect"] for line in eur_report["explanation"]) == eur_report["difference"]
    kinds = {line["kind"]: line for line in eur_report["owed_lines"]}
    assert kinds["purses"]["balance"] == 100_000 - 4500 + 1000 and kinds["purses"]["code"] == "customer:%:purse"


def test_support_finds_a_customer_and_reads_their_wallet(client: TestClient, world: World) -> None:
    for query in ("ada", "ADA", "ada.lovelace@", world.customer[:8]):
        found = client.get("/v1/customers", params={"query": query}, headers=world.support)
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()["data"]] == [world.customer], query
    assert client.get("/v1/customers?query=bob", headers=world.support).json() == {"data": [], "has_more": False}
    summary = client.get(f"/v1/customers/{world.customer}", headers=world.support).json()
    assert summary["verification_level"] == "unverified" and summary["authenticator"] == "none"
    assert summary["purse"] == {"currency": "EUR", "balance": 96_500, "held": 0, "available": 96_500}
    (card,) = summary["cards"]
    assert (card["first6"], card["last4"], card["masked_number"]) == ("424242", "4242", "424242******4242")
    assert VISA not in str(summary)
    assert [p["amount"] for p in summary["payments"]] == [1500, 1000, 2000]
    assert {p["merchant_name"] for p in summary["payments"]} == {'=HYPERLINK("http://evil")'}
    problem(client.get("/v1/customers/cus_nobody", headers=world.support), 404, "not_found")


def test_support_finds_a_merchant_and_reads_its_summary(client: TestClient, world: World) -> None:
    for query in ("hyperlink", "732 829", world.shop, "evil@"):
        found = client.get("/v1/merchants", params={"query": query}, headers=world.support)
        assert found.status_code == 200, found.text
        assert [m["id"] for m in found.json()["data"]] == [world.shop], query
    assert client.get("/v1/merchants?query=100%25", headers=world.support).json()["data"] == []
    problem(client.get("/v1/merchants?query=x&status=active", headers=world.support), 400, "validation_error")
    summary = client.get(f"/v1/merchants/{world.shop}/summary", headers=world.support).json()
    assert summary["merchant"]["iban"] == "FR" + "*" * 21 + "2606"  # masked
    assert summary["balance"]["balance"] == 4500 - 158 - 1000 + 35
    assert [p["amount"] for p in summary["payments"]] == [1500, 1000, 2000] and summary["users"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/v1/reports/growth",
        "/v1/reports/growth.csv",
        "/v1/safeguarding",
        "/v1/customers?query=ada",
        "/v1/customers/cus_x",
        "/v1/merchants?query=evil",
        "/v1/merchants/mer_x/summary",
    ],
)
def test_merchants_and_customers_are_refused_and_nobody_without_a_key(
    client: TestClient, world: World, path: str
) -> None:
    problem(client.get(path, headers=bearer(world.shop_key)), 403, "forbidden")
    problem(client.get(path, headers=bearer(world.customer_token)), 403, "forbidden")
    assert client.get(path).status_code == 401
