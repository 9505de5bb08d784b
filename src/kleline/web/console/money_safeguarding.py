"""The console's safeguarding report (``/console/money/safeguarding``): per currency, what the safeguarding account
holds against customers' purses and merchants' balances, and the difference explained line by line."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.money import Money
from kleline.web.console.money_pages import SAFEGUARDING, Reader, money_page
from kleline.web.i18n import N_, language_of
from kleline.web.security import when
from kleline.web.visits import web_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_SAFEGUARDING_KINDS: Final = {
    "safeguarding": N_("Safeguarding account"),
    "purses": N_("Customers' purses"),
    "merchant_balances": N_("Merchants' balances"),
    "commission": N_("Kleline's commission"),
    "introductions": N_("Kleline's introduction fees"),
    "suspense": N_("Suspense"),
    "in_transit": N_("Payouts in transit"),
    "card_receivables": N_("Card receivables"),
    "customer_receivables": N_("Customers' receivables"),
    "bad_debt": N_("Bad debt"),
    "other": N_("Other accounts"),
}


@router.get(SAFEGUARDING)
def safeguarding_page(request: Request, visit: Reader) -> Response:
    """Per currency: what the safeguarding account holds against customers' purses and merchants' balances, and the
    difference explained line by line, every figure a ledger balance from one snapshot of the books."""
    language = language_of(request)
    report = web_of(request).kleline.safeguarding.report()

    def money(minor: int, currency: str) -> str:
        return language.money(Money(minor, currency))

    def lines(found: Any, currency: str, figure: str) -> list[dict[str, Any]]:
        return [
            {
                "name": language.gettext(_SAFEGUARDING_KINDS.get(line.kind, _SAFEGUARDING_KINDS["other"])),
                "code": line.code,
                "accounts": line.accounts,
                "figure": money(getattr(line, figure), currency),
            }
            for line in found
        ]

    currencies = [
        {
            "currency": c.currency,
            "safeguarded": money(c.safeguarded, c.currency),
            "safeguarding": lines(c.safeguarding, c.currency, "balance"),
            "owed": money(c.owed_total, c.currency),
            "owed_lines": lines(c.owed, c.currency, "balance"),
            "difference": money(c.difference, c.currency),
            "explanation": lines(c.explanation, c.currency, "effect"),
            "unexplained": money(c.unexplained, c.currency),
            "unexplained_minor": c.unexplained,
            "balanced": c.balanced,
        }
        for c in report.currencies
    ]
    return money_page(
        request,
        visit,
        "console/money_safeguarding.html",
        N_("Safeguarding"),
        "safeguarding",
        as_of=when(report.as_of, language),
        currencies=currencies,
    )
