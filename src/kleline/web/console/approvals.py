"""The approvals pages (``/console/approvals``): the queue of merchants' applications waiting for a decision, oldest
first, each with its review (``Merchants.review``: IBAN and BIC, SIRET, VAT number, other merchants sharing the IBAN
or SIRET); a merchant's own page, where a role that decides merchants approves it with its commission rate (typed as
a percentage, 3 to 4 %, turned into basis points exactly), refuses it with a reason the merchant reads, suspends an
active one with a reason, or reactivates a suspended one.

Every role that reads sees the queue and the reviews; only a role with ``Power.DECIDE_MERCHANTS`` is shown the forms,
and its posts are the only ones heard (``console_form``: the others get the 403 page, nothing written). Each act goes
through ``Merchants``, which checks the power again and writes the staff audit trail in the act's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Final

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.merchants.checks import check_reason
from kleline.merchants.errors import StatusConflict
from kleline.merchants.model import DEFAULT_FEE_BPS, MAX_FEE_BPS, MAX_REASON, MIN_FEE_BPS, Merchant
from kleline.merchants.review import ApplicationReview
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power
from kleline.web.console.visits import ConsoleVisit, console_context, console_form, console_page, refused, respond
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["APPROVALS", "fee_bps_of", "router"]

router = APIRouter(include_in_schema=False)

APPROVALS: Final = "/console/approvals"
QUEUE_LIMIT: Final = 200
"""At most this many applications on the queue's page, the oldest (the page says when more wait)."""

_CHECK_NAMES: Final[Mapping[str, str]] = {
    "iban": N_("IBAN and BIC"),
    "siret": N_("SIRET"),
    "vat_number": N_("VAT number"),
    "same_iban": N_("IBAN used by another merchant"),
    "same_siret": N_("SIRET used by another merchant"),
}
_STATUS_NAMES: Final[Mapping[str, str]] = {
    "pending": N_("waiting for a decision"),
    "active": N_("active"),
    "suspended": N_("suspended"),
    "refused": N_("refused"),
}
_RATE_PROBLEM: Final = N_("Type a commission rate from 3 to 4 %, with at most two decimals, such as 3.50")
_REASON_MISSING: Final = N_("Say why, in words the merchant will read")
_REASON_TOO_LONG: Final = N_("The reason is too long: at most 500 characters")
_STATUS_CHANGED: Final = N_("The merchant's status changed meanwhile: it is now “%(status)s”. Look again, then decide.")

ReaderPage = Annotated[ConsoleVisit, Depends(console_page(Power.READ))]
DeciderForm = Annotated[ConsoleVisit, Depends(console_form(Power.DECIDE_MERCHANTS, back=APPROVALS))]


def fee_bps_of(typed: str) -> int | None:
    """A commission rate typed as a percentage ("3.50", "3,5", "3.25 %") in basis points, exactly (``Decimal``,
    never a float); None unless it is a number with at most two decimals from 3 to 4 %."""
    text = typed.strip().removesuffix("%").strip().replace(",", ".")
    if not text or len(text) > 8 or not all(c.isdigit() or c == "." for c in text):
        return None
    try:
        percent = Decimal(text)
    except InvalidOperation:
        return None
    basis_points = percent * 100
    if basis_points != basis_points.to_integral_value():
        return None
    value = int(basis_points)
    return value if MIN_FEE_BPS <= value <= MAX_FEE_BPS else None


def percent(fee_bps: int) -> str:
    """Basis points as the percentage the form shows ("3.50")."""
    return f"{fee_bps // 100}.{fee_bps % 100:02d}"


def _reason_problem(reason: str, field: str, language: Language) -> PageError | None:
    try:
        check_reason(reason, required=True)
    except KlelineError as error:
        wording = _REASON_TOO_LONG if len(reason.strip()) > MAX_REASON else _REASON_MISSING
        return PageError(language.gettext(wording), error.code, field)
    return None


_DETAILS: Final[Mapping[tuple[str, bool], str]] = {
    ("same_iban", True): N_("No other merchant has this IBAN"),
    ("same_iban", False): N_("Other merchants have this IBAN:"),
    ("same_siret", True): N_("No other merchant has this SIRET"),
    ("same_siret", False): N_("Other merchants have this SIRET:"),
}
_MISSING: Final[Mapping[str, str]] = {
    "no SIRET given": N_("No SIRET given"),
    "no VAT number given": N_("No VAT number given"),
}


