"""The console's approvals and audit trail pages in Chromium: each of their states (the queue as compliance and as
support, an application waiting, refused with errors, active, suspended, the audit trail searched and wrongly
filtered), at phone width and wide, in French and English: nothing overflows sideways, and axe finds no violation.
Set ``KLELINE_SCREENSHOTS`` to a directory to keep a screenshot of each state there."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from kleline.bootstrap import Kleline
from kleline.staff.actor import command_line
from kleline.staff.roles import Role

from ..conftest import FakeClock
from ..e2e.console_world import staff_member
from ..e2e.dashboard_world import IBAN
from .conftest import LiveKleline
from .layout import State, layout_problems
from .test_console_in_chromium import code_step, password_step

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
LONG_NAME = "Établissements Marguerite-Adélaïde de Montmorency-Laval, épicerie fine et produits régionaux"


def _states(kleline: Kleline, clock: FakeClock) -> list[State]:
    _, compliance = staff_member(kleline, "compliance@kleline.example", Role.COMPLIANCE, clock)
    _, support = staff_member(kleline, "support@kleline.example", Role.SUPPORT, clock)
    merchants = kleline.merchants
    waiting, _ = merchants.register(
        name=LONG_NAME, email="contact@epicerie-fine-montmorency.example", iban=IBAN, siret="73282932000074"
    )
    merchants.register(name="Fromagerie", email="fromagerie@example.fr", iban=IBAN)  # the same IBAN
    active, _ = merchants.register(name="Librairie", email="librairie@example.fr", iban=IBAN)
    merchants.approve(active.id, actor=command_line(), fee_bps=325)
    suspended, _ = merchants.register(name="Quincaillerie", email="quincaillerie@example.fr", iban=IBAN)
    merchants.approve(suspended.id, actor=command_line())
    merchants.suspend(suspended.id, "Too many chargebacks this month, to be looked at", actor=command_line())

    def as_compliance(page: Page) -> None:
        password_step(page, "compliance@kleline.example")
        code_step(page, compliance, clock)

    def as_support(page: Page) -> None:
        password_step(page, "support@kleline.example")
        code_step(page, support, clock)

    def decision_errors(page: Page) -> None:
        as_compliance(page)
        page.locator("#fee_rate").fill("4.75")
        page.locator(f"form[action='/console/approvals/{waiting.id}/approve'] button").click()
        page.wait_for_selector(".error-summary")

    def refuse_errors(page: Page) -> None:
        as_compliance(page)
        page.locator(f"form[action='/console/approvals/{waiting.id}/refuse'] button").click()
        page.wait_for_selector(".error-summary")

    def audit_errors(page: Page) -> None:
        as_support(page)
        page.locator("#audit-action").fill("merchant_suspended")
        page.locator("#audit-from").fill("2026-12-31")
        page.locator("#audit-to").fill("2026-01-01")
        page.locator("form.audit-search button").click()
        page.wait_for_selector(".error-summary")

    def sign_in_to(path: str) -> str:
        return f"/console/sign-in?next={path}"

    application = f"/console/approvals/{waiting.id}"
    return [
        ("approvals-queue", sign_in_to("/console/approvals"), as_compliance),
        ("approvals-queue-support", sign_in_to("/console/approvals"), as_support),
        ("approvals-application", sign_in_to(application), as_compliance),
        ("approvals-application-support", sign_in_to(application), as_support),
        ("approvals-application-rate-errors", sign_in_to(application), decision_errors),
        ("approvals-application-refuse-errors", sign_in_to(application), refuse_errors),
        ("approvals-active", sign_in_to(f"/console/approvals/{active.id}"), as_compliance),
        ("approvals-suspended", sign_in_to(f"/console/approvals/{suspended.id}"), as_compliance),
        ("audit-trail", sign_in_to("/console/audit"), as_support),
        ("audit-trail-filtered", sign_in_to(f"/console/audit?subject_id={suspended.id}"), as_support),
        ("audit-trail-errors", sign_in_to("/console/audit"), audit_errors),
    ]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_approvals_or_audit_page_overflows_a_phone_and_axe_finds_no_violation(
    live: LiveKleline, chromium: Browser, lang: str, clock: FakeClock
) -> None:
    assert layout_problems(chromium, live.url, _states(live.kleline, clock), lang, WIDTHS) == []
