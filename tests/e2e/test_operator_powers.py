"""Every operator route against every role: a role with the route's power is let through, any other gets ``403
forbidden`` and, for a write, leaves every table of the database as it was (the audit trail included).

The table names each operator route once with the power it needs (``None``: anyone may call it, the public too), and
the first test checks that it names every route the application serves to an operator key, so that a new route
cannot go without its line. An allowed call is only required not to be refused for the role: the objects named do
not exist, so most answer ``404``; what each act does is the business of its own tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from kleline.api.auth import optional_operator, power_of, require_operator_or_merchant, require_party
from kleline.api.openapi import _calls
from kleline.api.routing import api_routes
from kleline.bootstrap import Kleline
from kleline.db.engine import Database
from kleline.staff.roles import ROLE_POWERS, Power, Role

from ..operator_keys import operator_key
from .http import bearer, problem

READ, STAFF, SETTINGS, MERCHANTS = Power.READ, Power.MANAGE_STAFF, Power.MANAGE_SETTINGS, Power.DECIDE_MERCHANTS
MONEY, SUSPENSE, RECEIVABLES, EXPORT = Power.RUN_MONEY, Power.RESOLVE_SUSPENSE, Power.MANAGE_RECEIVABLES, Power.EXPORT

APPLICATION = {
    "name": "Librairie du Bac SARL",
    "email": "contact@librairie-du-bac.fr",
    "iban": "FR1420041010050500013M02606",
    "fee_bps": 320,
}


@dataclass(frozen=True)
class Call:
    """One operator call: the route (``method``, ``route``: its path template), a ``path`` to send, and the power it
    needs (None: anybody's call)."""

    method: str
    route: str
    power: Power | None
    path: str = ""
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.path or self.route

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


CALLS = [
    # Books and payments: reading.
    Call("GET", "/v1/ledger/trial-balance", READ),
    Call("GET", "/v1/ledger/accounts/{code}", READ, "/v1/ledger/accounts/kleline:commission"),
    Call("GET", "/v1/ledger/accounts/{code}/movements", READ, "/v1/ledger/accounts/kleline:commission/movements"),
    Call("GET", "/v1/ledger/export", EXPORT),
    Call("GET", "/v1/payments", READ),
    Call("GET", "/v1/payments/{payment_id}", READ, "/v1/payments/pay_nobody"),
    Call("GET", "/v1/payments/{payment_id}/refunds", READ, "/v1/payments/pay_nobody/refunds"),
    Call("GET", "/v1/refunds/{refund_id}", READ, "/v1/refunds/re_nobody"),
    Call("GET", "/v1/receipts/{object_id}", READ, "/v1/receipts/pay_nobody"),
    Call("GET", "/v1/audit-events", READ),
    Call("GET", "/v1/audit-events/{event_id}", READ, "/v1/audit-events/sae_nobody"),
    # Merchants.
    Call("POST", "/v1/merchants", MERCHANTS, json=APPLICATION),  # with fee_bps: a commission is a decision
    Call("GET", "/v1/merchants", READ),
    Call("GET", "/v1/merchants/{merchant_id}", READ, "/v1/merchants/mer_nobody"),
    Call("PATCH", "/v1/merchants/{merchant_id}", SETTINGS, "/v1/merchants/mer_nobody", json={"description": "Books"}),
    Call("POST", "/v1/merchants/{merchant_id}/approve", MERCHANTS, "/v1/merchants/mer_nobody/approve"),
    Call("POST", "/v1/merchants/{merchant_id}/suspend", MERCHANTS, "/v1/merchants/mer_nobody/suspend"),
    Call("POST", "/v1/merchants/{merchant_id}/refuse", MERCHANTS, "/v1/merchants/mer_nobody/refuse", {"reason": "No"}),
    Call("POST", "/v1/merchants/{merchant_id}/keys", MERCHANTS, "/v1/merchants/mer_nobody/keys"),
    Call("GET", "/v1/merchants/{merchant_id}/keys", READ, "/v1/merchants/mer_nobody/keys"),
    Call("GET", "/v1/merchants/{merchant_id}/review", READ, "/v1/merchants/mer_nobody/review"),
    Call("GET", "/v1/merchants/{merchant_id}/summary", READ, "/v1/merchants/mer_nobody/summary"),
    Call(
        "POST",
        "/v1/merchants/{merchant_id}/commission-rate",
        MERCHANTS,
        "/v1/merchants/mer_nobody/commission-rate",
        {"fee_bps": 330},
    ),
    Call(
        "POST",
        "/v1/merchants/{merchant_id}/intro-fee-rate",
        MERCHANTS,
        "/v1/merchants/mer_nobody/intro-fee-rate",
        {"intro_fee_bps": 800},
    ),
    Call("DELETE", "/v1/merchants/{merchant_id}/keys/{key_id}", MERCHANTS, "/v1/merchants/mer_nobody/keys/key_1"),
    Call(
        "GET",
        "/v1/merchants/{merchant_id}/bank-account-changes",
        READ,
        "/v1/merchants/mer_nobody/bank-account-changes",
    ),
    Call(
        "GET",
        "/v1/merchants/{merchant_id}/bank-account-changes/{change_id}",
        READ,
        "/v1/merchants/mer_nobody/bank-account-changes/bac_1",
    ),
    Call(
        "POST",
        "/v1/merchants/{merchant_id}/bank-account-changes/{change_id}/approve",
        MERCHANTS,
        "/v1/merchants/mer_nobody/bank-account-changes/bac_1/approve",
    ),
    Call(
        "POST",
        "/v1/merchants/{merchant_id}/bank-account-changes/{change_id}/reject",
        MERCHANTS,
        "/v1/merchants/mer_nobody/bank-account-changes/bac_1/reject",
        json={"reason": "Not the shop's account"},
    ),
    Call("GET", "/v1/merchant-statements/{month}", READ, "/v1/merchant-statements/2026-01?merchant_id=mer_nobody"),
    Call(
        "GET",
        "/v1/merchant-statements/{month}",
        EXPORT,
        "/v1/merchant-statements/2026-01?merchant_id=mer_nobody&format=csv",
    ),
    # Malls: the directory is public; curating them is a setting.
    Call("GET", "/v1/malls", None),
    Call("GET", "/v1/malls/{mall_id}", None, "/v1/malls/mall_nobody"),
    Call("POST", "/v1/malls", SETTINGS, json={"name": "Galerie du Bac", "slug": "galerie-du-bac"}),
    Call("POST", "/v1/malls/{mall_id}/merchants", SETTINGS, "/v1/malls/mall_1/merchants", {"merchant_id": "mer_1"}),
    Call("DELETE", "/v1/malls/{mall_id}/merchants/{merchant_id}", SETTINGS, "/v1/malls/mall_1/merchants/mer_1"),
    # Money: settlement, collections, statements, suspense, receivables.
    Call("POST", "/v1/settlement-runs", MONEY),
    Call("GET", "/v1/settlement-runs", READ),
    Call("GET", "/v1/settlement-runs/{run_id}", READ, "/v1/settlement-runs/sr_nobody"),
    Call("GET", "/v1/settlement-runs/{run_id}/file", EXPORT, "/v1/settlement-runs/sr_nobody/file"),
    Call("GET", "/v1/payouts", READ),
    Call("GET", "/v1/payouts/{payout_id}", READ, "/v1/payouts/po_nobody"),
    Call("POST", "/v1/collection-runs", MONEY),
    Call("GET", "/v1/collection-runs", READ),
    Call("GET", "/v1/collection-runs/{run_id}", READ, "/v1/collection-runs/cr_nobody"),
    Call("GET", "/v1/collection-runs/{run_id}/file", EXPORT, "/v1/collection-runs/cr_nobody/file"),
    Call("GET", "/v1/collections", READ),
    Call("GET", "/v1/collections/{collection_id}", READ, "/v1/collections/dd_nobody"),
    Call(
        "POST",
        "/v1/bank-statements",
        MONEY,
        content=b"<Document/>",
        headers={"Content-Type": "application/xml"},
    ),
    Call("GET", "/v1/bank-statements", READ),
    Call("GET", "/v1/bank-statements/{statement_id}", READ, "/v1/bank-statements/bst_nobody"),
    Call("GET", "/v1/suspense-items", READ),
    Call("GET", "/v1/suspense-items/{item_id}", READ, "/v1/suspense-items/si_nobody"),
    Call(
        "POST",
        "/v1/suspense-items/{item_id}/resolve",
        SUSPENSE,
        "/v1/suspense-items/si_nobody/resolve",
        {"dismiss": True, "note": "another currency"},
    ),
    Call("GET", "/v1/receivables", READ),
    Call("POST", "/v1/receivables/{customer_id}/repayments", RECEIVABLES, "/v1/receivables/cus_nobody/repayments"),
    Call("POST", "/v1/receivables/{customer_id}/write-offs", RECEIVABLES, "/v1/receivables/cus_nobody/write-offs"),
    # Four eyes: anyone reads proposals; deciding one needs its act's power, which the service checks (a role
    # without it is refused there, with the proposal named: the route itself asks only to read).
    Call("GET", "/v1/proposals", READ),
    Call("GET", "/v1/proposals/{proposal_id}", READ, "/v1/proposals/prop_nobody"),
    Call("POST", "/v1/proposals/{proposal_id}/approve", READ, "/v1/proposals/prop_nobody/approve"),
    Call("POST", "/v1/proposals/{proposal_id}/reject", READ, "/v1/proposals/prop_nobody/reject", {"reason": "No"}),
    Call("POST", "/v1/proposals/{proposal_id}/withdraw", READ, "/v1/proposals/prop_nobody/withdraw"),
    # Figures and people, for the console.
    Call("GET", "/v1/reports/growth", READ),
    Call("GET", "/v1/reports/growth", EXPORT, "/v1/reports/growth?format=csv"),
    Call("GET", "/v1/reports/growth.csv", EXPORT),
    Call("GET", "/v1/safeguarding", READ),
    Call("GET", "/v1/customers", READ, "/v1/customers?query=ada"),
    Call("GET", "/v1/customers/{customer_id}", READ, "/v1/customers/cus_nobody"),
    Call(
        "POST",
        "/v1/customers/{customer_id}/verification-level",
        Power.VERIFY_CUSTOMERS,
        "/v1/customers/cus_nobody/verification-level",
        json={"level": "verified", "reason": "Identity documents checked"},
    ),
    # Staff.
    Call("POST", "/v1/operator-keys", STAFF, json={"label": "nightly settlement", "role": "finance"}),
    Call("GET", "/v1/operator-keys", STAFF),
    Call("DELETE", "/v1/operator-keys/{key_id}", STAFF, "/v1/operator-keys/999999"),
]

_OPERATOR_DEPENDENCIES = {require_operator_or_merchant, require_party, optional_operator}
ROLES = [*Role, None]


def _operator_routes(client: TestClient) -> set[tuple[str, str]]:
    """Every (method, path) of the application that an operator key may call."""
    found = set()
    for path, route in api_routes(client.app):  # type: ignore[arg-type]
        calls = list(_calls(route.dependant))
        if any(power_of(call) is not None or call in _OPERATOR_DEPENDENCIES for call in calls):
            found.update((method, path) for method in route.methods or ())
    return found


def _everything(db: Database) -> dict[str, list[str]]:
    """Every row of every table, in a stable order: equal snapshots mean that nothing was written."""
    tables = sorted(set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"})
    with db.transaction(write=False) as tx:
        return {table: sorted(repr(tuple(row)) for row in tx.fetchall(f"SELECT * FROM {table}")) for table in tables}


def _allowed(role: Role | None, power: Power | None) -> bool:
    return power is None or role is None or power in ROLE_POWERS[role]


def _send(client: TestClient, call: Call, key: str) -> Any:
    return client.request(
        call.method, call.url, json=call.json, content=call.content, headers={**bearer(key), **call.headers}
    )


def test_the_table_names_every_operator_route_once(client: TestClient) -> None:
    named = {(call.method, call.route) for call in CALLS}
    assert named == _operator_routes(client)
    assert len({str(call) for call in CALLS}) == len(CALLS)


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role.value if role else "before-roles")
def test_each_role_may_make_exactly_the_calls_its_powers_allow(
    client: TestClient, kleline: Kleline, role: Role | None
) -> None:
    key = operator_key(kleline.db, role)
    wrong = []
    for call in CALLS:
        before = _everything(kleline.db) if call.writes and not _allowed(role, call.power) else None
        answer = _send(client, call, key)
        if _allowed(role, call.power):
            if answer.status_code == 403:
                wrong.append(f"{call}: refused to {role}, whose role has {call.power}: {answer.text}")
            continue
        if answer.status_code != 403:
            wrong.append(f"{call}: {answer.status_code} for {role}, which lacks {call.power}")
            continue
        body = problem(answer, 403, "forbidden")
        if call.power is not None and call.power.value not in body["detail"]:
            wrong.append(f"{call}: the refusal does not name the power: {body['detail']}")
        if before is not None and _everything(kleline.db) != before:
            wrong.append(f"{call}: refused to {role}, and yet something was written")
    assert wrong == []


def test_a_key_of_each_role_reads_the_malls_directory_as_operators_do_and_the_public_as_the_public(
    client: TestClient, kleline: Kleline
) -> None:
    registered = client.post("/v1/merchants", json={**APPLICATION, "fee_bps": None})
    assert registered.status_code == 201, registered.text
    admin = bearer(operator_key(kleline.db, Role.ADMIN))
    mall = client.post("/v1/malls", headers=admin, json={"name": "Galerie du Bac", "slug": "galerie-du-bac"}).json()
    placed = client.post(
        f"/v1/malls/{mall['id']}/merchants", headers=admin, json={"merchant_id": registered.json()["id"]}
    )
    assert placed.status_code == 200, placed.text
    support = bearer(operator_key(kleline.db, Role.SUPPORT))
    assert client.get(f"/v1/malls/{mall['id']}", headers=support).json()["merchant_ids"] == [registered.json()["id"]]
    assert client.get(f"/v1/malls/{mall['id']}").json()["merchant_ids"] == []  # pending: not in the public directory
