"""A merchant's introduction fee rate (issue 15) changes as its commission rate does: one operator proposes it over
HTTP (``202``, nothing changed), a second approves it, the staff audit trail records
``merchant_intro_fee_rate_changed`` with the rates before and after, and the merchant's next introduced customer's
payment carries the new rate while a payment confirmed before keeps the old one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kleline.bootstrap import Kleline
from kleline.cli import app as cli
from kleline.merchants import store as merchant_store
from kleline.payments.model import PaymentRequest
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..integration.payments.conftest import eur, shopper
from ..integration.payments.offer_rows import deliver_offer_with_sql
from ..operator_keys import operator_key
from .command_line import as_system_user
from .dashboard_world import merchant
from .http import bearer, problem


def _key(kleline: Kleline, role: Role) -> dict[str, str]:
    return bearer(operator_key(kleline.db, role, f"{role} key"))


def _introduced_payment(kleline: Kleline, shop: str, customer: str) -> tuple[int, int]:
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    paid = kleline.payments.confirm(payment.id, customer, "purse")
    return paid.intro_fee_bps, paid.introduction_fee


def test_an_introduction_fee_rate_proposed_by_one_operator_applies_when_another_approves_it(
    client: TestClient, kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock() - timedelta(days=1), answer="interested")
    carol, dave, finance = _key(kleline, Role.COMPLIANCE), _key(kleline, Role.COMPLIANCE), _key(kleline, Role.FINANCE)
    url = f"/v1/merchants/{shop}/intro-fee-rate"
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["intro_fee_bps"] == 500
    problem(client.post(url, json={"intro_fee_bps": 800}, headers=finance), 403, "forbidden")
    for refused in (-1, 2001, "800", 800.0):
        answer = client.post(url, json={"intro_fee_bps": refused}, headers=carol)
        assert problem(answer, 400, "validation_error")["param"] == "intro_fee_bps"
    same = client.post(url, json={"intro_fee_bps": 500}, headers=carol)
    assert problem(same, 400, "validation_error")["param"] == "intro_fee_bps"

    proposed = client.post(url, json={"intro_fee_bps": 800}, headers=carol)
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.json()
    assert (proposal["kind"], proposal["status"], proposal["parameters"]) == (
        "intro_fee_rate",
        "pending",
        {"intro_fee_bps": 800, "previous_intro_fee_bps": 500},
    )
    again = client.post(url, json={"intro_fee_bps": 900}, headers=dave)
    assert problem(again, 409, "proposal_pending")["proposal_id"] == proposal["id"]
    approve = f"/v1/proposals/{proposal['id']}/approve"
    problem(client.post(approve, headers=carol), 403, "same_approver")
    assert _introduced_payment(kleline, shop, ada.id) == (500, 100)  # nothing changed before the approval

    approved = client.post(approve, headers=dave)
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"] == {"intro_fee_bps": 800, "previous_intro_fee_bps": 500}
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["intro_fee_bps"] == 800
    records = list(reversed(search(kleline.db, AuditFilters(actor_kind="key"), limit=10).records))
    assert [r.action for r in records] == ["proposal_made", "merchant_intro_fee_rate_changed", "proposal_approved"]
    changed = records[1]
    assert (changed.subject_type, changed.subject_id, changed.before, changed.after) == (
        "merchant",
        shop,
        {"intro_fee_bps": 500},
        {"intro_fee_bps": 800, "proposal": proposal["id"]},
    )
    assert _introduced_payment(kleline, shop, ada.id) == (800, 160)


def test_an_approval_fails_when_the_rate_changed_since_the_proposal(client: TestClient, kleline: Kleline) -> None:
    shop = merchant(kleline)
    carol, dave = _key(kleline, Role.COMPLIANCE), _key(kleline, Role.COMPLIANCE)
    url = f"/v1/merchants/{shop}/intro-fee-rate"
    first = client.post(url, json={"intro_fee_bps": 800}, headers=carol).json()
    with kleline.db.transaction() as tx:  # changed behind the proposal's back
        merchant_store.set_intro_fee(tx, shop, 300)
    failed = client.post(f"/v1/proposals/{first['id']}/approve", headers=dave)
    body = problem(failed, 409, "proposal_failed")
    assert (body["proposal_id"], body["cause"]) == (first["id"], "intro_fee_rate_changed")
    assert client.get(f"/v1/merchants/{shop}", headers=dave).json()["intro_fee_bps"] == 300


def test_an_introduction_fee_rate_from_the_command_line_takes_a_second_system_user(
    kleline: Kleline, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    as_system_user(monkeypatch, database_url, "alice")
    runner = CliRunner()
    refused = runner.invoke(cli, ["merchants", "set-intro-fee-rate", shop, "2001"])
    assert refused.exit_code == 1 and "0 to 2000 basis points" in refused.output
    proposed = runner.invoke(cli, ["merchants", "set-intro-fee-rate", shop, "800"])
    assert proposed.exit_code == 0, proposed.output
    assert f"proposed to change {shop}'s introduction fee from 500 to 800 basis points" in proposed.output
    proposal = proposed.output.split(":", 1)[0]
    as_system_user(monkeypatch, database_url, "bob")
    approved = runner.invoke(cli, ["proposals", "approve", proposal])
    assert approved.exit_code == 0, approved.output
    assert kleline.merchants.get(shop).intro_fee_bps == 800
