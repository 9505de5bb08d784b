"""The shop's payouts (``/dashboard/payouts``, ``/dashboard/payouts/{id}``): what Kleline sent to its bank account.

Every role reads them (``read``). A payout is read through ``Settlement``, as ``GET /v1/payouts`` reads it, and the
movements it covers through ``Reports.payout_contents``; both lists are keyset-paged (newest payouts first, a payout's
movements oldest first). Another merchant's payout id in the address is the 404 page, as an unknown one.

The first page begins with the next payout, as the overview says it (``Settlement.next_payout``): the next
settlement run's, or the minimum balance it waits for.

Payouts' statuses, as the shop reads them: ``in_transit`` is *sent* (the transfer is in the bank file), ``paid`` is
*paid* (Kleline's bank statement shows it leaving), ``failed`` is *returned* (the shop's bank sent it back).
"""

from __future__ import annotations

from typing import Any, Final

from babel.dates import format_skeleton
from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.merchants import mask_iban
from kleline.money import Money
from kleline.reports import Movement
from kleline.settlement import Payout, UnknownPayout
from kleline.web import history
from kleline.web.dashboard.overview import next_payout_context
from kleline.web.dashboard.visits import DashboardVisit, dashboard_context, refused, require, respond
from kleline.web.dashboard.visits import signed_in_merchant_user as signed_in
from kleline.web.i18n import N_, Language, language_of
from kleline.web.rendering import render
from kleline.web.visits import web_of

__all__ = ["PAYOUTS", "router"]

router = APIRouter(include_in_schema=False)

PAYOUTS: Final = "/dashboard/payouts"
_PAGE: Final = 25
_MOVEMENTS_PAGE: Final = 50
_TITLE: Final = N_("Payouts")

STATUS_NAMES: Final = {"in_transit": N_("Sent"), "paid": N_("Paid"), "failed": N_("Returned")}
STATUS_HINTS: Final = {
    "in_transit": N_("Kleline has sent the transfer to your bank; it usually arrives within one business day."),
    "paid": N_("The transfer has left Kleline's account for your bank."),
    "failed": N_(
        "Your bank sent the transfer back. The amount is in your balance again and goes out with the next payout,"
        " to the bank account your shop has then."
    ),
}
RETURN_REASONS: Final = {
    "AC01": N_("the account number is wrong"),
    "AC04": N_("the account is closed"),
    "AC06": N_("the account is blocked"),
    "AG01": N_("the account does not accept transfers"),
    "BE04": N_("the account holder's address is missing"),
    "MD07": N_("the account holder is deceased"),
    "MS02": N_("refused by the account holder"),
    "MS03": N_("refused by the bank, without a reason"),
    "RC01": N_("the bank code (BIC) is wrong"),
}
MOVEMENT_NAMES: Final = {
    "payment": N_("Payment"),
    "refund": N_("Refund"),
    "payout": N_("Payout"),
    "payout_returned": N_("Returned payout"),
    "adjustment": N_("Adjustment"),
}


def _status(payout: Payout, language: Language) -> dict[str, str]:
    """The payout's status and dates as the page says them."""
    _ = language.gettext
    reason = payout.failure_reason or ""
    return {
        "name": _(STATUS_NAMES[payout.status]),
        "hint": _(STATUS_HINTS[payout.status]),
        "sent": history.day(language, payout.created_at),
        "paid": _paid_on(payout, language),
        "returned": history.day(language, payout.failed_at) if payout.failed_at else "",
        "reason": (f"{_(RETURN_REASONS[reason])} ({reason})" if reason in RETURN_REASONS else reason),
    }


def _paid_on(payout: Payout, language: Language) -> str:
    """The day the money left Kleline's account: the bank statement's booking date (else when it was read)."""
    if payout.booked_on is not None:
        return str(format_skeleton("yMMMd", payout.booked_on, locale=language.locale))
    return history.day(language, payout.paid_at) if payout.paid_at else ""


