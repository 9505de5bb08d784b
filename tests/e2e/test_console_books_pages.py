"""The console's books (``/console/books``) over HTTP on each backend: support reads the trial balance and an
account's movements but may neither run the integrity check nor download an export; finance runs the check (its run
is kept and shown) and downloads the beancount and FEC files, each download in the staff audit trail."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from kleline.api.app import create_app
from kleline.bootstrap import Kleline, build
from kleline.config import load_settings
from kleline.reports.integrity import last_check
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role

from ..conftest import FakeClock
from .checkout_world import card, customer, payment, shop
from .console_world import PUBLIC_URL, signed_in


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    settings = load_settings(database_url=database_url, public_url=PUBLIC_URL, sign_in_rate=1000, sign_up_rate=1000)
    system = build(settings, clock=clock)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def app(kleline: Kleline) -> FastAPI:
    return create_app(kleline)


@pytest.fixture
def merchant_id(kleline: Kleline) -> str:
    """A shop with one payment paid by card, so that the books hold something."""
    merchant = shop(kleline)
    ada = customer(kleline)
    kleline.payments.confirm(payment(kleline, merchant, 1500).id, ada.id, "card", card_id=card(kleline, ada.id))
    return merchant


def actions(kleline: Kleline) -> list[str]:
    return [r.action for r in reversed(search(kleline.db, AuditFilters(), limit=200).records)]


def test_support_reads_the_trial_balance_and_an_accounts_movements(
    kleline: Kleline, app: FastAPI, clock: FakeClock, merchant_id: str
) -> None:
    browser = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    page = browser.get("/console/books")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert "Debits and credits agree in every currency." in text
    assert "EUR" in text and 'href="/console/books"' in text
    codes = [line.code for line in kleline.ledger.accounts()]
    merchant_code = next(code for code in codes if merchant_id in code)
    movements = html.unescape(browser.get(f"/console/books?account={merchant_code}").text)
    assert f"Movements of {merchant_code}" in movements
    assert "€15.00" in movements or "€14.55" in movements  # the payment, with or without its commission
    unknown = html.unescape(browser.get("/console/books?account=nothing:here").text)
    assert "No account has this code." in unknown
    assert "The check has never run." in text and "Check now" not in text
    assert "Your role does not allow exports" in text


def test_support_may_neither_run_the_check_nor_download_an_export(
    kleline: Kleline, app: FastAPI, clock: FakeClock, merchant_id: str
) -> None:
    browser = signed_in(kleline, app, clock, "sam@example.org", Role.SUPPORT)
    browser.get("/console/books")
    before = actions(kleline)
    assert browser.post("/console/books/integrity-check").status_code == 403
    assert browser.get("/console/books/export.beancount").status_code == 403
    assert browser.get(f"/console/books/export.fec?merchant={merchant_id}&month=2026-12").status_code == 403
    assert last_check(kleline.db) is None
    assert actions(kleline) == before


def test_finance_runs_the_integrity_check_and_sees_its_result(
    kleline: Kleline, app: FastAPI, clock: FakeClock, merchant_id: str
) -> None:
    browser = signed_in(kleline, app, clock, "fay@example.org", Role.FINANCE)
    page = browser.get("/console/books")
    assert "Check now" in page.text
    forged = browser.post("/console/books/integrity-check", csrf="forged")
    assert forged.status_code == 403 and last_check(kleline.db) is None
    done = browser.post("/console/books/integrity-check")
    assert (done.status_code, done.headers["location"]) == (303, "/console/books#integrity")
    check = last_check(kleline.db)
    assert check is not None and check.ok and check.entries > 0 and check.run_by.startswith("staff st_")
    shown = html.unescape(browser.get("/console/books").text)
    assert "The integrity check ran: its result is below." in shown
    assert "Intact." in shown and "fay@example.org" in shown
    french = html.unescape(browser.get("/console/books?lang=fr").text)
    assert "Intègre." in french


def test_finance_downloads_the_exports_and_each_download_is_recorded(
    kleline: Kleline, app: FastAPI, clock: FakeClock, merchant_id: str
) -> None:
    browser = signed_in(kleline, app, clock, "fay@example.org", Role.FINANCE)
    beancount = browser.get("/console/books/export.beancount")
    assert beancount.status_code == 200 and "attachment" in beancount.headers["content-disposition"]
    assert "open" in beancount.text and "EUR" in beancount.text
    month = f"{clock.now:%Y-%m}"
    fec = browser.get(f"/console/books/export.fec?merchant={merchant_id}&month={month}")
    assert fec.status_code == 200, fec.text
    assert fec.content.startswith(b"JournalCode")
    assert actions(kleline).count("export_downloaded") == 2


def test_a_fec_form_that_cannot_be_answered_comes_back_with_every_problem_by_its_field(
    kleline: Kleline, app: FastAPI, clock: FakeClock, merchant_id: str
) -> None:
    browser = signed_in(kleline, app, clock, "fay@example.org", Role.FINANCE)
    both = browser.get("/console/books/export.fec?merchant=&month=2026-13")
    shown = html.unescape(both.text)
    assert both.status_code == 400 and "The books" in shown and 'class="error-summary"' in shown
    assert 'id="fec-merchant-error"' in shown and "Name the merchant by its id." in shown
    assert 'id="fec-month-error"' in shown and "Write the month as YYYY-MM, e.g. 2026-11." in shown
    assert 'name="month" autocomplete="off" inputmode="numeric" class="medium" value="2026-13"' in shown

    unknown = html.unescape(browser.get("/console/books/export.fec?merchant=mer_nobody&month=2025-11").text)
    assert 'id="fec-merchant-error"' in unknown and "No merchant has this id." in unknown
    assert 'value="mer_nobody"' in unknown and 'id="fec-month-error"' not in unknown

    next_year = f"{clock.now.year + 1}-01"
    future = browser.get(f"/console/books/export.fec?merchant={merchant_id}&month={next_year}&lang=fr")
    french = html.unescape(future.text)
    assert future.status_code == 400 and 'id="fec-month-error"' in french
    assert "Ce mois n’a pas encore commencé." in french and f'value="{merchant_id}"' in french
    assert actions(kleline).count("export_downloaded") == 0
