"""A merchant's bank account changes over HTTP, the operator's side: the list (the full IBAN, to check it), approval
by two operators (one proposes, a second approves the proposal) and rejection (idempotent, problem documents when
refused), operators only, one merchant's id never reaching another's change; the merchant's webhooks' events, with
the IBAN masked. And the same from the command line."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.merchant_users import Actor, BankAccountChange, MerchantUser

from ..conftest import FakeClock
from ..operator_keys import OPERATOR
from ..operator_keys import operator_key as role_key
from .dashboard_world import member, merchant
from .http import bearer, problem
from .test_merchants_api import customer_token, operator_key

NEW_IBAN = "DE89370400440532013000"
OTHER_IBAN = "FR7630006000011234567890189"
OLD_IBAN = "FR1420041010050500013M02606"


def _changes(client: TestClient, key: str, shop: str, query: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/merchants/{shop}/bank-account-changes{query}", headers=bearer(key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _asked(kleline: Kleline, owner: MerchantUser, iban: str = NEW_IBAN) -> BankAccountChange:
    return kleline.bank_account_changes.request(Actor(owner, "203.0.113.7"), iban)


def test_an_operator_reads_the_pending_change_in_full_and_approves_it_once(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    change = _asked(kleline, owner)
    key = operator_key(kleline)

    listed = _changes(client, key, shop, "?status=pending")
    assert listed["has_more"] is False and [c["id"] for c in listed["data"]] == [change.id]
    shown = listed["data"][0]
    assert (shown["iban"], shown["iban_last4"], shown["bic"], shown["status"]) == (
        NEW_IBAN,
        "3000",
        "COBADEFFXXX",
        "pending",
    )
    assert (shown["requested_by"], shown["decided_at"], shown["previous_iban"]) == (owner.id, None, None)

    clock.advance(minutes=10)
    path = f"/v1/merchants/{shop}/bank-account-changes/{change.id}/approve"
    proposed = client.post(path, headers=bearer(key) | {"Idempotency-Key": "approve-1"})
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert (proposal["kind"], proposal["status"], proposal["subject"]["id"]) == ("bank_account", "pending", shop)
    assert proposal["parameters"] == {"change_id": change.id, "iban": NEW_IBAN, "bic": "COBADEFFXXX"}
    replayed = client.post(path, headers=bearer(key) | {"Idempotency-Key": "approve-1"})
    assert replayed.json() == proposal and replayed.headers["Idempotent-Replayed"] == "true"
    problem(client.post(path, headers=bearer(key)), 409, "proposal_pending")
    assert _changes(client, key, shop, "?status=pending")["data"][0]["id"] == change.id  # one pair of eyes so far
    assert client.get(f"/v1/merchants/{shop}", headers=bearer(key)).json()["iban"] == OLD_IBAN

    clock.advance(minutes=10)
    second = role_key(kleline.db, None, "second")
    approved = client.post(f"/v1/proposals/{proposal['id']}/approve", headers=bearer(second))
    assert approved.status_code == 200, approved.text
    body = client.get(f"/v1/merchants/{shop}/bank-account-changes/{change.id}", headers=bearer(key)).json()
    assert (body["status"], body["decided_by"], body["previous_iban"]) == ("approved", "key 2", OLD_IBAN)
    assert client.get(f"/v1/merchants/{shop}", headers=bearer(key)).json()["iban"] == NEW_IBAN
    problem(client.post(path, headers=bearer(key)), 409, "bank_account_change_decided")
    late = client.post(
        f"/v1/merchants/{shop}/bank-account-changes/{change.id}/reject", json={"reason": "no"}, headers=bearer(key)
    )
    assert problem(late, 409, "bank_account_change_decided")["change_status"] == "approved"
    assert client.get(f"/v1/merchants/{shop}/bank-account-changes/{change.id}", headers=bearer(key)).json() == body


def test_a_rejection_names_its_reason_and_the_merchant_is_told_with_the_iban_masked(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    registered, secret = kleline.merchants.register(name="Librairie", email="shop@example.fr", iban=OLD_IBAN)
    shop = kleline.merchants.approve(registered.id, actor=OPERATOR).id
    change = _asked(kleline, member(kleline, shop, "owner@example.org"))
    key = operator_key(kleline)
    path = f"/v1/merchants/{shop}/bank-account-changes/{change.id}/reject"
    assert problem(client.post(path, json={}, headers=bearer(key)), 400, "validation_error")["param"] == "reason"
    blank = client.post(path, json={"reason": " \n "}, headers=bearer(key))
    assert problem(blank, 400, "validation_error")["param"] == "reason"
    clock.advance(minutes=1)
    rejected = client.post(path, json={"reason": "The holder is not the shop."}, headers=bearer(key))
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "The holder is not the shop.")
    approve = client.post(path.replace("/reject", "/approve"), headers=bearer(key))
    assert problem(approve, 409, "bank_account_change_decided")["change_status"] == "rejected"
    assert kleline.merchants.get(shop).iban == OLD_IBAN

    events = client.get("/v1/events", headers=bearer(secret)).json()["data"]
    assert [e["type"] for e in events] == [
        "merchant.bank_account.change_rejected",
        "merchant.bank_account.change_requested",
    ]
    assert events[0]["data"]["iban"] == "DE****************3000" and NEW_IBAN not in str(events)
    assert events[0]["data"]["reason"] == "The holder is not the shop."
    # The merchant's own key reads its events, not the operator's view of the change.
    assert problem(client.get(f"/v1/merchants/{shop}/bank-account-changes", headers=bearer(secret)), 403, "forbidden")


def test_only_operators_call_and_another_merchants_change_is_not_found(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    registered, secret = kleline.merchants.register(name="Librairie", email="shop@example.fr", iban=OLD_IBAN)
    shop = registered.id
    other = merchant(kleline, "Fromagerie")
    theirs = _asked(kleline, member(kleline, other, "other@example.org"))
    key = operator_key(kleline)
    approve = f"/v1/merchants/{shop}/bank-account-changes/{theirs.id}/approve"
    for headers, status, code in (
        ({}, 401, "unauthorized"),
        (bearer(secret), 403, "forbidden"),
        (bearer(customer_token(client)), 403, "forbidden"),
        (bearer(key), 404, "not_found"),  # the change is the other merchant's
    ):
        problem(client.post(approve, headers=headers), status, code)
    reject = approve.replace("/approve", "/reject")
    problem(client.post(reject, json={"reason": "no"}, headers=bearer(key)), 404, "not_found")
    problem(client.get(f"/v1/merchants/{shop}/bank-account-changes/{theirs.id}", headers=bearer(key)), 404, "not_found")
    problem(client.get("/v1/merchants/mer_nobody/bank-account-changes", headers=bearer(key)), 404, "not_found")
    cursor = f"?starting_after={theirs.id}"
    assert (
        problem(
            client.get(f"/v1/merchants/{shop}/bank-account-changes{cursor}", headers=bearer(key)), 404, "not_found"
        )["param"]
        == "starting_after"
    )
    assert kleline.bank_account_changes.get(other, theirs.id).status == "pending"
    assert kleline.merchants.get(other).iban == OLD_IBAN


def test_the_list_pages_newest_first(client: TestClient, kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    ids = []
    for iban in (NEW_IBAN, OTHER_IBAN, NEW_IBAN):
        clock.advance(minutes=1)
        ids.append(_asked(kleline, owner, iban).id)
        kleline.bank_account_changes.withdraw(Actor(owner), ids[-1])
    key = operator_key(kleline)
    first = _changes(client, key, shop, "?limit=2")
    assert ([c["id"] for c in first["data"]], first["has_more"]) == ([ids[2], ids[1]], True)
    rest = _changes(client, key, shop, f"?limit=2&starting_after={ids[1]}")
    assert ([c["id"] for c in rest["data"]], rest["has_more"]) == ([ids[0]], False)
    assert {c["decided_by"] for c in first["data"]} == {owner.id}
    assert _changes(client, key, shop, "?status=pending")["data"] == []
    problem(
        client.get(f"/v1/merchants/{shop}/bank-account-changes?status=lost", headers=bearer(key)),
        400,
        "validation_error",
    )


def test_the_openapi_document_describes_the_decisions_and_their_refusals(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    approve = paths["/v1/merchants/{merchant_id}/bank-account-changes/{change_id}/approve"]["post"]
    reject = paths["/v1/merchants/{merchant_id}/bank-account-changes/{change_id}/reject"]["post"]
    assert {"202", "401", "403", "404", "409"} <= approve["responses"].keys()
    assert {"200", "401", "403", "404", "409"} <= reject["responses"].keys()
    assert approve["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProposalOut")
    for operation in (approve, reject):
        assert "bank_account_change_decided" in operation["responses"]["409"]["description"]
        assert "application/problem+json" in operation["responses"]["409"]["content"]
    assert "400" in reject["responses"] and "requestBody" in reject
    assert {"get"} == set(paths["/v1/merchants/{merchant_id}/bank-account-changes"])


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, database_url: str) -> CliRunner:
    """Plain output, wide enough that Rich does not wrap table rows, on the test's database."""
    monkeypatch.setenv("COLUMNS", "240")
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(variable, raising=False)
    return CliRunner()


