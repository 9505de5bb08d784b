"""The console proposes a merchant's introduction fee rate (issue 15) from the merchant's page as it proposes the
commission rate: the page shows the current rate, refuses a rate out of range with what was typed kept, and a
second person approves the proposal on the proposals page, which the audit trail records."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .console_world import console_system, signed_in
from .dashboard_world import merchant


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with console_system(database_url, clock) as system:
        yield system


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


def test_a_compliance_user_proposes_an_introduction_fee_rate_that_a_second_one_approves(
    kleline: Kleline, app: FastAPI, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    cleo = signed_in(kleline, app, clock, "cleo@example.org", Role.COMPLIANCE)
    page = html.unescape(cleo.get(f"/console/merchants/{shop}").text)
    assert "Introduction fee" in page and "5%" in page
    assert f'action="/console/merchants/{shop}/intro-fee-rate"' in page

    empty = cleo.post(f"/console/merchants/{shop}/intro-fee-rate", intro_rate=" ")
    assert empty.status_code == 400 and "Enter the new introduction fee rate, in percent" in html.unescape(empty.text)
    too_high = cleo.post(f"/console/merchants/{shop}/intro-fee-rate", intro_rate="25")
    text = html.unescape(too_high.text)
    assert too_high.status_code == 400 and "Enter a rate from 0% to 20%" in text and 'value="25"' in text
    assert kleline.proposals.list(kind="intro_fee_rate") == []

    assert cleo.post(f"/console/merchants/{shop}/intro-fee-rate", intro_rate="7,5").status_code == 303
    again = cleo.post(f"/console/merchants/{shop}/intro-fee-rate", intro_rate="8")
    assert again.status_code == 409 and "introduction fee already waits" in html.unescape(again.text)
    proposal = kleline.proposals.list(kind="intro_fee_rate")[0]
    assert proposal.parameters == {"intro_fee_bps": 750, "previous_intro_fee_bps": 500}
    assert kleline.merchants.get(shop).intro_fee_bps == 500

    carl = signed_in(kleline, app, clock, "carl@example.org", Role.COMPLIANCE)
    listed = html.unescape(carl.get("/console/proposals").text)
    assert "Change the introduction fee from 5% to 7.5%" in listed
    assert cleo.post(f"/console/proposals/{proposal.id}/approve").status_code == 403  # never its proposer
    assert carl.post(f"/console/proposals/{proposal.id}/approve").status_code == 303
    assert kleline.merchants.get(shop).intro_fee_bps == 750
    assert "7.5%" in html.unescape(carl.get(f"/console/merchants/{shop}").text)
    records = search(kleline.db, AuditFilters(), limit=50).records
    changed = [r for r in records if r.action == "merchant_intro_fee_rate_changed"]
    assert [(r.subject_id, r.before, r.after and r.after["intro_fee_bps"]) for r in changed] == [
        (shop, {"intro_fee_bps": 500}, 750)
    ]
