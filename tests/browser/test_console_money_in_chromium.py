"""The console's money pages in Chromium, in each of their states (settlement runs and a run, statements and an
import, the suspense queue with its form open and refused, the proposals seen by the proposer and by a second
person, the safeguarding report, the collection runs and a run, the receivables with the write-off form refused, a
support user's read-only view), at phone width and wide, in French and English: nothing overflows sideways, and axe
finds no violation. Set ``KLELINE_SCREENSHOTS`` to keep a screenshot of each."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline, open_system_accounts
from kleline.payments.model import PaymentRequest
from kleline.reconciliation import ResolutionRequest
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import staff_member
from ..integration.collections.conftest import bank_account, customer, eur, returned, top_up
from ..integration.reconciliation.conftest import World, credit, debit, statement
from .conftest import LiveKleline
from .layout import State, layout_problems
from .test_console_in_chromium import code_step, password_step

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
FINANCE = "adelaide-marguerite.de-montmorency-laval@direction-financiere.kleline.example"


def _in_debt(kleline: Kleline, world: World) -> str:
    """A customer tops up 20 EUR by direct debit, spends 15 EUR of it at the world's shop, and the debit comes back
    unpaid."""
    chloe = customer(kleline, "chloe@example.org")
    collection = top_up(kleline, chloe, bank_account(kleline, chloe).id, 2_000)
    payment = kleline.payments.create(world.merchant, PaymentRequest(eur(1_500)))
    assert kleline.payments.confirm(payment.id, chloe, "purse").status == "succeeded"
    kleline.collections.runs.run(actor=command_line())
    returned(kleline, collection.id)
    return chloe


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    open_system_accounts(kleline)
    world = World(kleline)
    payout = world.payout(5_000)
    world.card_payment(12_345)
    document = statement(
        kleline,
        debit("REF-1", payout.amount.minor, payout.end_to_end_id),
        credit("REF-2", 1_234, "UNKNOWN-REFERENCE-FROM-A-BANK-12345"),
        credit("REF-3", 99_999, None),
    )
    kleline.reconciliation.import_document(document, actor=command_line())
    (imported,), _ = kleline.reconciliation.statements()
    (run,), _ = kleline.settlement.list_runs()
    _, finance = staff_member(kleline, FINANCE, Role.FINANCE, clock)
    other_user, _ = staff_member(kleline, "second@kleline.example", Role.FINANCE, clock)
    _, support = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)
    debtor = _in_debt(kleline, world)
    ben = customer(kleline, "ben@example.org")
    top_up(kleline, ben, bank_account(kleline, ben).id, 2_500)
    kleline.collections.runs.run(actor=command_line())
    (collection_run, *_), _ = kleline.collections.runs.list()
    items, _ = kleline.suspense.items(status="open")
    kleline.proposals.propose_suspense_resolution(
        other_user.actor(None),
        items[1].id,
        ResolutionRequest("account", "kleline:commission", "A fee the bank refunded, see mail"),
    )

    def sign_in(page: Page, email: str = FINANCE, totp: pyotp.TOTP = finance) -> None:
        password_step(page, email)
        code_step(page, totp, clock)

    def as_support(page: Page) -> None:
        sign_in(page, "support@kleline.example", support)

    def suspense_errors(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()
        page.locator("form[action$='/propose'] button").first.click()
        page.wait_for_selector(".error-summary")

    def statement_errors(page: Page) -> None:
        sign_in(page)
        page.locator("form[action='/console/money/statements'] button").click()
        page.wait_for_selector(".error-summary")

    def write_off_errors(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()
        page.locator(f"#amount-{debtor}").fill("12,5x")
        page.locator("form[action$='/write-offs'] button").first.click()
        page.wait_for_selector(".error-summary")

    def reject_opened(page: Page) -> None:
        sign_in(page)
        page.locator("details summary").first.click()

    at = "/console/sign-in?next="
    return [
        ("money-runs", f"{at}/console/money/settlement-runs", sign_in),
        ("money-run", f"{at}/console/money/settlement-runs/{run.id}", sign_in),
        ("money-statements", f"{at}/console/money/statements", sign_in),
        ("money-statements-errors", f"{at}/console/money/statements", statement_errors),
        ("money-statement", f"{at}/console/money/statements/{imported.id}", sign_in),
        ("money-suspense", f"{at}/console/money/suspense", sign_in),
        ("money-suspense-errors", f"{at}/console/money/suspense", suspense_errors),
        ("money-proposals", f"{at}/console/proposals?kind=suspense_resolution", reject_opened),
        ("money-safeguarding", f"{at}/console/money/safeguarding", sign_in),
        ("money-collection-runs", f"{at}/console/money/collection-runs", sign_in),
        ("money-collection-run", f"{at}/console/money/collection-runs/{collection_run.id}", sign_in),
        ("money-receivables", f"{at}/console/money/receivables", sign_in),
        ("money-receivables-errors", f"{at}/console/money/receivables", write_off_errors),
        ("money-collection-runs-support", f"{at}/console/money/collection-runs", as_support),
        ("money-receivables-support", f"{at}/console/money/receivables", as_support),
        ("money-runs-support", f"{at}/console/money/settlement-runs", as_support),
        ("money-suspense-support", f"{at}/console/money/suspense", as_support),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_money_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