def _masked(iban: str) -> str:
    """The account as the shop recognises it, never in full: its country and last four characters."""
    masked = mask_iban(iban)
    return f"{masked[:2]}\u00a0••••\u00a0{masked[-4:]}"


def _line(payout: Payout, language: Language) -> dict[str, Any]:
    return {
        "payout": payout,
        "amount": history.amount(language, payout.amount),
        "iban": _masked(payout.creditor.iban),
        **_status(payout, language),
    }


def _mine(request: Request, visit: DashboardVisit, payout_id: str) -> Payout | None:
    """The payout, if it is the signed-in user's shop's; None otherwise (unknown, or another shop's)."""
    assert visit.merchant is not None
    try:
        payout = web_of(request).kleline.settlement.get_payout(payout_id)
    except UnknownPayout:
        return None
    return payout if payout.merchant_id == visit.merchant.id else None


@router.get(PAYOUTS)
def payouts_page(request: Request, after: str | None = None) -> Response:
    """The shop's payouts, newest first, twenty-five a page."""
    visit = signed_in(request)
    require(request, visit, "read")
    assert visit.merchant is not None
    language = language_of(request)
    start = after if after and len(after) <= 40 and _mine(request, visit, after) else None
    found, more = web_of(request).kleline.settlement.list_payouts(
        merchant_id=visit.merchant.id, limit=_PAGE, after=start
    )
    kleline = web_of(request).kleline
    next_payout: dict[str, Any] = {}
    if start is None:  # the first page says what comes next, as the overview does
        outlook = kleline.settlement.next_payout(visit.merchant.id)
        next_payout = next_payout_context(language, outlook, kleline.clock().date())
    context = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="payouts",
        lines=[_line(payout, language) for payout in found],
        older=f"{PAYOUTS}?after={found[-1].id}" if more else None,
        first=start is None,
        **next_payout,
    )
    return respond(request, visit, render(request, "dashboard/payouts.html", context))


def _movement(movement: Movement, currency: str, language: Language) -> dict[str, Any]:
    def money(minor: int) -> str:
        return history.amount(language, Money(minor, currency))

    return {
        "movement": movement,
        "kind": language.gettext(MOVEMENT_NAMES[movement.kind]),
        "at": history.moment(language, movement.posted_at),
        "gross": money(movement.gross),
        # Kleline's fees on the line: the commission and, for a customer an offer introduced, the introduction fee.
        "commission": money(movement.commission + movement.introduction)
        if movement.commission or movement.introduction
        else "",
        "net": money(movement.net),
    }


@router.get(PAYOUTS + "/{payout_id}")
def payout_page(request: Request, payout_id: str, after: str | None = None) -> Response:
    """One payout: its status and dates, the bank account it went to, and the movements of the balance it paid."""
    visit = signed_in(request)
    require(request, visit, "read")
    language = language_of(request)
    payout = _mine(request, visit, payout_id) if len(payout_id) <= 40 else None
    if payout is None:
        raise refused(request, visit, language.gettext(N_("Your shop has no such payout.")), status=404)
    contents = web_of(request).kleline.reports.payout_contents(payout, limit=_MOVEMENTS_PAGE, cursor=after)
    currency = payout.currency

    def money(minor: int) -> str:
        return history.amount(language, Money(minor, currency))

    context = dashboard_context(
        visit,
        language.gettext(N_("Payout of %(amount)s")) % {"amount": money(payout.amount.minor)},
        section="payouts",
        line=_line(payout, language),
        contents=contents,
        movements=[_movement(movement, currency, language) for movement in contents.movements],
        net=money(contents.net),
        carried=money(contents.carried) if contents.carried else "",
        since=history.moment(language, contents.since) if contents.since else "",
        more=f"{PAYOUTS}/{payout.id}?after={contents.next_cursor}" if contents.next_cursor else None,
        first=after is None,
    )
    return respond(request, visit, render(request, "dashboard/payout.html", context))
