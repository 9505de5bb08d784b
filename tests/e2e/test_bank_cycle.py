"""The whole loop with the bank in a process of its own: card traffic over TCP, payouts and collections as SEPA
files, the bank's camt.053 statement reconciled, and every account where the story says it must be.

Kleline is the API application (in this process) with ``KLELINE_BANK_URL=iso8583://...`` pointing at
``kleline bank serve``; the test plays the operator who carries files to the bank and statements back, as an EBICS
client would.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.ledger.audit import trial_balance
from kleline.worker.sweeps import retry_reversals

from ..bank_serve import KLELINE, VISA, Bank, bank_serve
from ..conftest import FakeClock
from ..operator_keys import operator_key
from .http import bearer

SHOP_IBAN = "FR1420041010050500013M02606"
ADA_IBAN = "FR7630006000011234567890189"
BOB_IBAN = "DE89370400440532013000"
PASSWORD = "correct horse battery staple"


def kleline_for(bank: Bank, database_url: str, clock: FakeClock, **settings: Any) -> Kleline:
    """Kleline whose card network is ``bank``'s, over TCP."""
    settings = {"bank_timeout_seconds": 2.0, **settings}
    system = build(load_settings(database_url=database_url, bank_url=bank.url, **settings), clock=clock)
    open_system_accounts(system)
    return system


@pytest.fixture
def bank(tmp_path: Path) -> Iterator[Bank]:
    with bank_serve("--state", str(tmp_path / "bank")) as serving:
        yield serving


