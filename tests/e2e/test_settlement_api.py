"""Settlement over HTTP and from the command line: an operator settles the day, fetches the pain.001 file, and each
merchant reads its own payouts; anyone else gets 401/403/404 and nothing moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.cli import app
from kleline.ledger import EntryRequest, NormalSide, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.sepa import read_credit_transfers, validate_pain

from ..integration.helpers import book_snapshot
from ..operator_keys import operator_key
from .http import bearer, problem

IBAN = "FR1420041010050500013M02606"
OTHER_IBAN = "DE89370400440532013000"
PASSWORD = "correct horse battery staple"


class World:
    """An operator, two approved merchants with sales to pay out, and a customer."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        self.client = client
        self.kleline = kleline
        open_system_accounts(kleline)
        kleline.ledger.open_account("card:visa:receivable", "EUR", NormalSide.DEBIT)
        self.operator = bearer(operator_key(kleline.db))
        self.shop_id, self.shop = self.merchant("Librairie Kléber", IBAN, 12_345)
        self.other_id, self.other = self.merchant("Fromagerie Vaubourg", OTHER_IBAN, 2_000)
        client.post("/v1/customers", json={"email": "ada@example.org", "password": PASSWORD, "name": "Ada"})
        token = client.post("/v1/auth/token", json={"email": "ada@example.org", "password": PASSWORD})
        self.customer = bearer(token.json()["token"])

    def merchant(self, name: str, iban: str, sales: int) -> tuple[str, dict[str, str]]:
        created = self.client.post(
            "/v1/merchants", json={"name": name, "email": "shop@example.fr", "iban": iban}, headers=self.operator
        )
        assert created.status_code == 201, created.text
        merchant_id = created.json()["id"]
        assert self.client.post(f"/v1/merchants/{merchant_id}/approve", headers=self.operator).status_code == 200
        money = Money(sales, "EUR")
        self.kleline.ledger.post(
            EntryRequest(
                f"sales-{merchant_id}",
                (debit("card:visa:receivable", money), credit(balance_account(merchant_id), money)),
                "captured card payments",
            )
        )
        return merchant_id, bearer(created.json()["secret_key"])


@pytest.fixture
def world(client: TestClient, kleline: Kleline) -> World:
    return World(client, kleline)


def test_an_operator_settles_the_day_and_fetches_a_valid_pain001(world: World) -> None:
    client = world.client
    created = client.post("/v1/settlement-runs", json={}, headers=world.operator)

    assert created.status_code == 201, created.text
    run = created.json()
    assert {k: run[k] for k in ("object", "period", "status", "payout_count", "total", "currency")} == {
        "object": "settlement_run",
        "period": "2026-01-15",
        "status": "complete",
        "payout_count": 2,
        "total": 14_345,
        "currency": "EUR",
    }
    assert run["file_url"] == f"/v1/settlement-runs/{run['id']}/file"
    by_merchant = {p["merchant_id"]: p for p in run["payouts"]}
    assert by_merchant[world.shop_id]["amount"] == 12_345
    assert by_merchant[world.shop_id]["status"] == "in_transit"
    assert by_merchant[world.shop_id]["end_to_end_id"] == by_merchant[world.shop_id]["id"].replace("po_", "po-")
    assert client.get("/v1/balance", headers=world.shop).json()["available"] == 0

    file = client.get(run["file_url"], headers=world.operator)
    assert file.status_code == 200
    assert file.headers["content-type"].startswith("application/xml")
    assert validate_pain(file.content) == "pain.001.001.03"
    debtor, transfers = read_credit_transfers(file.content)
    assert debtor == world.kleline.own_account.iban
    assert {t.end_to_end_id: t.amount.minor for t in transfers} == {
        p["end_to_end_id"]: p["amount"] for p in run["payouts"]
    }

    again = client.post("/v1/settlement-runs", json={"period": "2026-01-15"}, headers=world.operator)
    assert again.status_code == 200 and again.json() == run
    assert client.get(f"/v1/settlement-runs/{run['id']}", headers=world.operator).json() == run
    listed = client.get("/v1/settlement-runs", headers=world.operator).json()
    assert [r["id"] for r in listed["data"]] == [run["id"]] and listed["data"][0]["payouts"] is None
    assert trial_balance(world.kleline.db).balanced


def test_each_merchant_reads_only_its_own_payouts(world: World) -> None:
    client = world.client
    run = client.post("/v1/settlement-runs", headers=world.operator).json()
    mine = next(p for p in run["payouts"] if p["merchant_id"] == world.shop_id)
    theirs = next(p for p in run["payouts"] if p["merchant_id"] == world.other_id)

    listed = client.get("/v1/payouts", headers=world.shop).json()
    assert listed == {"data": [mine], "has_more": False}
    assert client.get(f"/v1/payouts/{mine['id']}", headers=world.shop).json() == mine
    problem(client.get(f"/v1/payouts/{theirs['id']}", headers=world.shop), 404, "not_found")
    snooping = client.get("/v1/payouts", params={"merchant_id": world.other_id}, headers=world.shop).json()
    assert snooping == {"data": [], "has_more": False}
    peek = client.get("/v1/payouts", params={"starting_after": theirs["id"]}, headers=world.shop)
    problem(peek, 404, "not_found")

    everything = client.get("/v1/payouts", headers=world.operator).json()["data"]
    assert {p["id"] for p in everything} == {mine["id"], theirs["id"]}
    narrowed = client.get("/v1/payouts", params={"merchant_id": world.other_id}, headers=world.operator).json()
    assert narrowed["data"] == [theirs]
    by_run = client.get(
        "/v1/payouts", params={"settlement_run_id": run["id"], "status": "in_transit"}, headers=world.operator
    ).json()
    assert len(by_run["data"]) == 2
    problem(client.get("/v1/payouts", params={"status": "lost"}, headers=world.operator), 400, "validation_error")
    problem(client.get("/v1/payouts/po_missing", headers=world.operator), 404, "not_found")


