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
from kleline.merchants.phone import format_phone
from kleline.merchants.review import ApplicationReview, Check
from kleline.staff.actor import RoleForbids
from kleline.staff.roles import Power
from kleline.web.console.bank_change_views import bank_change_queue
from kleline.web.console.visits import ConsoleVisit, console_context, console_form, console_page, refused, respond
from kleline.web.console.wording import console_error, leave_note, note_of
from kleline.web.dashboard.wording import CATEGORY_NAMES
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
_FOUND: Final[Mapping[str, str]] = {
    "iban": N_("%(iban)s, bank %(bic)s"),
    "siret": N_("SIRET %(siret)s, SIREN %(siren)s"),
    "vat_number": N_("%(vat_number)s matches the SIRET's company"),
}
_FAILED: Final[Mapping[str, str]] = {
    "invalid_iban": N_("Not a valid IBAN of the SEPA zone"),
    "invalid_bic": N_("The BIC does not match the IBAN's bank"),
    "invalid_siret": N_("Not a valid SIRET (14 digits, the last one a check digit)"),
    "invalid_vat_number": N_("Not a valid VAT number, or not that of the SIRET's company"),
}


def _category(category: str | None, language: Language) -> str:
    """The kind of shop as the join form offered it, in ``language``; a code of the API's own as it is."""
    if not category:
        return ""
    name = CATEGORY_NAMES.get(category)
    return language.gettext(name) if name else category


def _detail(check: Check, language: Language) -> str:
    """What a check found, in ``language``: the duplicates' and the missing numbers' wording, what a passed check
    found (an IBAN's bank, a SIRET's company) from its values, why one failed from its code; the service's English
    sentence only for a refusal this page has no words for."""
    wording = _DETAILS.get((check.name, check.passed)) or _MISSING.get(check.detail)
    if wording is not None:
        return language.gettext(wording)
    if check.passed:
        if check.name == "vat_number" and "siret" not in check.found:
            return check.found["vat_number"]  # no SIRET to match it against: the number alone
        found = _FOUND.get(check.name)
        return language.gettext(found) % check.found if found else check.detail
    failed = _FAILED.get(check.refusal or "")
    return language.gettext(failed) if failed else check.detail


def _checks(request: Request, review: ApplicationReview, language: Language) -> list[dict[str, Any]]:
    """Each check as the page shows it, in its language (``_detail``), with the other merchants (name, id, status)
    sharing its IBAN or SIRET."""
    merchants = web_of(request).kleline.merchants
    shown = []
    for check in review.checks:
        others = [merchants.get(other) for other in check.others]
        shown.append(
            {
                "name": language.gettext(_CHECK_NAMES[check.name]),
                "passed": check.passed,
                "detail": _detail(check, language),
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
    bank_changes, more_bank_changes = bank_change_queue(request, language)
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
        bank_changes=bank_changes,
        more_bank_changes=more_bank_changes,
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
        phone=format_phone(merchant.contact_phone) if merchant.contact_phone else "",
        category=_category(merchant.category, language),
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
