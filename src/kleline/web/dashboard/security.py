"""A merchant user's own security page (``/dashboard/security``), for every role: the authenticator app (set up,
replaced, removed), passkeys (added, listed, removed), the password, signing out everywhere, the last sign-ins.

As the shopper's security page (``kleline.web.security``): every form posts to its own address and answers with a
redirect and a one-time note, except the start of an authenticator app, whose answer shows the new secret once (a
QR code drawn on the server, in SVG, and the key as text); only this page's passkey form needs JavaScript
(``/static/passkeys.js``, allowed by the page's CSP), and the page says so.

Changing a second factor asks for a fresh one when the user has any (``MerchantSecurity.may_change_second_factors``):
the page then offers "Confirm it is you" (``/dashboard/confirm``, which comes back here) instead of the forms that
change them, and a post that comes too late goes there too. The services decide everything
(``MerchantSecurity``, ``MerchantPasskeys``, ``MerchantSignIn``) and write the audit trail; the page reads forms,
shows every problem at once, and words the refusals. A password is never shown back.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.merchant_users import LastSecondFactor, SecondFactorRequired, password_change_problems
from kleline.merchant_users.model import AuditRecord
from kleline.wallet.sca import Enrolment
from kleline.web import password_change
from kleline.web.dashboard.visits import (
    CONFIRM,
    DASHBOARD,
    SIGN_IN,
    DashboardVisit,
    clear_session_cookie,
    client_address,
    dashboard_context,
    respond,
    set_session_cookie,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import SIGN_IN_METHODS, dashboard_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.passkey_forms import passkey_problems
from kleline.web.refusals import PageError
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkey_rows, passkeys_usable, qr_code, secret_groups, when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["SECURITY", "router"]

router = APIRouter(include_in_schema=False)

SECURITY: Final = f"{DASHBOARD}/security"
_TITLE: Final = N_("Security")
_PASSWORD_FIELDS: Final = {
    "current_password": "current_password",
    "new_password": "new_password",
    "password": "new_password",
    "new_password_again": "new_password_again",
}
_NEW_PASSKEY_FIELDS: Final = {"name": "name", "credential": "name", "ceremony_id": "name", "passkeys": "name"}
_PASSKEY_FIELDS: Final[dict[str, str | None]] = {"passkey_id": None}


def _sign_ins(records: list[AuditRecord], language: Language) -> list[tuple[str, str, str]]:
    """Each sign-in as the page lists it: when, from which address, how."""
    return [
        (
            when(record.at, language),
            record.address or "",
            language.gettext(SIGN_IN_METHODS[method])
            if (method := str(record.detail.get("method", ""))) in SIGN_IN_METHODS
            else "",
        )
        for record in records
    ]


def _page(
    request: Request,
    visit: DashboardVisit,
    *,
    errors: list[PageError] | None = None,
    enrolment: Enrolment | None = None,
    passkey_name: str = "",
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    user = visit.user
    assert user is not None
    may_change = kleline.merchant_security.may_change_second_factors(visit.session)
    usable = passkeys_usable(request)
    offer = kleline.merchant_passkeys.begin_registration(visit.session) if usable and may_change else None
    passkeys = kleline.merchant_passkeys.list(user.id)
    state = kleline.merchant_security.authenticator_state(user.id)
    factors = (1 if state in ("confirmed", "replacing") else 0) + len(passkeys)
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="security",
        errors=errors or [],
        flash=note_of(request, signed_in=True) if status == 200 and enrolment is None else None,
        authenticator=state,
        enrolment=enrolment,
        qr_code=qr_code(enrolment, language) if enrolment else None,
        secret=secret_groups(enrolment.secret) if enrolment else "",
        passkeys=passkey_rows(passkeys, language),
        passkeys_usable=usable,
        passkey_offer=offer,
        passkey_name=passkey_name,
        passkey_create_action=f"{SECURITY}/passkeys",
        may_change=may_change,
        confirm_href=f"{CONFIRM}?{urlencode({'next': SECURITY})}",
        # An owner's last second factor stays: its remove button is not offered (the service refuses it anyway).
        last_factor=user.role == "owner" and factors <= 1,
        sign_ins=_sign_ins(kleline.merchant_security.sign_ins(user.id), language),
        next="",
    )
    response = render(request, "dashboard/security.html", context, status=status)
    return respond(request, visit, allow_scripts(response) if offer else response)


@router.get(SECURITY)
def security_page(request: Request) -> Response:
    """The user's second factors, password, sessions and last sign-ins."""
    return _page(request, signed_in_merchant_user(request))


def _post(request: Request, form: dict[str, str]) -> DashboardVisit:
    return signed_in_merchant_post(request, form, back=SECURITY)


def _fresh(request: Request, visit: DashboardVisit) -> None:
    """``Answered`` with a redirect to "Confirm it is you" (which comes back here) unless this session may change
    its second factors now."""
    if not web_of(request).kleline.merchant_security.may_change_second_factors(visit.session):
        raise Answered(redirect(f"{CONFIRM}?{urlencode({'next': SECURITY})}"))