def _checks(request: Request, review: ApplicationReview, language: Language) -> list[dict[str, Any]]:
    """Each check as the page shows it: the duplicates' wording and the other merchants (name, id, status) are the
    page's own, in its language; what the other checks found (an IBAN's bank, a SIRET's company) is the service's."""
    merchants = web_of(request).kleline.merchants
    shown = []
    for check in review.checks:
        wording = _DETAILS.get((check.name, check.passed)) or _MISSING.get(check.detail)
        others = [merchants.get(other) for other in check.others]
        shown.append(
            {
                "name": language.gettext(_CHECK_NAMES[check.name]),
                "passed": check.passed,
                "detail": language.gettext(wording) if wording else check.detail,
                "others": [(o.id, o.name, language.gettext(_STATUS_NAMES[o.status])) for o in others],
            }
        )
    return shown


def _refusal(request: Request, visit: ConsoleVisit, error: KlelineError) -> Answered | None:
    language = language_of(request)
    if isinstance(error, RoleForbids):
        return refused(request, visit, console_error(error, language=language).message)
    if isinstance(error, NotFound):
        message = language.gettext(N_("There is no such merchant."))
        return refused(request, visit, message, status=404)
    return None


def _review_or_404(request: Request, visit: ConsoleVisit, merchant_id: str) -> ApplicationReview:
    try:
        return web_of(request).kleline.merchants.review(merchant_id)
    except KlelineError as error:
        page = _refusal(request, visit, error)
        if page is not None:
            raise page from None
        raise


def _pending(request: Request) -> list[Merchant]:
    """Every application waiting, oldest first (the service lists newest first, by pages)."""
    merchants = web_of(request).kleline.merchants
    found: list[Merchant] = []
    while True:
        page = merchants.list(status="pending", limit=500, starting_after=found[-1].id if found else None)
        found += page
        if len(page) < 500:
            return list(reversed(found))


@router.get(APPROVALS)
def queue(request: Request, visit: ReaderPage) -> Response:
    """The applications waiting for a decision, oldest first, each with its checks."""
    kleline = web_of(request).kleline
    language = language_of(request)
    _ = language.gettext
    pending = _pending(request)
    more = len(pending) > QUEUE_LIMIT
    oldest_first = pending[:QUEUE_LIMIT]
    applications = []
    for merchant in oldest_first:
        review = kleline.merchants.review(merchant.id)
        applications.append(
            {
                "merchant": merchant,
                "since": when(merchant.created_at, language),
                "all_passed": review.clear,
                "checks": _checks(request, review, language),
            }
        )
    context = console_context(
        visit,
        _(N_("Approvals")),
        section="approvals",
        flash=note_of(request, signed_in=True),
        applications=applications,
        more=more,
        may_decide=visit.may(Power.DECIDE_MERCHANTS),
    )
    return respond(request, visit, render(request, "console/approvals.html", context))


