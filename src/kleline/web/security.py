"""The wallet's security page (``/wallet/security``): the authenticator app, passkeys, the password, the sessions.

Every form posts to its own address and answers with a redirect and a one-time note (post/redirect/get), except
the start of an authenticator's enrolment: its answer is the page that shows the new secret, once (as a QR code
drawn on the server, in SVG, and as text to type), which a redirect could not carry without keeping the secret in
clear somewhere. The enrolment is then confirmed with a first code from the app.

Passkeys need the browser's WebAuthn API, hence JavaScript: this page, and only the pages that run a passkey
ceremony, allow ``script-src 'self'`` for one static file (``/static/passkeys.js``; no inline script). The file
fills the form's hidden ``credential`` field with the authenticator's response and posts the form; everything else
on the page works without it, and the page says that adding a passkey needs it.

The services do the work (``StrongAuth``, ``Passkeys``, ``Customers``, ``SignIns``): the page only reads the form,
shows every problem at once, and words the refusals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Protocol, TypeVar
from urllib.parse import urlencode

import segno
from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from kleline.errors import KlelineError
from kleline.wallet.customers import WrongPassword, password_problems
from kleline.wallet.model import Customer
from kleline.wallet.passkey import check_name
from kleline.wallet.sca import Enrolment
from kleline.wallet.strong_auth import AlreadyEnrolled
from kleline.web import history
from kleline.web.flashes import (
    AUTHENTICATOR_READY,
    PASSKEY_ADDED,
    PASSKEY_REMOVED,
    PASSWORD_CHANGED,
    SIGNED_OUT_EVERYWHERE,
    announcement,
    leave,
)
from kleline.web.i18n import N_, Language, language_of
from kleline.web.paths import return_path
from kleline.web.refusals import PageError, page_error
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of

__all__ = ["SECURITY", "passkey_rows", "passkeys_usable", "qr_code", "router", "secret_groups", "when"]

router = APIRouter(include_in_schema=False)

SECURITY: Final = "/wallet/security"
_TITLE: Final = N_("Security")
_PASSWORD_FIELDS: Final = {"current_password": "current_password", "password": "new_password"}


def when(moment: datetime, language: Language) -> str:
    """A date and time to the minute in Paris, as the activity and the receipts show them ("6 Dec 2026, 10:30")."""
    return history.moment(language, moment)


class _Listed(Protocol):
    """A passkey of any kind: a customer's, a merchant user's, a staff user's."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def last_used_at(self) -> datetime | None: ...


_P = TypeVar("_P", bound=_Listed)


def passkey_rows(passkeys: Sequence[_P], language: Language) -> list[tuple[_P, str, str]]:
    """Each passkey as a security page lists it (``_passkey_list.html``): itself, when it was added, when it was
    last used ("" for never)."""
    return [
        (p, when(p.created_at, language), when(p.last_used_at, language) if p.last_used_at else "") for p in passkeys
    ]


def secret_groups(secret: str) -> str:
    """A TOTP secret in groups of four characters, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def passkeys_usable(request: Request) -> bool:
    """Browsers accept passkeys only for a host name (not an IP address) over HTTPS, or on localhost."""
    rp = web_of(request).kleline.passkeys.relying_party
    is_address = rp.id.replace(".", "").isdigit() or ":" in rp.id
    return not is_address and (rp.origin.startswith("https://") or rp.id == "localhost")


def qr_code(enrolment: Enrolment, language: Language) -> Markup:
    """The enrolment's URI as a QR code, in SVG drawn on the server, titled for screen readers."""
    title = language.gettext("QR code to scan with your authenticator app")
    svg = segno.make(enrolment.provisioning_uri, error="m").svg_inline(scale=5, svgclass="qr-code", title=title)
    # segno writes the SVG from the URI alone (escaped attributes, a path): markup we made, not user input.
    return Markup(
        svg.replace("<svg ", '<svg role="img" aria-labelledby="qr-title" ', 1).replace(
            "<title>", '<title id="qr-title">', 1
        )
    )


