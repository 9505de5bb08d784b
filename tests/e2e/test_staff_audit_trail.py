"""The staff audit trail end to end: a role without the power is refused and leaves no trace, a role with it acts
and is recorded with the state before and after, staff read the trail over HTTP and at the command line, nobody
can change it there, and ``kleline audit verify`` finds a row edited behind the database's back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app
from kleline.operators.service import authenticate_actor
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..integration.staff.attacker import edit_as_attacker
from ..operator_keys import operator_key
from .http import bearer, problem
from .test_merchants_api import register


class Staff:
    """One key per role, and the number each acts under in the trail."""

    def __init__(self, kleline: Kleline) -> None:
        self.keys = {role: operator_key(kleline.db, role, f"{role.value} robot") for role in Role}
        self.ids = {role: authenticate_actor(kleline.db, key).id for role, key in self.keys.items()}

    def __call__(self, role: Role) -> dict[str, str]:
        return bearer(self.keys[role])


@pytest.fixture
def staff(kleline: Kleline) -> Staff:
    return Staff(kleline)


def trail(client: TestClient, staff: Staff, **filters: Any) -> list[dict[str, Any]]:
    answer = client.get("/v1/audit-events", params=filters, headers=staff(Role.SUPPORT))
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


def test_finance_cannot_approve_a_merchant_and_compliance_can_which_the_trail_shows(
    client: TestClient, staff: Staff
) -> None:
    merchant = register(client)["id"]

    refused = client.post(f"/v1/merchants/{merchant}/approve", headers=staff(Role.FINANCE))
    assert "decide_merchants" in problem(refused, 403, "forbidden")["detail"]
    assert trail(client, staff, subject_id=merchant) == []
    assert client.get(f"/v1/merchants/{merchant}", headers=staff(Role.SUPPORT)).json()["status"] == "pending"

    approved = client.post(f"/v1/merchants/{merchant}/approve", headers=staff(Role.COMPLIANCE))
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    (record,) = trail(client, staff, subject_type="merchant", subject_id=merchant)
    assert record["object"] == "audit_event"
    assert (record["actor_kind"], record["actor_id"], record["role"]) == (
        "key",
        staff.ids[Role.COMPLIANCE],
        "compliance",
    )
    assert (record["action"], record["created_at"]) == ("merchant_approved", "2026-01-15T09:30:00.000000Z")
    assert record["before"] == {"status": "pending", "status_reason": None}
    assert record["after"] == {"status": "active", "status_reason": None}
    assert record["address"] == "testclient"
    one = client.get(f"/v1/audit-events/{record['id']}", headers=staff(Role.FINANCE))
    assert one.json() == record


def test_the_trail_filters_and_pages_as_every_list_does(client: TestClient, staff: Staff, clock: FakeClock) -> None:
    shops = [register(client, name=f"Boutique {i}", email=f"shop{i}@example.org")["id"] for i in range(3)]
    for shop in shops:
        clock.advance(hours=1)
        client.post(f"/v1/merchants/{shop}/approve", headers=staff(Role.COMPLIANCE))
    client.post(f"/v1/merchants/{shops[0]}/suspend", headers=staff(Role.COMPLIANCE), json={"reason": "Refunds"})

    approvals = trail(client, staff, action="merchant_approved", role="compliance")
    assert [r["subject_id"] for r in approvals] == shops[::-1]  # newest first
    (suspension,) = trail(client, staff, action="merchant_suspended")
    assert suspension["after"] == {"status": "suspended", "status_reason": "Refunds"}
    assert trail(client, staff, role="finance") == []
    assert len(trail(client, staff, actor_kind="key", actor_id=staff.ids[Role.COMPLIANCE])) == 4
    assert [
        r["subject_id"]
        for r in trail(client, staff, subject_type="merchant", **{"created[gte]": "2026-01-15T11:00:00Z"})
    ] == [
        shops[0],
        shops[2],
        shops[1],
    ]
    assert [
        r["subject_id"]
        for r in trail(client, staff, subject_type="merchant", **{"created[lt]": "2026-01-15T11:00:00Z"})
    ][-1] == shops[0]
    merchants = trail(client, staff, subject_type="merchant")
    assert trail(client, staff, subject_type="merchant", **{"from": "2026-01-15", "to": "2026-01-15"}) == merchants
    assert trail(client, staff, subject_type="merchant", **{"from": "2026-01-16"}) == []

    first = client.get("/v1/audit-events?limit=2", headers=staff(Role.SUPPORT)).json()
    assert first["has_more"] is True and len(first["data"]) == 2
    rest = client.get(
        f"/v1/audit-events?limit=100&starting_after={first['data'][-1]['id']}", headers=staff(Role.SUPPORT)
    ).json()
    seqs = [r["seq"] for r in first["data"] + rest["data"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs) and rest["has_more"] is False
    unknown = client.get("/v1/audit-events?starting_after=sae_nobody", headers=staff(Role.SUPPORT))
    assert problem(unknown, 404, "not_found")["param"] == "starting_after"
    both = client.get("/v1/audit-events?created[gte]=2026-01-15&from=2026-01-15", headers=staff(Role.SUPPORT))
    assert problem(both, 400, "validation_error")["param"] == "from"
    backwards = client.get("/v1/audit-events?from=2026-01-16&to=2026-01-15", headers=staff(Role.SUPPORT))
    problem(backwards, 400, "validation_error")
    assert problem(client.get("/v1/audit-events?role=auditor", headers=staff(Role.SUPPORT)), 400, "validation_error")


def test_nobody_can_change_the_trail_through_the_api(client: TestClient, staff: Staff) -> None:
    merchant = register(client)["id"]
    client.post(f"/v1/merchants/{merchant}/approve", headers=staff(Role.COMPLIANCE))
    (record,) = trail(client, staff, action="merchant_approved")
    admin = staff(Role.ADMIN)
    for method, path in [
        ("POST", "/v1/audit-events"),
        ("PUT", f"/v1/audit-events/{record['id']}"),
        ("PATCH", f"/v1/audit-events/{record['id']}"),
        ("DELETE", f"/v1/audit-events/{record['id']}"),
        ("DELETE", "/v1/audit-events"),
    ]:
        assert client.request(method, path, headers=admin, json={}).status_code == 405, (method, path)
    assert trail(client, staff, action="merchant_approved") == [record]
    document = client.get("/openapi.json").json()
    assert set(document["paths"]["/v1/audit-events"]) == {"get"}
    assert set(document["paths"]["/v1/audit-events/{event_id}"]) == {"get"}
    assert {"created[gte]", "created[lt]", "from", "to", "actor_kind", "role", "starting_after"} <= {
        parameter["name"] for parameter in document["paths"]["/v1/audit-events"]["get"]["parameters"]
    }
    approve = document["paths"]["/v1/merchants/{merchant_id}/approve"]["post"]
    assert approve["x-kleline-power"] == "decide_merchants"
    assert "(roles: compliance)" in approve["description"]


def test_the_command_line_lists_the_trail_and_its_check_fails_after_a_row_is_edited(
    client: TestClient, kleline: Kleline, staff: Staff, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLELINE_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()
    merchant = register(client)["id"]
    client.post(f"/v1/merchants/{merchant}/approve", headers=staff(Role.COMPLIANCE))
    suspended = runner.invoke(app, ["merchants", "suspend", merchant, "--reason", "Chargebacks"])
    assert suspended.exit_code == 0, suspended.output
    records = len(trail(client, staff))  # the keys made for the test, the approval and the suspension

    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert verified.output.strip() == f"ok, {records} records"
    listed = runner.invoke(app, ["audit", "list", "--subject-id", merchant])
    assert listed.exit_code == 0, listed.output
    assert "merchant_approved" in listed.output and "merchant_suspended" in listed.output
    assert "compliance" in listed.output and "Chargebacks" in listed.output
    only_cli = runner.invoke(app, ["audit", "list", "--actor-kind", "cli", "--action", "merchant_suspended"])
    assert "merchant_suspended" in only_cli.output and "merchant_approved" not in only_cli.output
    assert runner.invoke(app, ["audit", "list", "--role", "auditor"]).exit_code == 2

    (approval,) = trail(client, staff, action="merchant_approved")
    edit_as_attacker(kleline.db, f"UPDATE staff_audit SET role = 'admin' WHERE id = '{approval['id']}'")

    broken = runner.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"record {approval['seq']} ({approval['id']}) does not match its hash" in " ".join(broken.output.split())
    ledger = runner.invoke(app, ["ledger", "verify"])
    assert ledger.exit_code == 1
    assert "kleline audit verify" in ledger.output


def test_a_download_is_recorded_and_a_read_is_not(client: TestClient, staff: Staff) -> None:
    merchant = register(client)["id"]
    assert client.get("/v1/ledger/export", headers=staff(Role.SUPPORT)).status_code == 403
    assert client.get("/v1/ledger/trial-balance", headers=staff(Role.SUPPORT)).status_code == 200
    month = f"/v1/merchant-statements/2026-01?merchant_id={merchant}"
    assert client.get(month, headers=staff(Role.SUPPORT)).status_code == 200  # JSON: a read
    assert client.get(f"{month}&format=csv", headers=staff(Role.SUPPORT)).status_code == 403
    assert trail(client, staff, action="export_downloaded") == []

    exported = client.get("/v1/ledger/export", headers=staff(Role.FINANCE))
    assert exported.status_code == 200, exported.text
    statement = client.get(f"{month}&format=csv", headers=staff(Role.FINANCE))
    assert statement.status_code == 200, statement.text

    csv, books = trail(client, staff, action="export_downloaded")
    assert (books["subject_type"], books["subject_id"], books["role"]) == ("ledger", None, "finance")
    assert books["after"]["format"] == "beancount" and books["after"]["entries"] >= 0
    assert (csv["subject_type"], csv["subject_id"]) == ("merchant", merchant)
    assert csv["after"] == {"format": "csv", "month": "2026-01", "bytes": len(statement.content)}
