"""A fresh install, as the README tells a new operator to make one, runs the whole money cycle: no demo seeding and
no fixture opens any of Kleline's own accounts.

The database starts empty; ``kleline db upgrade`` migrates it; the API is the application ``kleline serve`` builds
(``kleline.api.main.app_from_environment``, from the ``KLELINE_*`` environment), its card network ``kleline bank
serve``. Then the month of ``test_bank_cycle``, the settlement first (before any direct debit has opened the bank's
accounts on its way): customers, a card top-up, a merchant registered and approved, card and purse payments, a
refund, a settlement run, a direct-debit top-up, a collection run, and the bank's camt.053 statement reconciled,
with every account where the story puts it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.api.main import app_from_environment
from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.ledger.audit import trial_balance

from ..bank_serve import KLELINE, Bank, bank_serve
from ..conftest import BACKENDS, create_database_url, drop_database
from .test_bank_cycle import BOB_IBAN, Story, _card


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database with no schema at all on each backend, named by ``KLELINE_DATABASE_URL`` as an operator would."""
    url, name = create_database_url(request.param, tmp_path)
    monkeypatch.setenv("KLELINE_DATABASE_URL", url)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    with bank_serve("--state", str(tmp_path / "bank")) as serving:
        yield serving


def test_a_database_made_by_db_upgrade_alone_runs_the_whole_money_cycle(
    empty_database: str, bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_BANK_URL", bank.url)
    monkeypatch.setenv("KLELINE_BANK_TIMEOUT_SECONDS", "10")
    upgraded = CliRunner().invoke(cli, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    application = app_from_environment()
    kleline: Kleline = application.state.kleline
    with TestClient(application) as client:  # the lifespan closes Kleline
        _settle_first(Story(client, kleline), bank)


def _settle_first(story: Story, bank: Bank) -> None:
    call, operator = story.call, story.operator
    card = call("post", "/v1/wallet/cards", story.ada, 201, json=_card())
    top_up = {"amount": 2500, "currency": "EUR", "card_id": card["id"]}
    assert call("post", "/v1/wallet/top-ups", story.ada, 201, json=top_up)["status"] == "succeeded"
    by_card = call("post", "/v1/payments", story.shop, 201, json={"amount": 2800, "currency": "EUR"})
    confirm = {"method": "card", "card_id": card["id"]}
    assert call("post", f"/v1/payments/{by_card['id']}/confirm", story.ada, 200, json=confirm)["status"] == "succeeded"
    by_purse = call("post", "/v1/payments", story.shop, 201, json={"amount": 1500, "currency": "EUR"})
    confirm = {"method": "purse"}
    assert call("post", f"/v1/payments/{by_purse['id']}/confirm", story.ada, 200, json=confirm)["status"] == "succeeded"
    refund = call("post", "/v1/refunds", story.shop, 201, json={"payment_id": by_card["id"], "amount": 800})
    assert refund["status"] == "succeeded", refund

    # The first settlement of a fresh install: nothing has touched the bank's accounts before it.
    run = call("post", "/v1/settlement-runs", operator, 201, json={})
    [payout] = run["payouts"]
    assert (payout["merchant_id"], payout["status"]) == (story.shop_id, "in_transit")
    assert call("get", f"/v1/settlement-runs/{run['id']}", operator, 200)["status"] == "complete"

    # Bob tops up by direct debit; the operator collects it.
    mandate = {"iban": BOB_IBAN, "holder_name": "Bob", "mandate_accepted": True}
    account = call("post", "/v1/wallet/bank-accounts", story.bob, 201, json=mandate)
    debit: dict[str, Any] = {"amount": 2000, "currency": "EUR", "bank_account_id": account["id"]}
    assert call("post", "/v1/wallet/top-ups", story.bob, 201, json=debit)["status"] == "succeeded"
    collection_run = call("post", "/v1/collection-runs", operator, 201, json={})
    assert collection_run["status"] == "complete", collection_run

    for path in (f"/v1/settlement-runs/{run['id']}/file", f"/v1/collection-runs/{collection_run['id']}/file"):
        file = story.client.get(path, headers=operator)
        assert file.status_code == 200, file.text
        assert bank.http.post("/files", content=file.content).status_code == 201
    statement = bank.http.post(f"/statements/{KLELINE.iban}")
    assert statement.status_code == 201, statement.text
    xml = {**operator, "Content-Type": "application/xml"}
    imported = story.client.post("/v1/bank-statements", content=statement.content, headers=xml)
    assert imported.status_code in (200, 201), imported.text
    assert (imported.json()["matched"], imported.json()["unmatched"]) == (5, 0), imported.json()
    assert call("get", f"/v1/payouts/{payout['id']}", operator, 200)["status"] == "paid"

    fee = 98 + 53 - 28  # 3.5 % of 28.00 and of 15.00 (52.5 → 53), less what the 8.00 refund returned
    assert payout["amount"] == 2800 + 1500 - 800 - fee
    assert story.balance("kleline:commission") == fee
    assert story.balance("kleline:suspense") == 0
    assert story.balance(KLELINE.in_transit_code) == 0
    assert story.balance("card:visa:receivable") == 0
    assert story.balance(KLELINE.safeguarding_code) == (2500 - 1500) + 2000 + fee
    assert trial_balance(story.kleline.db).balanced
