"""The console's proposals page and the acts beside it in Chromium, in each of their states (every kind waiting, seen
by a second person with a rejection opened and refused for want of a reason, by the proposer, decided ones, support's
read-only view; a merchant's page with its pending proposals and its rate form refused; a customer's page with its
verification form refused), at phone width and wide, in French and English: nothing overflows sideways, and axe finds
no violation. Set ``KLELINE_SCREENSHOTS`` to keep a screenshot of each."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.merchant_users import Actor
from kleline.money import Money
from kleline.reconciliation import ResolutionRequest
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import staff_member
from ..e2e.dashboard_world import member, merchant
from ..integration.collections.test_receivables import in_debt
from ..integration.reconciliation.conftest import credit, statement
from .conftest import LiveKleline
from .layout import State, layout_problems
from .test_console_in_chromium import code_step, password_step

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
COMPLIANCE = "marie-christine.de-la-tour-d-auvergne@conformite-et-risques.kleline.example"


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    open_system_accounts(kleline)
    ada, _ = in_debt(kleline, 1_500)
    kleline.reconciliation.import_document(
        statement(kleline, credit("REF-3", 99_999, "UNKNOWN-REFERENCE-FROM-A-BANK-12345")), actor=command_line()
    )
    shop = merchant(kleline, "Librairie-Papeterie des Quatre Saisons du Faubourg Saint-Antoine")
    other = merchant(kleline, "Café Lumière")
    change = kleline.bank_account_changes.request(
        Actor(member(kleline, shop, "owner@example.org")), "DE89370400440532013000"
    )
    kleline.bank_account_changes.request(
        Actor(member(kleline, other, "cafe@example.org")), "FR7630004000000000000000151"
    )
    _, compliance = staff_member(kleline, COMPLIANCE, Role.COMPLIANCE, clock)
    second, _ = staff_member(kleline, "second@kleline.example", Role.COMPLIANCE, clock)
    finance, _ = staff_member(kleline, "finance@kleline.example", Role.FINANCE, clock)
    _, support = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)
    proposals = kleline.proposals
    proposals.propose_bank_account(second.actor(None), shop, change.id)
    proposals.propose_commission_rate(second.actor(None), shop, 375)
    proposals.propose_intro_fee_rate(second.actor(None), shop, 750)
    proposals.propose_write_off(finance.actor(None), ada, Money(1_000, "EUR"))
    (item,), _ = kleline.suspense.items(status="open")
    proposals.propose_suspense_resolution(
        finance.actor(None), item.id, ResolutionRequest("account", "kleline:commission", "A fee the bank refunded")
    )
    mine = proposals.propose_commission_rate(command_line(), other, 320)
    proposals.reject(second.actor(None), mine.id, "The merchant's contract says 3.5 % until next year, see the file")

    def sign_in(page: Page, email: str = COMPLIANCE, totp: pyotp.TOTP = compliance) -> None:
        password_step(page, email)
        code_step(page, totp, clock)

    def as_support(page: Page) -> None:
        sign_in(page, "support@kleline.example", support)

    def reject_refused(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()
        page.locator("form[action$='/reject'] button").first.click()
        page.wait_for_selector(".error-summary")

    def rate_refused(page: Page) -> None:
        sign_in(page)
        page.locator("#rate").fill("4,5")
        page.locator("form[action$='/commission-rate'] button").click()
        page.wait_for_selector(".error-summary")

    def intro_rate_refused(page: Page) -> None:
        sign_in(page)
        page.locator("#intro_rate").fill("25")
        page.locator("form[action$='/intro-fee-rate'] button").click()
        page.wait_for_selector(".error-summary")

    def bank_reason_missing(page: Page) -> None:
        sign_in(page)
        page.locator("form[action$='/reject'] button").click()
        page.wait_for_selector(".error-summary")

    def level_refused(page: Page) -> None:
        sign_in(page)
        page.locator("form[action$='/verification-level'] button").click()
        page.wait_for_selector(".error-summary")

    at = "/console/sign-in?next="
    return [
        ("proposals-pending", f"{at}/console/proposals", sign_in),
        ("proposals-reject-refused", f"{at}/console/proposals", reject_refused),
        ("proposals-all", f"{at}/console/proposals?status=all", sign_in),
        ("proposals-support", f"{at}/console/proposals?status=all", as_support),
        ("proposals-merchant", f"{at}/console/merchants/{shop}", sign_in),
        ("proposals-merchant-refused", f"{at}/console/merchants/{other}", rate_refused),
        ("proposals-merchant-intro-refused", f"{at}/console/merchants/{other}", intro_rate_refused),
        ("proposals-customer-refused", f"{at}/console/customers/{ada}", level_refused),
        ("proposals-merchant-bank-refused", f"{at}/console/merchants/{other}", bank_reason_missing),
        ("proposals-home", f"{at}/console", sign_in),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_proposals_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
