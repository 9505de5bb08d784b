"""A merchant's new bank account in the console, over HTTP on each backend: the home page counts what waits, the
approvals page lists the changes to check, the merchant's page shows the new account in full with its bank and the
other merchants paid into it, and compliance proposes it (a second person approves) or rejects it with a reason the
owners read; support reads it and is refused the acts."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.merchant_users import Actor
from kleline.proposals import ProposalKind
from kleline.staff.actor import command_line
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .console_world import ConsoleVisitor, console_system, signed_in
from .dashboard_world import member, merchant

NEW_IBAN = "FR7630004000000000000000151"
"""An account at BNP Paribas (bank code 30004), whose BIC the registry derives: BNPAFRPP."""


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with console_system(database_url, clock) as system:
        yield system


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


@pytest.fixture
def compliance(kleline: Kleline, app: FastAPI, clock: FakeClock) -> ConsoleVisitor:
    return signed_in(kleline, app, clock, "cora@example.org", Role.COMPLIANCE)


def _asked(kleline: Kleline, shop: str, iban: str = NEW_IBAN) -> str:
    """A new account asked for by the shop's owner, Olga; the change's id."""
    owner = member(kleline, shop, "olga@example.org", name="Olga Petit")
    return kleline.bank_account_changes.request(Actor(owner), iban).id


def _post(browser: ConsoleVisitor, path: str, **fields: str) -> tuple[int, str]:
    browser.get(path.rsplit("/bank-changes/", 1)[0])  # its form's CSRF token
    answer = browser.post(path, **fields)
    return answer.status_code, answer.headers.get("location", "") or html.unescape(answer.text)


def test_the_home_page_counts_what_waits_in_each_queue_and_links_to_it(
    kleline: Kleline, compliance: ConsoleVisitor
) -> None:
    calm = html.unescape(compliance.get("/console").text)
    assert "Nothing waits: no application, no bank account to check, no proposal, no line in suspense." in calm

    kleline.merchants.register(name="Atelier Nord", email="nord@example.fr", iban=NEW_IBAN)
    kleline.merchants.register(name="Atelier Sud", email="sud@example.fr", iban=NEW_IBAN)
    shop = merchant(kleline)
    _asked(kleline, shop)
    kleline.proposals.propose_commission_rate(command_line(), shop, 375)

    busy = html.unescape(compliance.get("/console").text)
    assert '<a href="/console/approvals">2 merchant applications wait for a decision</a>' in busy
    assert '<a href="/console/approvals#bank-changes-title">1 new bank account of a merchant to check</a>' in busy
    assert '<a href="/console/proposals">1 proposal waits for a second person</a>' in busy
    assert "in suspense" not in busy and "Nothing waits" not in busy
    french = html.unescape(compliance.get("/console?lang=fr").text)
    assert "Ce qui attend" in french and "2 candidatures de marchands attendent une décision" in french
    assert "1 nouveau compte bancaire de marchand à vérifier" in french


def test_compliance_reads_the_new_account_in_full_and_proposes_it_for_a_second_person(
    kleline: Kleline, compliance: ConsoleVisitor
) -> None:
    shop = merchant(kleline, "Librairie Kléber")
    change_id = _asked(kleline, shop)

    queue = html.unescape(compliance.get("/console/approvals").text)
    assert "1 new bank account to check" in queue
    assert f'href="/console/merchants/{shop}#bank-change-title">Librairie Kléber</a>' in queue
    assert NEW_IBAN not in queue and "FR*********************0151" in queue and "asked for by Olga Petit" in queue

    page = html.unescape(compliance.get(f"/console/merchants/{shop}").text)
    assert "New bank account to check" in page and "Asked for by Olga Petit" in page
    assert "FR76 3000 4000 0000 0000 0000 151" in page and "BNPAFRPP" in page and "BNP PARIBAS" in page
    assert "No other merchant has this IBAN" in page and "Propose approving this account" in page

    status, where = _post(compliance, f"/console/merchants/{shop}/bank-changes/{change_id}/propose")
    assert (status, where) == (303, f"/console/merchants/{shop}")
    proposal = kleline.proposals.pending(ProposalKind.BANK_ACCOUNT, shop)
    assert proposal is not None and proposal.parameters["change_id"] == change_id
    assert kleline.merchants.get(shop).iban != NEW_IBAN  # one pair of eyes changes nothing
    after = html.unescape(compliance.get(f"/console/merchants/{shop}").text)
    assert "The new bank account is proposed" in after and "Propose approving this account" not in after
    assert "A proposal to approve it waits for a second person (below)." in after and proposal.id in after

    again, answer = _post(compliance, f"/console/merchants/{shop}/bank-changes/{change_id}/propose")
    assert again == 409 and "A proposal to approve this account already waits for a second person" in answer


def test_the_page_names_the_other_merchants_already_paid_into_the_account(
    kleline: Kleline, compliance: ConsoleVisitor
) -> None:
    other, _ = kleline.merchants.register(name="Café Lumière", email="cafe@example.fr", iban=NEW_IBAN)
    shop = merchant(kleline)
    _asked(kleline, shop)
    page = html.unescape(compliance.get(f"/console/merchants/{shop}?lang=fr").text)
    assert "Nouveau compte bancaire à vérifier" in page and "D’autres marchands ont cet IBAN" in page
    assert f'<a href="/console/merchants/{other.id}">Café Lumière</a>' in page


def test_a_rejection_needs_a_reason_then_keeps_the_old_account_and_tells_the_owners(
    kleline: Kleline, compliance: ConsoleVisitor
) -> None:
    shop = merchant(kleline)
    before = kleline.merchants.get(shop).iban
    owner = member(kleline, shop, "owen@example.org")
    change_id = kleline.bank_account_changes.request(Actor(owner), NEW_IBAN).id
    path = f"/console/merchants/{shop}/bank-changes/{change_id}/reject"

    status, page = _post(compliance, path, reason="   ")
    assert status == 400 and 'id="bank_reason-error"' in page
    assert "Say why, in a sentence the merchant's owners will read" in page
    assert kleline.bank_account_changes.get(shop, change_id).status == "pending"

    reason = "The account holder is not the company named on its SIRET"
    assert _post(compliance, path, reason=reason) == (303, f"/console/merchants/{shop}")
    decided = kleline.bank_account_changes.get(shop, change_id)
    assert (decided.status, decided.reason) == ("rejected", reason)
    assert kleline.merchants.get(shop).iban == before
    shown = html.unescape(compliance.get(f"/console/merchants/{shop}").text)
    assert "The new bank account was rejected" in shown and "New bank account to check" not in shown
    records = search(kleline.db, AuditFilters(action="bank_account_change_rejected")).records
    assert [record.subject_id for record in records] == [shop]
    told = kleline.bank_account_changes.announcement(Actor(owner))
    assert told is not None and (told.id, told.status, told.reason) == (change_id, "rejected", reason)

    late, answer = _post(compliance, f"/console/merchants/{shop}/bank-changes/{change_id}/propose")
    assert late == 409 and "This bank account change was decided meanwhile" in answer


def test_support_reads_the_change_but_may_neither_propose_nor_reject_it(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    change_id = _asked(kleline, shop)
    support = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    page = html.unescape(support.get(f"/console/merchants/{shop}").text)
    assert "New bank account to check" in page and "FR76 3000 4000" in page
    assert "Propose approving this account" not in page and "Reject this account" not in page
    assert "approving and rejecting belong to compliance" in page
    for act, fields in (("propose", {}), ("reject", {"reason": "No"})):
        status, _ = _post(support, f"/console/merchants/{shop}/bank-changes/{change_id}/{act}", **fields)
        assert status == 403, act
    assert kleline.bank_account_changes.get(shop, change_id).status == "pending"
    assert kleline.proposals.pending(ProposalKind.BANK_ACCOUNT, shop) is None
