"""The dashboard's audiences and offers over HTTP: an owner estimates and sends, every problem of the form at once
with what was typed kept, the budget's refusal worded; an accountant reads the offers but sends none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings

from ..conftest import FakeClock
from .dashboard_world import DashboardVisitor, authenticator, member, merchant
from .page_visitor import alert


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url, audience_monthly_budget_milli=1000), clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def browser(kleline: Kleline) -> Iterator[DashboardVisitor]:
    with TestClient(create_app(kleline), follow_redirects=False) as client:
        yield DashboardVisitor(client)


def test_an_owner_estimates_an_audience_and_sends_an_offer(
    kleline: Kleline, clock: FakeClock, browser: DashboardVisitor
) -> None:
    shop = merchant(kleline)
    owner = member(kleline, shop, "owner@example.org")
    totp = authenticator(kleline, owner, clock)
    page = browser.sign_in_dashboard("owner@example.org", totp, at=clock.now, next_path="/dashboard/audiences")
    assert page.status_code == 200 and "2 more estimates or offers" in page.text

    estimated = browser.post("/dashboard/audiences", spend="under_50", recency="30_days")
    assert estimated.status_code == 200, estimated.text
    assert "Fewer than 50 customers" in estimated.text and "1 more estimate or offer." in estimated.text
    assert '<option value="under_50" selected>' in estimated.text

    form = browser.get("/dashboard/offers/new")
    wrong = browser.post(
        "/dashboard/offers/new",
        title="",
        body="Dix pour cent sur les romans",
        link="http://librairie.example/",
        valid_until=(clock.now + timedelta(days=200)).date().isoformat(),
        category="books",
        form_key="offer-form-1",
    )
    assert form.status_code == 200 and wrong.status_code == 400
    summary = alert(wrong)
    for field in ("title", "link", "valid_until"):
        assert f'href="#{field}"' in summary
    assert "Dix pour cent sur les romans</textarea>" in wrong.text and '<option value="books" selected>' in wrong.text

    fields = {
        "title": "Romans -10 %",
        "body": "Dix pour cent sur les romans",
        "link": "https://librairie.example/romans",
        "valid_until": (clock.now + timedelta(days=7)).date().isoformat(),
        "form_key": "offer-form-2",
    }
    sent = browser.post("/dashboard/offers/new", **fields)
    assert sent.status_code == 303 and sent.headers["location"] == "/dashboard/offers"
    assert browser.post("/dashboard/offers/new", **fields).status_code == 303  # the same form again: sent once
    listed = browser.get("/dashboard/offers")
    assert "Romans -10 %" in listed.text and "fewer than 50 customers" in listed.text
    assert len(kleline.offers.list(shop, limit=10)) == 1
    activity = browser.get("/dashboard/settings/activity")
    assert "Sent an offer: Romans -10 %" in activity.text and "Estimated an audience" in activity.text

    refused = browser.post("/dashboard/audiences")
    assert refused.status_code == 403 and "privacy budget for this month is spent" in alert(refused)


def test_an_accountant_reads_the_offers_and_sends_none(
    kleline: Kleline, clock: FakeClock, browser: DashboardVisitor
) -> None:
    shop = merchant(kleline)
    member(kleline, shop, "accounts@example.org", "accountant")
    page = browser.sign_in_dashboard("accounts@example.org", next_path="/dashboard/offers")
    assert page.status_code == 200 and "No offer sent yet" in page.text and "/dashboard/offers/new" not in page.text
    assert browser.get("/dashboard/audiences").status_code == 403
    assert browser.get("/dashboard/offers/new").status_code == 403