def test_operators_list_approve_and_reject_from_the_command_line(
    runner: CliRunner, kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, other = merchant(kleline), merchant(kleline, "Fromagerie")
    mine = _asked(kleline, member(kleline, shop, "owner@example.org"))
    clock.advance(minutes=1)
    theirs = _asked(kleline, member(kleline, other, "other@example.org"), OTHER_IBAN)

    queue = runner.invoke(cli, ["merchants", "bank-changes"])
    assert queue.exit_code == 0, queue.output
    assert queue.output.index(mine.id) < queue.output.index(theirs.id)  # oldest first
    assert NEW_IBAN in queue.output and OTHER_IBAN in queue.output and "Owner" in queue.output

    crossed = runner.invoke(cli, ["merchants", "approve-bank-change", shop, theirs.id])
    assert crossed.exit_code == 1 and "no bank account change" in crossed.output
    monkeypatch.setenv("LOGNAME", "alice")
    proposed = runner.invoke(cli, ["merchants", "approve-bank-change", shop, mine.id])
    assert proposed.exit_code == 0, proposed.output
    proposal = proposed.output.split(":", 1)[0]
    assert f"proposed to pay {shop} into {NEW_IBAN} (COBADEFFXXX), as its change {mine.id} asks" in proposed.output
    assert kleline.merchants.get(shop).iban == OLD_IBAN
    assert runner.invoke(cli, ["proposals", "approve", proposal]).exit_code == 1  # alice proposed it
    monkeypatch.setenv("LOGNAME", "bob")
    approved = runner.invoke(cli, ["proposals", "approve", proposal])
    assert approved.exit_code == 0, approved.output
    assert kleline.merchants.get(shop).iban == NEW_IBAN
    assert kleline.bank_account_changes.get(shop, mine.id).decided_by == "cli bob"

    no_reason = runner.invoke(cli, ["merchants", "reject-bank-change", other, theirs.id])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    rejected = runner.invoke(cli, ["merchants", "reject-bank-change", other, theirs.id, "--reason", "Not the holder"])
    assert rejected.exit_code == 0, rejected.output
    assert rejected.output.strip() == f"{theirs.id} is rejected: {other} keeps its account"
    history = runner.invoke(cli, ["merchants", "bank-changes", other, "--status", "rejected"])
    assert theirs.id in history.output and "Not the holder" in history.output
    assert kleline.bank_account_changes.get(other, theirs.id).decided_by == "command line"
    assert runner.invoke(cli, ["merchants", "bank-changes"]).output.count("bac_") == 0
    assert runner.invoke(cli, ["merchants", "bank-changes", "--status", "approved"]).exit_code == 1