def _application_page(
    request: Request,
    visit: ConsoleVisit,
    review: ApplicationReview,
    *,
    errors: list[PageError] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    language = language_of(request)
    _ = language.gettext
    merchant: Merchant = review.merchant
    context = console_context(
        visit,
        _(N_("Application of %(name)s")) % {"name": merchant.name},
        section="approvals",
        flash=note_of(request, signed_in=True) if status == 200 else None,
        errors=errors or [],
        merchant=merchant,
        status_name=_(_STATUS_NAMES[merchant.status]),
        since=when(merchant.created_at, language),
        changed=when(merchant.status_changed_at, language) if merchant.status_changed_at else "",
        rate=format_decimal(Decimal(merchant.fee_bps) / 100, format="0.00", locale=language.locale),
        clear=review.clear,
        checks=_checks(request, review, language),
        may_decide=visit.may(Power.DECIDE_MERCHANTS),
        first_approval=merchant.approved_at is None,
        typed={
            "fee_rate": percent(merchant.fee_bps if merchant.approved_at is None else DEFAULT_FEE_BPS),
            "refuse_reason": "",
            "suspend_reason": "",
            **(typed or {}),
        },
    )
    return respond(request, visit, render(request, "console/application.html", context, status=status))


@router.get(APPROVALS + "/{merchant_id}")
def application(request: Request, merchant_id: str, visit: ReaderPage) -> Response:
    """A merchant's application: who, its checks, its status, and the decisions its status allows."""
    return _application_page(request, visit, _review_or_404(request, visit, merchant_id))


def _act(
    request: Request,
    visit: ConsoleVisit,
    merchant_id: str,
    errors: list[PageError],
    typed: dict[str, str],
    act: Any,
    note: str,
) -> Response:
    """Run ``act`` unless ``errors``; the page again with every problem (values kept) or a redirect with ``note``."""
    review = _review_or_404(request, visit, merchant_id)
    if not errors:
        try:
            act()
        except KlelineError as error:
            page = _refusal(request, visit, error)
            if page is not None:
                raise page from None
            if not isinstance(error, StatusConflict):
                raise
            status_name = language_of(request).gettext(_STATUS_NAMES[error.status_now])
            message = language_of(request).gettext(_STATUS_CHANGED) % {"status": status_name}
            review = _review_or_404(request, visit, merchant_id)
            return _application_page(
                request, visit, review, errors=[PageError(message, error.code)], typed=typed, status=409
            )
        return leave_note(request, redirect(f"{APPROVALS}/{merchant_id}"), note)
    return _application_page(request, visit, review, errors=errors, typed=typed, status=400)


@router.post(APPROVALS + "/{merchant_id}/approve")
def approve(request: Request, merchant_id: str, form: Form, visit: DeciderForm) -> Response:
    """Approve an application with its commission rate (a percentage from 3 to 4, kept exact in basis points)."""
    typed = {"fee_rate": form.get("fee_rate", "").strip()}
    fee_bps = fee_bps_of(typed["fee_rate"])
    errors = []
    if fee_bps is None:
        errors.append(PageError(language_of(request).gettext(_RATE_PROBLEM), "validation_error", "fee_rate"))
    merchants = web_of(request).kleline.merchants
    return _act(
        request,
        visit,
        merchant_id,
        errors,
        typed,
        lambda: merchants.approve(merchant_id, actor=visit.actor, fee_bps=fee_bps),
        "console_merchant_approved",
    )


@router.post(APPROVALS + "/{merchant_id}/refuse")
def refuse(request: Request, merchant_id: str, form: Form, visit: DeciderForm) -> Response:
    """Refuse an application with a reason the merchant reads on its dashboard."""
    reason = form.get("reason", "")
    problem = _reason_problem(reason, "refuse_reason", language_of(request))
    merchants = web_of(request).kleline.merchants
    return _act(
        request,
        visit,
        merchant_id,
        [problem] if problem else [],
        {"refuse_reason": reason.strip()},
        lambda: merchants.refuse(merchant_id, reason, actor=visit.actor),
        "console_merchant_refused",
    )


@router.post(APPROVALS + "/{merchant_id}/suspend")
def suspend(request: Request, merchant_id: str, form: Form, visit: DeciderForm) -> Response:
    """Stop an active merchant from taking payments, with a reason the merchant reads."""
    reason = form.get("reason", "")
    problem = _reason_problem(reason, "suspend_reason", language_of(request))
    merchants = web_of(request).kleline.merchants
    return _act(
        request,
        visit,
        merchant_id,
        [problem] if problem else [],
        {"suspend_reason": reason.strip()},
        lambda: merchants.suspend(merchant_id, reason, actor=visit.actor),
        "console_merchant_suspended",
    )


@router.post(APPROVALS + "/{merchant_id}/reactivate")
def reactivate(request: Request, merchant_id: str, form: Form, visit: DeciderForm) -> Response:
    """Let a suspended merchant take payments again, at its rate."""
    merchants = web_of(request).kleline.merchants
    return _act(
        request,
        visit,
        merchant_id,
        [],
        {},
        lambda: merchants.approve(merchant_id, actor=visit.actor),
        "console_merchant_reactivated",
    )
