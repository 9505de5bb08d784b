"""The dashboard's payouts and statements in Chromium: an owner opens the payouts, one payout and the payments it
covers, then the statements, and downloads January's FEC and commission invoice. Then every state of these pages at
phone width and wide, in French and English: nothing overflows sideways, and axe finds no violation."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from kleline.bootstrap import Kleline

from ..conftest import FakeClock
from ..e2e.dashboard_world import PASSWORD
from ..e2e.payouts_world import Payouts, payouts_world, people
from .conftest import LiveKleline
from .layout import State, layout_problems

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)


def _sign_in(page: Page, email: str, owners: dict[str, pyotp.TOTP], clock: FakeClock) -> None:
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/dashboard/sign-in'] button[type=submit]").click()
    page.wait_for_selector("h1")
    if "/dashboard/sign-in/code" in page.url:
        clock.advance(seconds=30)
        page.locator("#code").fill(owners[email].at(clock.now))
        page.locator("form[action='/dashboard/sign-in/code'] button[type=submit]").click()
        page.wait_for_selector("h1")


def _world(kleline: Kleline, clock: FakeClock) -> tuple[Payouts, dict[str, pyotp.TOTP]]:
    world = payouts_world(kleline, clock)
    owners = people(kleline, world, clock)
    clock.now = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)  # January is over: its invoice can be issued
    return world, owners


def test_an_owner_follows_a_payout_to_its_payments_and_downloads_the_months_fec_and_invoice(
    live: LiveKleline, page: Page, clock: FakeClock, tmp_path: Path
) -> None:
    kleline = live.kleline
    world, owners = _world(kleline, clock)
    page.goto(f"{live.url}/dashboard/sign-in?next=/dashboard")
    _sign_in(page, "owner@example.org", owners, clock)

    page.get_by_role("link", name="Payouts").click()
    page.wait_for_url(f"{live.url}/dashboard/payouts")
    expect(page.locator(".items > li")).to_have_count(3)
    page.get_by_role("link", name=re.compile(r"€36\.67 sent on 15 Jan 2026")).click()
    page.wait_for_url(f"{live.url}/dashboard/payouts/{world.payouts[0]}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payout of €36.67")
    expect(page.locator(".facts").first).to_contain_text("the account is closed (AC04)")
    expect(page.get_by_role("link", name="CMD-1")).to_have_count(2)  # the sale and its refund
    expect(page.get_by_role("link", name="CMD-1").first).to_have_attribute(
        "href", f"/dashboard/payments/{world.payments[0]}"
    )

    page.get_by_role("link", name="Statements").click()
    page.wait_for_url(f"{live.url}/dashboard/statements")
    expect(page.get_by_role("heading", level=1)).to_have_text("Statements")
    for name, fmt in (("FEC January 2026", "fec"), ("Invoice (PDF) January 2026", "pdf")):
        with page.expect_download() as started:
            page.get_by_role("link", name=name, exact=True).click()
        download = started.value
        expected = kleline.reports.statement_document(world.shop, "2026-01", fmt)
        assert download.suggested_filename == expected.filename
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        assert saved.read_bytes() == expected.content, fmt
    assert saved.read_bytes().startswith(b"%PDF-")

    page.get_by_role("navigation", name="Your shop").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Activity").click()
    expect(page.locator(".items")).to_contain_text("Downloaded a statement: 2026-01, FEC")
    expect(page.locator(".items")).to_contain_text("Downloaded a statement: 2026-01, PDF")


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    world, owners = _world(kleline, clock)

    def at(email: str, path: str) -> State:
        def act(page: Page) -> None:
            _sign_in(page, email, owners, clock)
            page.goto(page.url.split("/dashboard")[0] + path)
            page.wait_for_selector("h1")

        name = f"{email.split('@')[0]}-{path.strip('/').replace('/', '-')}"
        return (name, f"/dashboard/sign-in?next={path}", act)

    return [
        at("owner@example.org", "/dashboard/payouts"),
        at("owner@example.org", f"/dashboard/payouts/{world.payouts[0]}"),
        at("owner@example.org", f"/dashboard/payouts/{world.payouts[1]}"),
        at("owner@example.org", "/dashboard/statements"),
        at("accountant@example.org", "/dashboard/statements/2026-02/pdf"),
        at("support@example.org", "/dashboard/statements"),
        at("fromager@example.org", f"/dashboard/payouts/{world.payouts[0]}"),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_payouts_or_statements_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
