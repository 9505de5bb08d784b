"""The strong-authentication step of a top-up (``/wallet/top-up/{id}?challenge=...``), through the same services as
``POST /v1/wallet/top-ups`` with ``challenge_id``.

The page offers what the wallet has, as the checkout does: a passkey where one is registered and the browser can
use it (``/static/passkeys.js`` asks the authenticator to sign bytes bound to the top-up's amount and to the purse,
then posts its answer to ``/passkey``), and the authenticator app's code (posted to ``/authenticate``) beside it,
or alone. Each post tops up once, however often it is sent (``kleline.web.once``, as the top-up form). A challenge
that lapsed is replaced at once by a fresh one (a new top-up of the same amount), so that the next try passes; any
other refusal shows the step again, with a new passkey ceremony.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.bootstrap import Kleline
from kleline.errors import KlelineError, NotFound
from kleline.wallet.model import Customer, TopUp
from kleline.wallet.passkey import CeremonyExpired, PasskeyProof
from kleline.wallet.sca import ChallengeExpired
from kleline.web.i18n import N_, language_of
from kleline.web.once import new_form_key, once
from kleline.web.paths import return_path
from kleline.web.refusals import PageError
from kleline.web.rendering import allow_scripts, redirect, render
from kleline.web.security import passkeys_usable
from kleline.web.top_up import FIELDS, PATH, form_page, outcome, refused, start
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of
from kleline.web.wallet_refusals import not_found, wallet_refusal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _source_label(request: Request, customer: Customer, top_up: TopUp) -> str:
    """Where the money comes from, as the step names it ("Visa card ending 4242"); empty if it is gone."""
    kleline = web_of(request).kleline
    _ = language_of(request).gettext
    try:
        if top_up.card_id is not None:
            card = kleline.cards.get(customer.id, top_up.card_id)
            return _("%(brand)s card ending %(last4)s") % {"brand": card.brand.capitalize(), "last4": card.last4}
        if top_up.bank_account_id is not None:
            account = kleline.collections.bank_accounts.get(customer.id, top_up.bank_account_id)
            shown = f"{account.masked_iban[:4]}\u00a0••••\u00a0{account.masked_iban[-4:]}"
            return _("Direct debit from %(iban)s") % {"iban": shown}
    except NotFound:
        pass
    return ""


def _challenge_page(
    request: Request,
    visit: Visit,
    customer: Customer,
    top_up: TopUp,
    challenge_id: str,
    *,
    next_url: str | None = None,
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    offer = None
    # Browsers refuse passkeys at an IP address or over plain HTTP. The ceremony binds the challenge's own amount and
    # payee: one that is not this top-up's does not pass it (and is voided trying, as with a code).
    if passkeys_usable(request) and challenge_id:
        offer = kleline.passkeys.begin_payment(customer.id, challenge_id)
    context = page_context(
        visit,
        language_of(request).gettext(N_("Confirm your top-up")),
        section="top-up",
        errors=errors or [],
        top_up=top_up,
        source_label=_source_label(request, customer, top_up),
        challenge_id=challenge_id,
        passkey_offer=offer,
        totp_enrolled=offer is None or kleline.strong_auth.enrolment(customer.id) != "none",
        form_key=new_form_key(),
        next=next_url or "",
    )
    response = render(request, "top_up_challenge.html", context, status=status)
    return allow_scripts(response) if offer is not None else response


def _own_top_up(request: Request, visit: Visit, customer: Customer, top_up_id: str) -> TopUp | Response:
    try:
        return web_of(request).kleline.top_ups.get(customer.id, top_up_id)
    except NotFound:
        return not_found(request, visit)


def _pass(kleline: Kleline, customer_id: str, top_up: TopUp, challenge_id: str, proof: str | PasskeyProof) -> str:
    """The top-up again, its challenge passed with ``proof`` (a code or a passkey's answer); the new top-up's id."""
    code, passkey = (None, proof) if isinstance(proof, PasskeyProof) else (proof, None)
    if top_up.bank_account_id is not None:
        debited = kleline.collections.top_ups.top_up(
            customer_id,
            top_up.amount,
            top_up.bank_account_id,
            challenge_id=challenge_id,
            sca_code=code,
            passkey=passkey,
        )
        return debited.top_up.id
    charged = kleline.top_ups.top_up(
        customer_id, top_up.amount, top_up.card_id or "", challenge_id=challenge_id, sca_code=code, passkey=passkey
    )
    return charged.id


def _afresh(
    request: Request, visit: Visit, customer: Customer, top_up: TopUp, next_url: str | None, message: PageError
) -> Response:
    """The challenge lapsed: a fresh one at once (a new top-up of the same amount), shown with ``message``."""
    kleline = web_of(request).kleline
    source = top_up.card_id or top_up.bank_account_id or ""
    try:
        fresh = start(kleline, customer.id, top_up.amount, source)
    except KlelineError as error:
        errors, steps, status = refused(language_of(request), error, source)
        return form_page(
            request, visit, customer, next_url=next_url, source=source, errors=errors, steps=steps, status=status
        )
    fresh_id, _, fresh_challenge = fresh.partition(" ")
    again = kleline.top_ups.get(customer.id, fresh_id)
    return _challenge_page(
        request, visit, customer, again, fresh_challenge, next_url=next_url, errors=[message], status=410
    )


@router.get(PATH + "/{top_up_id}")
def challenge_page(request: Request, top_up_id: str, challenge: str = "", next: str | None = None) -> Response:
    """The strong-authentication step of a top-up: a passkey, or the code from the customer's authenticator app."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    found = _own_top_up(request, visit, visit.customer, top_up_id)
    if isinstance(found, Response):
        return respond(request, visit, found)
    if found.status != "requires_action" or not challenge:
        return redirect("/wallet" if found.status == "succeeded" else PATH)
    page = _challenge_page(request, visit, visit.customer, found, challenge, next_url=return_path(next))
    return respond(request, visit, page)


@router.post(PATH + "/{top_up_id}/authenticate")
def authenticate(request: Request, top_up_id: str, form: Form) -> Response:
    """Pass the top-up's challenge with the code, and top up (once, however often the form is sent)."""
    visit, customer = signed_in_post(request, form, back=PATH)
    language = language_of(request)
    kleline = web_of(request).kleline
    found = _own_top_up(request, visit, customer, top_up_id)
    if isinstance(found, Response):
        return found
    challenge_id = form.get("challenge_id", "")
    next_url = return_path(form.get("next"))
    source = found.card_id or found.bank_account_id or ""
    code = "".join(form.get("sca_code", "").split())
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        wrong = PageError(
            language.gettext("Enter the 6-digit code from your authenticator app"), "validation_error", "sca_code"
        )
        return _challenge_page(
            request, visit, customer, found, challenge_id, next_url=next_url, errors=[wrong], status=400
        )
    if found.status != "requires_action":
        return redirect(PATH)
    sent = {name: value for name, value in form.items() if name != "sca_code"}  # a retry may type a fresher code
    try:
        result = once(request, customer.id, sent, lambda: _pass(kleline, customer.id, found, challenge_id, code))
    except ChallengeExpired as expired:
        refusal = wallet_refusal(expired, language)
        return _afresh(request, visit, customer, found, next_url, PageError(refusal.message, refusal.code, "sca_code"))
    except KlelineError as error:
        refusal = wallet_refusal(error, language, FIELDS)
        field = "sca_code" if error.code.startswith("sca_") or refusal.field is None else refusal.field
        status = error.status if 400 <= error.status < 500 else 400
        errors = [PageError(refusal.message, refusal.code, field)]
        return _challenge_page(
            request, visit, customer, found, challenge_id, next_url=next_url, errors=errors, status=status
        )
    return outcome(request, visit, customer, result, source, next_url)


@router.post(PATH + "/{top_up_id}/passkey")
def authenticate_with_passkey(request: Request, top_up_id: str, form: Form) -> Response:
    """Pass the top-up's challenge with a passkey (the answer ``/static/passkeys.js`` filled in), and top up (once,
    however often the form is sent)."""
    visit, customer = signed_in_post(request, form, back=PATH)
    language = language_of(request)
    kleline = web_of(request).kleline
    found = _own_top_up(request, visit, customer, top_up_id)
    if isinstance(found, Response):
        return found
    challenge_id = form.get("challenge_id", "")
    next_url = return_path(form.get("next"))
    if not form.get("credential"):
        # The script did not run (or no passkey answered): nothing is sent to be checked, nothing counted.
        message = language.gettext("No passkey answered: confirming with a passkey needs JavaScript. Try again.")
        missing = PageError(message, "passkey_response_missing")
        return _challenge_page(
            request, visit, customer, found, challenge_id, next_url=next_url, errors=[missing], status=400
        )
    if found.status != "requires_action":
        return redirect(PATH)
    proof = PasskeyProof(form.get("ceremony_id", ""), form["credential"])
    # A retry comes with a new ceremony and a new answer: the form's key alone says it is the same top-up.
    sent = {name: value for name, value in form.items() if name not in ("ceremony_id", "credential")}
    try:
        result = once(request, customer.id, sent, lambda: _pass(kleline, customer.id, found, challenge_id, proof))
    except (ChallengeExpired, CeremonyExpired) as expired:
        # A ceremony begins after its challenge and lives as long: either way the challenge is over.
        late = PageError(language.gettext(N_("This passkey request expired: try again")), expired.code)
        return _afresh(request, visit, customer, found, next_url, late)
    except KlelineError as error:
        refusal = wallet_refusal(error, language)
        status = error.status if 400 <= error.status < 500 else 400
        errors = [PageError(refusal.message, refusal.code)]
        return _challenge_page(
            request, visit, customer, found, challenge_id, next_url=next_url, errors=errors, status=status
        )
    source = found.card_id or found.bank_account_id or ""
    return outcome(request, visit, customer, result, source, next_url)