def _refusal(request: Request, visit: DashboardVisit, error: KlelineError, fields: dict[str, str | None]) -> Response:
    """The page again, saying why a change was refused (or, its second factor too old, on to confirming it)."""
    if isinstance(error, SecondFactorRequired):
        return redirect(f"{CONFIRM}?{urlencode({'next': SECURITY})}")
    status = 409 if isinstance(error, LastSecondFactor) else error.status if error.status >= 400 else 400
    mapped = {key: value for key, value in fields.items() if value is not None}
    return _page(request, visit, errors=[dashboard_error(error, mapped, language_of(request))], status=status)


# The authenticator app ---------------------------------------------------------------------------------------------


@router.post(f"{SECURITY}/authenticator")
def start_authenticator(request: Request, form: Form) -> Response:
    """A new authenticator app (the first, or one to replace the app): the page shows its secret, this once."""
    visit = _post(request, form)
    _fresh(request, visit)
    try:
        enrolment = web_of(request).kleline.merchant_security.start_authenticator(visit.session)
    except KlelineError as error:
        return _refusal(request, visit, error, {})
    return _page(request, visit, enrolment=enrolment)


@router.post(f"{SECURITY}/authenticator/confirm")
def confirm_authenticator(request: Request, form: Form) -> Response:
    """Confirm the new app with the code it shows now: it becomes the user's, in place of any other."""
    visit = _post(request, form)
    language = language_of(request)
    code = "".join(form.get("code", "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        message = language.gettext("Enter the 6-digit code from your authenticator app")
        return _page(request, visit, errors=[PageError(message, "validation_error", "code")], status=400)
    replacing = visit.user is not None and visit.user.authenticator
    try:
        web_of(request).kleline.merchant_security.confirm_authenticator(visit.session, code, client_address(request))
    except KlelineError as error:
        return _page(request, visit, errors=[dashboard_error(error, {"code": "code"}, language)], status=400)
    note = "dashboard_authenticator_replaced" if replacing else "dashboard_authenticator_ready"
    return leave_note(request, redirect(SECURITY), note)


@router.post(f"{SECURITY}/authenticator/remove")
def remove_authenticator(request: Request, form: Form) -> Response:
    """Remove the authenticator app (refused to an owner for whom it is the last second factor)."""
    visit = _post(request, form)
    _fresh(request, visit)
    try:
        web_of(request).kleline.merchant_security.remove_authenticator(visit.session, client_address(request))
    except KlelineError as error:
        return _refusal(request, visit, error, {})
    return leave_note(request, redirect(SECURITY), "dashboard_authenticator_removed")


# Passkeys ----------------------------------------------------------------------------------------------------------


@router.post(f"{SECURITY}/passkeys")
def add_passkey(request: Request, form: Form) -> Response:
    """Keep the passkey the browser's authenticator just made (the page's script filled ``credential``)."""
    visit = _post(request, form)
    _fresh(request, visit)
    language = language_of(request)
    name = form.get("name", "")
    errors = passkey_problems(form, language, named=True)
    if not errors:
        try:
            web_of(request).kleline.merchant_passkeys.register(
                visit.session, form.get("ceremony_id", ""), form["credential"], name, client_address(request)
            )
        except SecondFactorRequired as error:
            return _refusal(request, visit, error, {})
        except KlelineError as error:
            errors.append(dashboard_error(error, _NEW_PASSKEY_FIELDS, language))
        else:
            return leave_note(request, redirect(SECURITY), "dashboard_passkey_added")
    return _page(request, visit, errors=errors, passkey_name=name, status=400)


@router.post(SECURITY + "/passkeys/{passkey_id}/remove")
def remove_passkey(request: Request, passkey_id: str, form: Form) -> Response:
    """Remove one of the user's passkeys (refused for an owner's last second factor)."""
    visit = _post(request, form)
    _fresh(request, visit)
    try:
        web_of(request).kleline.merchant_passkeys.remove(visit.session, passkey_id, client_address(request))
    except KlelineError as error:
        return _refusal(request, visit, error, _PASSKEY_FIELDS)
    return leave_note(request, redirect(SECURITY), "dashboard_passkey_removed")


# The password and the sessions -------------------------------------------------------------------------------------


@router.post(f"{SECURITY}/password")
def change_password(request: Request, form: Form) -> Response:
    """Change the password (the current one asked for): every other session ends; this browser goes on in a new
    one. Every problem is shown at once, and no password is shown back."""
    visit = _post(request, form)
    security = web_of(request).kleline.merchant_security
    change = password_change.change_password(
        security, password_change_problems, visit.session, form, client_address(request)
    )
    if change.renewed is not None:
        return leave_note(
            request, set_session_cookie(request, redirect(SECURITY), change.renewed), "dashboard_password_changed"
        )
    errors = [dashboard_error(problem, _PASSWORD_FIELDS, language_of(request)) for problem in change.problems]
    return _page(request, visit, errors=errors, status=400)


@router.post(f"{SECURITY}/sign-out-everywhere")
def sign_out_everywhere(request: Request, form: Form) -> Response:
    """End every session of the user, this browser's too: on to the sign-in page."""
    visit = _post(request, form)
    web_of(request).kleline.merchant_security.sign_out_everywhere(visit.session, client_address(request))
    response = clear_session_cookie(request, redirect(f"{SIGN_IN}?{urlencode({'next': SECURITY})}"))
    return leave_note(request, response, "dashboard_signed_out_everywhere")
