"""Four eyes over HTTP: an act proposed with one operator key (``202``, nothing done) applies when a second key
approves it; the proposer is refused (``403 same_approver``) and may withdraw it; the roles' powers hold at each
step; an approval retried with its Idempotency-Key answers the same; a proposal whose subject changed fails with a
precise problem; the queue lists, filters and pages; the OpenAPI document says all of it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.merchants import store as merchant_store
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..operator_keys import operator_key
from .command_line import as_system_user
from .dashboard_world import merchant
from .http import bearer, problem


def key(kleline: Kleline, role: Role | None) -> dict[str, str]:
    return bearer(operator_key(kleline.db, role, f"{role} key"))


def propose_rate(client: TestClient, headers: dict[str, str], shop: str, fee_bps: int = 380) -> dict[str, Any]:
    proposed = client.post(f"/v1/merchants/{shop}/commission-rate", json={"fee_bps": fee_bps}, headers=headers)
    assert proposed.status_code == 202, proposed.text
    body: dict[str, Any] = proposed.json()
    return body


def test_a_rate_proposed_with_one_key_applies_when_another_key_approves_it(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    carol, dave, finance = key(kleline, Role.COMPLIANCE), key(kleline, Role.COMPLIANCE), key(kleline, Role.FINANCE)
    problem(
        client.post(f"/v1/merchants/{shop}/commission-rate", json={"fee_bps": 380}, headers=finance), 403, "forbidden"
    )
    for refused in (299, 401, "380", 380.0):
        answer = client.post(f"/v1/merchants/{shop}/commission-rate", json={"fee_bps": refused}, headers=carol)
        assert problem(answer, 400, "validation_error")["param"] == "fee_bps"

    proposal = propose_rate(client, carol, shop)

    assert proposal == {
        "id": proposal["id"],
        "object": "proposal",
        "kind": "commission_rate",
        "status": "pending",
        "subject": {"type": "merchant", "id": shop},
        "parameters": {"fee_bps": 380, "previous_fee_bps": 350},
        "proposed_by": {"kind": "key", "id": "1", "role": "compliance"},
        "proposed_at": "2026-01-15T09:30:00.000000Z",
        "decided_by": None,
        "decided_at": None,
        "reason": None,
        "failure_code": None,
        "result": None,
    }
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["fee_bps"] == 350
    again = client.post(f"/v1/merchants/{shop}/commission-rate", json={"fee_bps": 390}, headers=dave)
    assert problem(again, 409, "proposal_pending")["proposal_id"] == proposal["id"]
    approve = f"/v1/proposals/{proposal['id']}/approve"
    problem(client.post(approve, headers=carol), 403, "same_approver")
    problem(client.post(approve, headers=finance), 403, "forbidden")  # finance does not decide merchants
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["fee_bps"] == 350

    clock.advance(minutes=5)
    approved = client.post(approve, headers=dave | {"Idempotency-Key": "approve-rate"})

    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["status"], body["decided_by"], body["decided_at"]) == (
        "approved",
        {"kind": "key", "id": "2", "role": "compliance"},
        "2026-01-15T09:35:00.000000Z",
    )
    assert body["result"] == {"fee_bps": 380, "previous_fee_bps": 350}
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["fee_bps"] == 380
    replayed = client.post(approve, headers=dave | {"Idempotency-Key": "approve-rate"})
    assert replayed.json() == body and replayed.headers["Idempotent-Replayed"] == "true"
    decided = client.post(approve, headers=dave)
    assert problem(decided, 409, "proposal_decided")["proposal_status"] == "approved"
    assert client.get(f"/v1/proposals/{proposal['id']}", headers=finance).json() == body
    records = reversed(search(kleline.db, AuditFilters(actor_kind="key"), limit=10).records)  # not the set-up's
    actions = [r.action for r in records]
    assert actions == ["proposal_made", "merchant_commission_rate_changed", "proposal_approved"]


def test_the_proposer_withdraws_and_another_operator_rejects_with_a_reason(
    client: TestClient, kleline: Kleline
) -> None:
    shop = merchant(kleline)
    carol, dave, support = key(kleline, Role.COMPLIANCE), key(kleline, Role.COMPLIANCE), key(kleline, Role.SUPPORT)
    first = propose_rate(client, carol, shop)
    problem(client.post(f"/v1/proposals/{first['id']}/withdraw", headers=dave), 403, "not_proposer")
    withdrawn = client.post(f"/v1/proposals/{first['id']}/withdraw", headers=carol)
    assert (withdrawn.status_code, withdrawn.json()["status"]) == (200, "withdrawn")
    assert withdrawn.json()["decided_by"]["id"] == "1"

    second = propose_rate(client, carol, shop, 320)
    reject = f"/v1/proposals/{second['id']}/reject"
    assert problem(client.post(reject, json={}, headers=dave), 400, "validation_error")["param"] == "reason"
    problem(client.post(reject, json={"reason": "no"}, headers=carol), 403, "same_approver")
    problem(client.post(reject, json={"reason": "no"}, headers=support), 403, "forbidden")
    rejected = client.post(reject, json={"reason": "The contract says 3.5 %."}, headers=dave)
    assert (rejected.json()["status"], rejected.json()["reason"]) == ("rejected", "The contract says 3.5 %.")
    problem(client.post(f"/v1/proposals/{second['id']}/withdraw", headers=carol), 409, "proposal_decided")
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["fee_bps"] == 350


def test_an_approval_that_can_no_longer_apply_fails_the_proposal_with_a_precise_problem(
    client: TestClient, kleline: Kleline
) -> None:
    shop = merchant(kleline)
    carol, dave = key(kleline, Role.COMPLIANCE), key(kleline, None)  # a key from before roles: every power
    proposal = propose_rate(client, carol, shop)
    with kleline.db.transaction() as tx:
        merchant_store.set_fee(tx, shop, 320)

    failed = client.post(f"/v1/proposals/{proposal['id']}/approve", headers=dave)

    body = problem(failed, 409, "proposal_failed")
    assert (body["proposal_id"], body["cause"]) == (proposal["id"], "commission_rate_changed")
    assert "was 350 basis points when the change was proposed and is 320 now" in body["detail"]
    shown = client.get(f"/v1/proposals/{proposal['id']}", headers=dave).json()
    assert (shown["status"], shown["failure_code"], shown["decided_by"]["id"]) == (
        "failed",
        "commission_rate_changed",
        "2",
    )
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["fee_bps"] == 320
    assert propose_rate(client, carol, shop)["parameters"] == {"fee_bps": 380, "previous_fee_bps": 320}


def test_the_queue_is_filtered_by_status_kind_and_subject_and_pages_newest_first(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    carol, dave = key(kleline, Role.COMPLIANCE), key(kleline, Role.COMPLIANCE)
    shops = [merchant(kleline, f"Shop {n}") for n in range(3)]
    ids = []
    for shop in shops:
        clock.advance(minutes=1)
        ids.append(propose_rate(client, carol, shop)["id"])
    client.post(f"/v1/proposals/{ids[0]}/approve", headers=dave)

    def listed(query: str) -> tuple[list[str], bool]:
        page = client.get(f"/v1/proposals{query}", headers=dave)
        assert page.status_code == 200, page.text
        return [p["id"] for p in page.json()["data"]], page.json()["has_more"]

    assert listed("") == ([ids[2], ids[1], ids[0]], False)
    assert listed("?status=pending") == ([ids[2], ids[1]], False)
    assert listed("?status=approved&kind=commission_rate") == ([ids[0]], False)
    assert listed("?kind=write_off") == ([], False)
    assert listed(f"?subject={shops[1]}") == ([ids[1]], False)
    assert listed("?limit=2") == ([ids[2], ids[1]], True)
    assert listed(f"?limit=2&starting_after={ids[1]}") == ([ids[0]], False)
    assert problem(client.get("/v1/proposals?starting_after=prop_x", headers=dave), 404, "not_found")["param"] == (
        "starting_after"
    )
    problem(client.get("/v1/proposals?status=lost", headers=dave), 400, "validation_error")
    problem(client.get("/v1/proposals/prop_x", headers=dave), 404, "not_found")
    problem(client.post("/v1/proposals/prop_x/approve", headers=dave), 404, "not_found")
    problem(client.get("/v1/proposals"), 401, "unauthorized")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/receivables/{customer_id}/write-offs",
        "/v1/suspense-items/{item_id}/resolve",
        "/v1/merchants/{merchant_id}/commission-rate",
        "/v1/merchants/{merchant_id}/bank-account-changes/{change_id}/approve",
    ],
)
def test_the_openapi_document_says_each_act_is_a_proposal(client: TestClient, path: str) -> None:
    operation = client.get("/openapi.json").json()["paths"][path]["post"]
    assert {"202", "400", "401", "403", "404", "409"} <= operation["responses"].keys()
    assert operation["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/ProposalOut")
    assert "proposal_pending" in operation["responses"]["409"]["description"]
    assert "second operator" in " ".join(operation["description"].split())


def test_the_openapi_document_describes_the_decisions(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/v1/proposals"]) == {"get"}
    for decision in ("approve", "reject", "withdraw"):
        operation = paths[f"/v1/proposals/{{proposal_id}}/{decision}"]["post"]
        assert {"200", "401", "403", "404", "409"} <= operation["responses"].keys()
        assert "application/problem+json" in operation["responses"]["403"]["content"]
    approve = paths["/v1/proposals/{proposal_id}/approve"]["post"]["responses"]
    assert "same_approver" in approve["403"]["description"] and "proposal_failed" in approve["409"]["description"]


def test_a_commission_rate_from_the_command_line_takes_a_second_system_user(
    kleline: Kleline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    as_system_user(monkeypatch, database_url, "alice")
    runner = CliRunner()

    refused = runner.invoke(cli, ["merchants", "set-commission-rate", shop, "401"])
    assert refused.exit_code == 1 and "300 to 400 basis points" in refused.output
    proposed = runner.invoke(cli, ["merchants", "set-commission-rate", shop, "380"])
    assert proposed.exit_code == 0, proposed.output
    assert f"proposed to change {shop}'s commission from 350 to 380 basis points" in proposed.output
    proposal = proposed.output.split(":", 1)[0]
    assert kleline.merchants.get(shop).fee_bps == 350
    own = runner.invoke(cli, ["proposals", "approve", proposal])
    assert own.exit_code == 1 and "a second person must approve it" in own.output
    as_system_user(monkeypatch, database_url, "bob")
    approved = runner.invoke(cli, ["proposals", "approve", proposal])
    assert approved.exit_code == 0, approved.output
    assert kleline.merchants.get(shop).fee_bps == 380
    listed = runner.invoke(cli, ["proposals", "list", "--status", "approved", "--kind", "commission_rate"])
    assert proposal in listed.output and "cli alice / cli bob" in listed.output