class Story:
    """An operator, an approved bookshop, and two customers (Ada pays by card and purse, Bob by direct debit)."""

    def __init__(self, client: TestClient, kleline: Kleline) -> None:
        self.client = client
        self.kleline = kleline
        self.operator = bearer(operator_key(kleline.db))
        created = self.call("post", "/v1/merchants", self.operator, 201, json=_shop())
        self.shop_id = created["id"]
        self.call("post", f"/v1/merchants/{self.shop_id}/approve", self.operator, 200)
        self.shop = bearer(created["secret_key"])
        self.ada_id, self.ada = self.customer("ada@example.org")
        self.bob_id, self.bob = self.customer("bob@example.org")

    def call(self, method: str, path: str, headers: dict[str, str], status: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def customer(self, email: str) -> tuple[str, dict[str, str]]:
        signed_up = self.call(
            "post", "/v1/customers", {}, 201, json={"email": email, "password": PASSWORD, "name": "C"}
        )
        token = self.call("post", "/v1/auth/token", {}, 201, json={"email": email, "password": PASSWORD})
        return signed_up["id"], bearer(token["token"])

    def balance(self, code: str) -> int:
        return self.kleline.ledger.balance(code).posted


def _shop() -> dict[str, Any]:
    return {"name": "Librairie Kléber", "email": "shop@example.fr", "iban": SHOP_IBAN, "fee_bps": 350}


def test_purchase_capture_settlement_statement_reconciled_with_every_account_as_expected(
    bank: Bank, database_url: str, clock: FakeClock
) -> None:
    kleline = kleline_for(bank, database_url, clock)
    try:
        with TestClient(create_app(kleline)) as client:
            story = Story(client, kleline)
            _live_the_month(story, bank)
    finally:
        kleline.close()


def _live_the_month(story: Story, bank: Bank) -> None:
    call, operator = story.call, story.operator
    # Ada registers her card (a zero-amount check at the issuer, over TCP) and tops up her purse with it.
    card = call("post", "/v1/wallet/cards", story.ada, 201, json=_card())
    top_up = call(
        "post", "/v1/wallet/top-ups", story.ada, 201, json={"amount": 2500, "currency": "EUR", "card_id": card["id"]}
    )
    assert top_up["status"] == "succeeded", top_up
    # She buys a 28.00 book by card (captured at once) and a 15.00 one from her purse; the shop refunds 8.00.
    by_card = call("post", "/v1/payments", story.shop, 201, json={"amount": 2800, "currency": "EUR"})
    paid = call(
        "post", f"/v1/payments/{by_card['id']}/confirm", story.ada, 200, json={"method": "card", "card_id": card["id"]}
    )
    assert paid["status"] == "succeeded", paid
    by_purse = call("post", "/v1/payments", story.shop, 201, json={"amount": 1500, "currency": "EUR"})
    assert (
        call("post", f"/v1/payments/{by_purse['id']}/confirm", story.ada, 200, json={"method": "purse"})["status"]
        == "succeeded"
    )
    refund = call("post", "/v1/refunds", story.shop, 201, json={"payment_id": by_card["id"], "amount": 800})
    assert refund["status"] == "succeeded", refund
    # Bob tops up 20.00 by direct debit from his German account.
    account = call(
        "post",
        "/v1/wallet/bank-accounts",
        story.bob,
        201,
        json={"iban": BOB_IBAN, "holder_name": "Bob", "mandate_accepted": True},
    )
    debit = call(
        "post",
        "/v1/wallet/top-ups",
        story.bob,
        201,
        json={"amount": 2000, "currency": "EUR", "bank_account_id": account["id"]},
    )
    assert debit["status"] == "succeeded", debit

    # The operator settles the shop and collects Bob's debit; the files go to the bank, the statement comes back.
    run = call("post", "/v1/settlement-runs", operator, 201, json={})
    [payout] = run["payouts"]
    assert (payout["merchant_id"], payout["status"]) == (story.shop_id, "in_transit")
    assert story.balance(f"merchant:{story.shop_id}:balance") == 0
    pain001 = story.client.get(f"/v1/settlement-runs/{run['id']}/file", headers=operator)
    collection_run = call("post", "/v1/collection-runs", operator, 201, json={})
    pain008 = story.client.get(f"/v1/collection-runs/{collection_run['id']}/file", headers=operator)
    for file in (pain001, pain008):
        assert file.status_code == 200, file.text
        assert bank.http.post("/files", content=file.content).status_code == 201
    statement = bank.http.post(f"/statements/{KLELINE.iban}")
    assert statement.status_code == 201, statement.text

    imported = story.client.post(
        "/v1/bank-statements", content=statement.content, headers={**operator, "Content-Type": "application/xml"}
    )
    assert imported.status_code in (200, 201), imported.text
    # Lines: Ada's top-up and her card payment settled by the card network, the refund debited back, the payout,
    # Bob's collection: all matched, nothing in suspense.
    assert (imported.json()["matched"], imported.json()["unmatched"]) == (5, 0), imported.json()
    assert call("get", f"/v1/payouts/{payout['id']}", operator, 200)["status"] == "paid"
    assert call("get", "/v1/suspense-items?status=open", operator, 200)["data"] == []
    [event] = [e for e in call("get", "/v1/events", story.shop, 200)["data"] if e["type"] == "payout.paid"]
    assert (event["data"]["id"], event["data"]["status"]) == (payout["id"], "paid")

    # Every account where the story puts it.
    fee = 98 + 53 - 28  # 3.5 % of 28.00 (98) and of 15.00 (52.5 → 53), less what the 8.00 refund returned (28)
    assert payout["amount"] == 2800 + 1500 - 800 - fee  # the shop's whole net turnover
    assert story.balance("kleline:commission") == fee
    assert story.balance("kleline:suspense") == 0
    assert story.balance(KLELINE.in_transit_code) == 0
    assert story.balance("card:visa:receivable") == 0
    assert story.balance(f"customer:{story.ada_id}:purse") == 2500 - 1500
    assert story.balance(f"customer:{story.bob_id}:purse") == 2000
    # What the bank holds for Kleline is exactly what Kleline owes its customers plus what it earned.
    assert story.balance(KLELINE.safeguarding_code) == (2500 - 1500) + 2000 + fee
    assert trial_balance(story.kleline.db).balanced

    # The same statement again changes nothing.
    before = {code: story.balance(code) for code in (KLELINE.safeguarding_code, "kleline:suspense")}
    again = story.client.post(
        "/v1/bank-statements", content=statement.content, headers={**operator, "Content-Type": "application/xml"}
    )
    assert again.status_code in (200, 201), again.text
    assert {code: story.balance(code) for code in before} == before


def _card() -> dict[str, Any]:
    return {"number": VISA.number, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder_name": "Ada Lovelace"}


def test_a_bank_killed_mid_authorisation_keeps_the_hold_until_kleline_reverses_it(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> None:
    state = str(tmp_path / "bank")
    with bank_serve("--state", state) as first:
        ports = ("--port", str(first.port), "--files-port", str(first.files_port))
        kleline = kleline_for(first, database_url, clock, bank_timeout_seconds=20.0)
    try:
        with TestClient(create_app(kleline)) as client:
            with bank_serve("--state", state, *ports):
                story = Story(client, kleline)
                card = story.call("post", "/v1/wallet/cards", story.ada, 201, json=_card())["id"]
            # The bank comes back slow (every answer 30 s late) and is killed while it holds Ada's 22.00.
            with bank_serve("--state", state, "--latency-ms", "30000", *ports) as slow:
                payment = story.call("post", "/v1/payments", story.shop, 201, json={"amount": 2200, "currency": "EUR"})
                answer: dict[str, Any] = {}
                body = {"method": "card", "card_id": card}
                path = f"/v1/payments/{payment['id']}/confirm"
                confirming = threading.Thread(
                    target=lambda: answer.update(story.call("post", path, story.ada, 200, json=body))
                )
                confirming.start()
                _wait_for_hold(slow)
                slow.process.send_signal(signal.SIGKILL)
                confirming.join(60)
            assert (answer["status"], answer["failure_code"]) == ("failed", "issuer_unavailable"), answer
            with bank_serve("--state", state, *ports) as back:
                assert _held(back) == "22.00"  # the restarted network remembers the hold...
                clock.advance(minutes=5)
                assert retry_reversals(kleline) == 1
                assert _held(back) == "0.00"  # ...until Kleline's queued reversal reaches it
                assert retry_reversals(kleline) == 0
                assert story.balance(f"customer:{story.ada_id}:purse") == 0
    finally:
        kleline.close()


def _held(bank: Bank) -> str:
    held: str = bank.http.get(f"/cards/{VISA.number}/balance").json()["held"]
    return held


def _wait_for_hold(bank: Bank) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if _held(bank) != "0.00":
            return
        time.sleep(0.05)
    raise AssertionError("the authorisation never reached the issuer")