def test_bad_periods_are_refused_and_move_nothing(world: World) -> None:
    before = book_snapshot(world.kleline.db)
    for body in ({"period": "2026-01-16"}, {"period": "15/01/2026"}, {"period": 20260115}):
        refused = world.client.post("/v1/settlement-runs", json=body, headers=world.operator)
        assert problem(refused, 400, "validation_error")["param"] == "period", body
    assert book_snapshot(world.kleline.db) == before
    assert world.client.get("/v1/settlement-runs", headers=world.operator).json() == {"data": [], "has_more": False}


def test_a_past_period_nobody_settled_is_refused_and_moves_nothing(world: World) -> None:
    before = book_snapshot(world.kleline.db)

    refused = world.client.post("/v1/settlement-runs", json={"period": "2026-01-14"}, headers=world.operator)

    body = problem(refused, 409, "settlement_period_closed")
    assert body["param"] == "period" and "settle today's period (2026-01-15) instead" in body["detail"]
    assert book_snapshot(world.kleline.db) == before
    assert world.client.get("/v1/settlement-runs", headers=world.operator).json() == {"data": [], "has_more": False}


def test_a_past_period_answers_the_run_settled_that_day(world: World) -> None:
    run = world.client.post("/v1/settlement-runs", json={}, headers=world.operator).json()
    world.kleline.clock.advance(days=1)  # type: ignore[attr-defined]

    again = world.client.post("/v1/settlement-runs", json={"period": "2026-01-15"}, headers=world.operator)

    assert again.status_code == 200 and again.json() == run


def test_a_run_that_pays_nobody_has_no_file(world: World) -> None:
    world.client.post("/v1/settlement-runs", json={}, headers=world.operator)
    world.kleline.clock.advance(days=1)  # type: ignore[attr-defined]
    quiet = world.client.post("/v1/settlement-runs", json={"period": "2026-01-16"}, headers=world.operator).json()

    assert (quiet["payout_count"], quiet["file_url"], quiet["payouts"]) == (0, None, [])
    missing = world.client.get(f"/v1/settlement-runs/{quiet['id']}/file", headers=world.operator)
    problem(missing, 404, "no_settlement_file")
    problem(world.client.get("/v1/settlement-runs/sr_missing", headers=world.operator), 404, "not_found")


@pytest.mark.parametrize(
    ("caller", "status"), [("merchant", 403), ("customer", 403), ("nobody", 401), ("dead key", 401)]
)
def test_only_operators_run_settlement_and_read_runs(world: World, caller: str, status: int) -> None:
    headers = {"merchant": world.shop, "customer": world.customer, "nobody": {}, "dead key": bearer("op_nope")}[caller]
    run = world.client.post("/v1/settlement-runs", headers=world.operator).json()
    world.kleline.clock.advance(days=1)  # type: ignore[attr-defined]
    before = book_snapshot(world.kleline.db)

    for method, path in [
        ("POST", "/v1/settlement-runs"),
        ("GET", "/v1/settlement-runs"),
        ("GET", f"/v1/settlement-runs/{run['id']}"),
        ("GET", f"/v1/settlement-runs/{run['id']}/file"),
    ]:
        response = world.client.request(method, path, headers=headers)
        assert response.status_code == status, (method, path, response.text)
    assert book_snapshot(world.kleline.db) == before
    customer_reads = world.client.get("/v1/payouts", headers=world.customer)
    problem(customer_reads, 403, "forbidden")


def test_kleline_settle_pays_out_and_writes_the_file(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", world.kleline.settings.database_url)
    monkeypatch.setenv("COLUMNS", "240")
    out = tmp_path / "payouts.xml"
    runner = CliRunner()

    settled = runner.invoke(app, ["settle", "--out", str(out)])

    assert settled.exit_code == 0, settled.output
    run_id, _, period = settled.output.split()[:3]  # the CLI runs on the real clock: today is whatever day it is
    assert "2 payout(s), 143.45 EUR" in settled.output
    assert validate_pain(out.read_bytes()) == "pain.001.001.03"
    again = runner.invoke(app, ["settle", "--period", period.rstrip(":")])
    assert again.exit_code == 0 and settled.output.splitlines()[0] == again.output.splitlines()[0]
    assert run_id.startswith("sr_")
    bad = runner.invoke(app, ["settle", "--period", "tomorrow"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_kleline_settle_refuses_a_past_period_nobody_settled(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", world.kleline.settings.database_url)
    monkeypatch.setenv("COLUMNS", "240")
    before = book_snapshot(world.kleline.db)

    refused = CliRunner().invoke(app, ["settle", "--period", "2026-01-10"])

    assert refused.exit_code == 1, refused.output
    assert "error: period 2026-01-10 was never settled and is over" in refused.output
    assert "settle today's period" in refused.output and "Traceback" not in refused.output
    assert book_snapshot(world.kleline.db) == before