def _page(
    request: Request,
    visit: Visit,
    customer: Customer,
    *,
    errors: list[PageError] | None = None,
    enrolment: Enrolment | None = None,
    passkey_name: str = "",
    next_url: str | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    usable = passkeys_usable(request)
    offer = kleline.passkeys.begin_registration(customer.id) if usable else None
    passkeys = kleline.passkeys.list(customer.id)
    context: dict[str, Any] = page_context(
        visit,
        language.gettext(_TITLE),
        errors=errors or [],
        section="security",
        flash=announcement(request, visit),
        authenticator=kleline.strong_auth.enrolment(customer.id),
        enrolment=enrolment,
        qr_code=qr_code(enrolment, language) if enrolment else None,
        secret=secret_groups(enrolment.secret) if enrolment else "",
        passkeys=passkey_rows(passkeys, language),
        passkeys_usable=usable,
        passkey_offer=offer,
        passkey_name=passkey_name,
        sign_ins=[(s, when(s.at, language)) for s in kleline.sign_ins.latest(customer.id, 10)],
        next=next_url or "",
    )
    response = render(request, "security.html", context, status=status)
    return respond(request, visit, allow_scripts(response) if usable else response)


@router.get(SECURITY)
def security_page(request: Request, next: str | None = None) -> Response:
    """The authenticator app, the passkeys, the password, and the latest sign-ins; with ``next``, the page to go
    back to once the authenticator app is set up (a checkout that asked for one)."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    return _page(request, visit, visit.customer, next_url=return_path(next))


@router.post(f"{SECURITY}/authenticator")
def start_enrolment(request: Request, form: Form) -> Response:
    """A new authenticator (or a fresh secret for one not confirmed yet): the page shows its secret, once."""
    visit, customer = signed_in_post(request, form, back=SECURITY)
    language = language_of(request)
    next_url = return_path(form.get("next"))
    try:
        enrolment = web_of(request).kleline.strong_auth.enrol(customer.id, customer.email)
    except AlreadyEnrolled as error:
        errors = [page_error(error, language=language)]
        return _page(request, visit, customer, errors=errors, next_url=next_url, status=409)
    return _page(request, visit, customer, enrolment=enrolment, next_url=next_url)


@router.post(f"{SECURITY}/authenticator/confirm")
def confirm_enrolment(request: Request, form: Form) -> Response:
    """Confirm the new authenticator with the code it shows now."""
    visit, customer = signed_in_post(request, form, back=SECURITY)
    language = language_of(request)
    next_url = return_path(form.get("next"))
    code = "".join(form.get("code", "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        wrong = PageError(
            language.gettext("Enter the 6-digit code from your authenticator app"), "validation_error", "code"
        )
        return _page(request, visit, customer, errors=[wrong], next_url=next_url, status=400)
    try:
        web_of(request).kleline.strong_auth.confirm_enrolment(customer.id, code)
    except KlelineError as error:
        errors = [page_error(error, {"code": "code"}, language)]
        return _page(request, visit, customer, errors=errors, next_url=next_url, status=400)
    return leave(request, redirect(next_url or SECURITY), AUTHENTICATOR_READY)


@router.post(f"{SECURITY}/passkeys")
def add_passkey(request: Request, form: Form) -> Response:
    """Keep the passkey the browser's authenticator just made (the script filled ``credential``)."""
    visit, customer = signed_in_post(request, form, back=SECURITY)
    language = language_of(request)
    name = form.get("name", "")
    errors: list[PageError] = []
    try:
        check_name(name)
    except KlelineError as error:
        errors.append(
            PageError(
                language.gettext("Give the passkey a name (1 to 64 characters), such as “My phone”"), error.code, "name"
            )
        )
    if not form.get("credential"):
        message = language.gettext(
            "Your browser did not create a passkey: it needs JavaScript, and a passkey-capable device"
        )
        errors.append(PageError(message, "passkey_response_missing", "name"))
    if not errors:
        try:
            passkey = web_of(request).kleline.passkeys.register(
                customer.id, form.get("ceremony_id", ""), form["credential"], name
            )
        except KlelineError as error:
            errors.append(page_error(error, {"name": "name", "credential": "name", "ceremony_id": "name"}, language))
        else:
            return leave(request, redirect(SECURITY), PASSKEY_ADDED, passkey.id)
    return _page(request, visit, customer, errors=errors, passkey_name=name, status=400)


@router.post(SECURITY + "/passkeys/{passkey_id}/remove")
def remove_passkey(request: Request, passkey_id: str, form: Form) -> Response:
    """Remove one of the wallet's passkeys."""
    visit, customer = signed_in_post(request, form, back=SECURITY)
    try:
        web_of(request).kleline.passkeys.remove(customer.id, passkey_id)
    except KlelineError as error:
        return _page(request, visit, customer, errors=[page_error(error, language=language_of(request))], status=404)
    return leave(request, redirect(SECURITY), PASSKEY_REMOVED)


def _signed_in_again(request: Request, customer_id: str, kind: str) -> Response:
    """The customer's sessions were all ended by a password change: this browser, whose owner just proved they know
    the password, gets a new one and comes back here."""
    web = web_of(request)
    session = web.sessions.sign_in(None, customer_id)
    response = redirect(SECURITY)
    web.cookies.set(response, session, web.max_age)
    return leave(request, response, kind)


@router.post(f"{SECURITY}/password")
def change_password(request: Request, form: Form) -> Response:
    """Change the password (the current one is asked for); every other session and API token ends."""
    visit, customer = signed_in_post(request, form, back=SECURITY)
    language = language_of(request)
    _ = language.gettext
    current, new, again = (
        form.get("current_password", ""),
        form.get("new_password", ""),
        form.get("new_password_again", ""),
    )
    kleline = web_of(request).kleline
    errors: list[PageError] = []
    if not current:
        errors.append(PageError(_("Enter your current password"), "validation_error", "current_password"))
    else:
        try:  # checked even when the new one is refused, so that every problem shows at once
            kleline.customers.check_current_password(customer.id, current)
        except WrongPassword as error:
            errors.append(page_error(error, _PASSWORD_FIELDS, language))
    errors += [page_error(problem, _PASSWORD_FIELDS, language) for problem in password_problems(new)]
    if new != again:
        errors.append(
            PageError(
                _("The two new passwords differ: type the same one twice"), "validation_error", "new_password_again"
            )
        )
    if not errors:
        try:
            kleline.customers.change_password(customer.id, current, new)
        except KlelineError as error:  # the current password changed meanwhile, or a lockout began
            errors.append(page_error(error, _PASSWORD_FIELDS, language))
        else:
            return _signed_in_again(request, customer.id, PASSWORD_CHANGED)
    return _page(request, visit, customer, errors=errors, status=400)


@router.post(f"{SECURITY}/sign-out-everywhere")
def sign_out_everywhere(request: Request, form: Form) -> Response:
    """End every session of the wallet, this browser's too, and every API token; on to the sign-in page."""
    _, customer = signed_in_post(request, form, back=SECURITY)
    web = web_of(request)
    web.kleline.customers.sign_out_everywhere(customer.id)
    response = redirect("/sign-in?" + urlencode({"next": SECURITY}))
    web.cookies.clear(response)
    return leave(request, response, SIGNED_OUT_EVERYWHERE)
