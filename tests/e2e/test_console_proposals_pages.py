"""The console's proposals page and the acts beside it, over HTTP on each backend without JavaScript: every kind of
proposal read in a clerk's words, decided by whoever holds its kind's power and never by its proposer; a
compliance user proposes a merchant's new commission rate from the merchant's page (errors shown at once, what was
typed kept) and the page links to it; a customer's verification level set from the console and the API, with the
reason in the audit trail; a role without the power is refused with nothing written."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.merchant_users import Actor
from kleline.money import Money
from kleline.staff.actor import StaffActor
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.web.console import proposals as proposals_page

from ..conftest import FakeClock
from ..integration.collections.test_receivables import in_debt
from ..operator_keys import operator_key
from .console_world import PUBLIC_URL, console_system, signed_in
from .dashboard_world import member, merchant
from .http import bearer

NEW_IBAN = "DE89370400440532013000"
KEY = StaffActor("key", "77", Role.COMPLIANCE)
FINANCE_KEY = StaffActor("key", "78", Role.FINANCE)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with console_system(database_url, clock) as system:
        yield system


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def actions(kleline: Kleline) -> list[str]:
    return [r.action for r in reversed(search(kleline.db, AuditFilters(), limit=500).records)]


def test_every_kind_reads_in_a_clerks_words_and_is_decided_only_with_its_power_never_by_its_proposer(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada, _ = in_debt(kleline, 1500)
    shop = merchant(kleline)
    change = kleline.bank_account_changes.request(Actor(member(kleline, shop, "owner@example.org")), NEW_IBAN)
    bank = kleline.proposals.propose_bank_account(KEY, shop, change.id)
    finance = signed_in(kleline, app, clock, "fin@example.org", Role.FINANCE)
    compliance = signed_in(kleline, app, clock, "cleo@example.org", Role.COMPLIANCE)
    compliance.get(f"/console/merchants/{shop}")
    assert compliance.post(f"/console/merchants/{shop}/commission-rate", rate="3,8").status_code == 303
    rate = kleline.proposals.list(kind="commission_rate")[0]
    write_off = kleline.proposals.propose_write_off(FINANCE_KEY, ada, Money(400, "EUR"))

    page = finance.get("/console/proposals")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Write €4.00 off the customer’s debt of €15.00" in text and "Ada Lovelace" in text
    assert "Change the commission from 3.5% to 3.8%" in text and "Proposed by cleo@example.org" in text
    assert "Pay the merchant into DE****************3000 instead of FR" in text and NEW_IBAN not in text
    assert "Proposed by operator key 77" in text
    # Finance decides the write-off only; compliance the rate and the bank account, its own rate only withdrawn.
    assert f"/console/proposals/{write_off.id}/approve" in text
    assert f"/console/proposals/{rate.id}/approve" not in text and f"/console/proposals/{bank.id}/approve" not in text
    own = html.unescape(compliance.get("/console/proposals").text)
    assert f"/console/proposals/{rate.id}/withdraw" in own and f"/console/proposals/{rate.id}/approve" not in own
    assert f"/console/proposals/{bank.id}/approve" in own and f"/console/proposals/{write_off.id}/approve" not in own

    before = actions(kleline)
    refused = finance.post(f"/console/proposals/{rate.id}/approve")
    assert refused.status_code == 403 and "does not allow this" in html.unescape(refused.text)
    assert compliance.post(f"/console/proposals/{rate.id}/approve").status_code == 403  # the proposer's own
    assert compliance.post(f"/console/proposals/{write_off.id}/reject", reason="no").status_code == 403
    assert finance.post("/console/proposals/prop_nobody/approve").status_code == 404
    assert actions(kleline) == before
    assert {p.status for p in kleline.proposals.list()} == {"pending"}

    only_rates = html.unescape(finance.get("/console/proposals?kind=commission_rate").text)
    assert rate.id in only_rates and write_off.id not in only_rates and bank.id not in only_rates
    second = signed_in(kleline, app, clock, "carl@example.org", Role.COMPLIANCE)
    second.get("/console/proposals?kind=commission_rate")
    approved = second.post(f"/console/proposals/{rate.id}/approve", kind="commission_rate", status="pending")
    assert approved.status_code == 303
    assert approved.headers["location"] == "/console/proposals?kind=commission_rate&status=pending"
    assert kleline.merchants.get(shop).fee_bps == 380
    no_reason = second.post(f"/console/proposals/{bank.id}/reject", reason=" ")
    assert no_reason.status_code == 400 and "Say why you reject it" in no_reason.text
    assert finance.post(f"/console/proposals/{write_off.id}/approve").status_code == 303
    done = html.unescape(finance.get("/console/proposals?status=approved").text)
    assert "Decided by carl@example.org" in done and "Decided by fin@example.org" in done
    assert bank.id not in done


def test_the_proposals_page_pages_its_list_and_speaks_french(
    kleline: Kleline, app: FastAPI, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proposals_page, "PER_PAGE", 1)
    first, second = merchant(kleline, "Librairie Kléber"), merchant(kleline, "Café Lumière")
    older = kleline.proposals.propose_commission_rate(KEY, first, 380)
    clock.advance(seconds=5)
    newer = kleline.proposals.propose_commission_rate(KEY, second, 320)
    support = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    page = html.unescape(support.get("/console/proposals?lang=fr").text)
    assert f'id="{newer.id}"' in page and f'id="{older.id}"' not in page
    assert "Propositions plus anciennes" in page
    assert "Changer la commission de 3,5\u00a0% à 3,2\u00a0%" in page
    assert 'action="/console/proposals/' not in page  # support reads, decides nothing
    after = html.unescape(support.get(f"/console/proposals?status=pending&after={newer.id}").text)
    assert f'id="{older.id}"' in after and f'id="{newer.id}"' not in after and "Propositions les plus récentes" in after
    home = support.get("/console").text
    assert 'href="/console/proposals"' in home
    merchant_page = html.unescape(support.get(f"/console/merchants/{first}").text)
    assert (
        f"/console/proposals?kind=commission_rate&amp;status=pending#{older.id}"
        in support.get(f"/console/merchants/{first}").text
    )
    assert "Changer la commission de 3,5\u00a0% à 3,8\u00a0%" in merchant_page
    assert 'action="/console/merchants/' not in merchant_page
    assert support.get("/console/money/proposals").headers["location"] == "/console/proposals?kind=suspense_resolution"


def test_a_compliance_user_proposes_a_rate_from_the_merchants_page_and_support_may_not(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    compliance = signed_in(kleline, app, clock, "cleo@example.org", Role.COMPLIANCE)
    page = html.unescape(compliance.get(f"/console/merchants/{shop}").text)
    assert f'action="/console/merchants/{shop}/commission-rate"' in page and "From 3% to 4%" in page
    for typed, wording in (
        ("", "Enter the new commission rate"),
        ("5", "Enter a rate from 3% to 4%"),
        ("3.333", "Enter a rate from 3% to 4%"),
        ("abc", "Enter a rate from 3% to 4%"),
        ("3.5", "3.5"),  # the rate it has already
    ):
        answer = compliance.post(f"/console/merchants/{shop}/commission-rate", rate=typed)
        assert answer.status_code == 400, typed
        text = html.unescape(answer.text)
        assert wording in text and 'aria-invalid="true"' in text and f'value="{typed}"' in text, typed
    assert kleline.proposals.list() == []
    support = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    support.get(f"/console/merchants/{shop}")
    before = actions(kleline)
    refused = support.post(f"/console/merchants/{shop}/commission-rate", rate="3.8")
    assert refused.status_code == 403 and "Your role (Support) does not allow this" in refused.text
    assert kleline.proposals.list() == [] and actions(kleline) == before
    proposed = compliance.post(f"/console/merchants/{shop}/commission-rate", rate="3.8 %")
    assert proposed.status_code == 303 and proposed.headers["location"] == f"/console/merchants/{shop}"
    shown = html.unescape(compliance.get(proposed.headers["location"]).text)
    assert "The new commission rate is proposed" in shown and "Change the commission from 3.5% to 3.8%" in shown
    again = compliance.post(f"/console/merchants/{shop}/commission-rate", rate="3.9")
    assert again.status_code == 409 and "already waits for a second person" in html.unescape(again.text)
    (proposal,) = kleline.proposals.list()
    assert (proposal.kind, proposal.parameters["fee_bps"]) == ("commission_rate", 380)
    assert kleline.merchants.get(shop).fee_bps == 350


def test_a_customers_verification_level_is_set_from_the_console_and_the_api_with_a_reason(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    ada, _ = in_debt(kleline, 100)
    compliance = signed_in(kleline, app, clock, "cleo@example.org", Role.COMPLIANCE)
    page = compliance.get(f"/console/customers/{ada}")
    assert f'action="/console/customers/{ada}/verification-level"' in page.text
    missing = compliance.post(f"/console/customers/{ada}/verification-level", level="verified", reason=" ")
    assert missing.status_code == 400 and 'aria-invalid="true"' in missing.text
    assert '<option value="verified" selected>' in missing.text
    for role, email in ((Role.SUPPORT, "sam@example.org"), (Role.FINANCE, "fin@example.org")):
        other = signed_in(kleline, app, clock, email, role)
        assert 'action="/console/customers/' not in other.get(f"/console/customers/{ada}").text
        before = actions(kleline)
        refused = other.post(f"/console/customers/{ada}/verification-level", level="verified", reason="ok")
        assert refused.status_code == 403 and "does not allow this" in refused.text
        assert actions(kleline) == before and kleline.customers.get(ada).kyc_level == "unverified"
    done = compliance.post(f"/console/customers/{ada}/verification-level", level="verified", reason="Passport seen")
    assert done.status_code == 303
    assert "The verification level is set" in compliance.get(f"/console/customers/{ada}").text
    assert kleline.customers.get(ada).kyc_level == "verified"
    (record,) = search(kleline.db, AuditFilters(action="customer_verified"), limit=5).records
    assert (record.before, record.after) == (
        {"kyc_level": "unverified"},
        {"kyc_level": "verified", "reason": "Passport seen"},
    )
    recorded = len(actions(kleline))
    again = compliance.post(f"/console/customers/{ada}/verification-level", level="verified", reason="Seen again")
    assert again.status_code == 303 and len(actions(kleline)) == recorded
    shown = html.unescape(compliance.get(f"/console/customers/{ada}").text)
    assert "already at this level: nothing changed" in shown and "The verification level is set" not in shown
    assert (
        compliance.post("/console/customers/cus_nobody/verification-level", level="verified", reason="x").status_code
        == 404
    )

    client = TestClient(app, base_url=PUBLIC_URL)
    path = f"/v1/customers/{ada}/verification-level"
    key = operator_key(kleline.db, Role.COMPLIANCE)
    back = client.post(path, json={"level": "unverified", "reason": "Passport expired"}, headers=bearer(key))
    assert back.status_code == 200 and back.json()["kyc_level"] == "unverified"
    count = len(actions(kleline))
    same = client.post(path, json={"level": "unverified", "reason": "again"}, headers=bearer(key))
    assert same.status_code == 200 and len(actions(kleline)) == count  # nothing to change, nothing recorded
    assert "customer_unverified" in actions(kleline)
    support_key = operator_key(kleline.db, Role.SUPPORT)
    refused = client.post(path, json={"level": "verified", "reason": "x"}, headers=bearer(support_key))
    assert refused.status_code == 403 and kleline.customers.get(ada).kyc_level == "unverified"
    invalid = client.post(path, json={"level": "gold", "reason": ""}, headers=bearer(key))
    assert invalid.status_code in (400, 422)
    assert client.post("/v1/customers/cus_nobody/verification-level", json={"level": "verified", "reason": "x"},
                       headers=bearer(key)).status_code == 404  # fmt: skip
