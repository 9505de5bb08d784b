"""The wallet's privacy page (``/wallet/privacy``): every consent the customer may give, its exact text, whether it
stands, and one button to grant or withdraw it; then the history of every answer.

Granting and withdrawing are one click each (one form, one button, no confirmation step) and take effect at once:
the button posts to ``/wallet/privacy/grant`` or ``/wallet/privacy/withdraw`` (``kleline.privacy.consents``), which
answers with a redirect back to the same place on the page and a one-time note (post/redirect/get). The consent
ledger records the version of the text shown and its language: the texts here are the catalog's translations of
``kleline.privacy.consent_texts``, one per version (a test holds the English here to the reference, word for word).

What can be agreed to: offers from the merchants of each mall and of each category; the audience statistics; and
sharing the email with each merchant the customer paid (or already shares it with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import NotFound
from kleline.merchants import CATEGORIES
from kleline.privacy.consent_texts import TEXTS
from kleline.privacy.model import ConsentEvent, ConsentState, InvalidConsent
from kleline.wallet.model import Customer
from kleline.web import history
from kleline.web.dashboard.wording import CATEGORY_NAMES
from kleline.web.flashes import CONSENT_GRANTED, CONSENT_WITHDRAWN, announcement, leave
from kleline.web.i18n import N_, Language, language_of
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.visits import Form, Visit, page_context, respond, signed_in_post, signed_in_visit, web_of

__all__ = ["PRIVACY", "TEXTS_SHOWN", "router"]

router = APIRouter(include_in_schema=False)

PRIVACY: Final = "/wallet/privacy"
_TITLE: Final = N_("Privacy")
TEXTS_SHOWN: Final = {
    "offers-v1": N_(
        "Send offers from the merchants of %(scope)s to my wallet's inbox. They do not learn who I am unless I answer."
    ),
    "share-email-v1": N_("Share my email address with %(scope)s, so that it can write to me about my purchases."),
    "audience-statistics-v1": N_(
        "Let my purchases count, anonymously and only in noisy totals, in the audience sizes merchants estimate."
    ),
}
"""The texts as the pages show them, by version: the English is ``consent_texts.TEXTS``'s, the French the catalog's."""
_ACTIONS: Final = {"grant": N_("Agreed"), "withdraw": N_("Withdrew")}
_CHANNELS: Final = {
    "wallet": N_("in the wallet"),
    "checkout": N_("when paying"),
    "api": N_("in an app (API)"),
    "offer": N_("answering an offer"),
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One consent the page offers: what it covers, its text, whether it stands and since when."""

    purpose: str
    scope: str
    name: str
    text: str
    granted: bool
    since: str | None
    label: str = ""  # the mall's, category's or merchant's own name, for a line under a shared text

    @property
    def anchor(self) -> str:
        """The element id the page comes back to after a click on this choice."""
        return _anchor(self.purpose, self.scope)


def _anchor(purpose: str, scope: str) -> str:
    return "consent-" + "-".join(part for part in (purpose, scope.replace(":", "-")) if part)


@dataclass(frozen=True, slots=True)
class Line:
    """One answer in the history, worded."""

    at: str
    action: str
    granted: bool
    what: str
    channel: str
    version: str


def _text(purpose: str, scope_name: str, language: Language) -> str:
    return language.gettext(TEXTS_SHOWN[TEXTS[purpose].version]) % {"scope": scope_name}


class _Names:
    """The names of the malls, categories and merchants the page speaks of, in the page's language."""

    def __init__(self, request: Request, customer: Customer, states: list[ConsentState]) -> None:
        kleline = web_of(request).kleline
        self.language = language_of(request)
        self.malls = {mall.id: mall.name for mall in kleline.malls.list(limit=100)}
        merchant_ids = set(kleline.payments.merchants_paid(customer.id))
        merchant_ids |= {s.scope.partition(":")[2] for s in states if s.purpose == "share_email"}
        self.merchants: dict[str, str] = {}
        for merchant_id in sorted(merchant_ids):
            try:
                self.merchants[merchant_id] = kleline.merchants.get(merchant_id).name
            except NotFound:
                continue

    def label(self, scope: str) -> str:
        """The mall's, category's or merchant's own name."""
        kind, _, value = scope.partition(":")
        if kind == "mall":
            return self.malls.get(value, value)
        if kind == "category":
            return self.language.gettext(CATEGORY_NAMES[value]) if value in CATEGORY_NAMES else value
        return self.merchants.get(value, value) if kind == "merchant" else ""

    def of(self, scope: str) -> str:
        kind, _, value = scope.partition(":")
        _ = self.language.gettext
        if kind == "mall":
            return _("the mall %(name)s") % {"name": self.malls.get(value, value)}
        if kind == "category":
            return _("the category %(name)s") % {"name": _(CATEGORY_NAMES[value]) if value in CATEGORY_NAMES else value}
        if kind == "merchant":
            return self.merchants.get(value, value)
        return ""


def _choices(names: _Names, states: dict[tuple[str, str], ConsentState]) -> dict[str, list[Choice]]:
    language = names.language

    def choice(purpose: str, scope: str) -> Choice:
        state = states.get((purpose, scope))
        granted = state is not None and state.granted
        since = history.moment(language, state.changed_at) if state is not None and granted else None
        name = names.of(scope)
        return Choice(purpose, scope, name, _text(purpose, name, language), granted, since, names.label(scope))

    return {
        "malls": [choice("offers", f"mall:{mall_id}") for mall_id in sorted(names.malls, key=names.malls.__getitem__)],
        "categories": [choice("offers", f"category:{category}") for category in CATEGORIES],
        "statistics": [choice("audience_statistics", "")],
        "merchants": [
            choice("share_email", f"merchant:{merchant_id}")
            for merchant_id in sorted(names.merchants, key=names.merchants.__getitem__)
        ],
    }


def _history(names: _Names, events: list[ConsentEvent]) -> list[Line]:
    language = names.language
    _ = language.gettext
    purposes = {
        "offers": _("Offers from %(scope)s"),
        "share_email": _("My email shared with %(scope)s"),
        "audience_statistics": _("My purchases in audience statistics"),
    }
    return [
        Line(
            at=history.moment(language, event.at),
            action=_(_ACTIONS[event.action]),
            granted=event.action == "grant",
            what=purposes[event.purpose] % {"scope": names.of(event.scope)},
            channel=_(_CHANNELS.get(event.channel, event.channel)),
            version=event.text_version,
        )
        for event in reversed(events)
    ]


def _page(
    request: Request, visit: Visit, customer: Customer, *, errors: list[PageError] | None = None, status: int = 200
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    states, events = kleline.consents.overview(customer.id)
    names = _Names(request, customer, states)
    context: dict[str, Any] = page_context(
        visit,
        language.gettext(_TITLE),
        section="privacy",
        errors=errors or [],
        choices=_choices(names, {(s.purpose, s.scope): s for s in states}),
        history=_history(names, events),
        # Malls and categories share one text each, shown once above their lines: sixteen copies of a sentence
        # that differs by one word made the page a long scroll on a phone. The consent recorded is the same.
        offers_texts={
            "malls": _text("offers", language.gettext(N_("each mall below")), language),
            "categories": _text("offers", language.gettext(N_("each kind of shop below")), language),
        },
        flash=announcement(request, visit),
    )
    return render(request, "privacy.html", context, status=status)


@router.get(PRIVACY)
def privacy_page(request: Request) -> Response:
    """Every consent the customer may give or withdraw, with its text, and the history of their answers."""
    visit = signed_in_visit(request)
    assert visit.customer is not None
    return respond(request, visit, _page(request, visit, visit.customer))


def _answer(request: Request, form: Form, action: str) -> Response:
    visit, customer = signed_in_post(request, form, back=PRIVACY)
    language = language_of(request)
    consents = web_of(request).kleline.consents
    purpose, scope = form.get("purpose", ""), form.get("scope", "")
    record = consents.grant if action == "grant" else consents.withdraw
    try:
        record(customer.id, purpose, scope, channel="wallet", language=language.code)
    except InvalidConsent:
        refused = PageError(language.gettext("This choice is not offered: reload the page and try again."), "invalid")
        return _page(request, visit, customer, errors=[refused], status=400)
    note = CONSENT_GRANTED if action == "grant" else CONSENT_WITHDRAWN
    return leave(request, redirect(f"{PRIVACY}#{_anchor(purpose, scope)}"), note)


@router.post(f"{PRIVACY}/grant")
def grant(request: Request, form: Form) -> Response:
    """Grant one consent, at once."""
    return _answer(request, form, "grant")


@router.post(f"{PRIVACY}/withdraw")
def withdraw(request: Request, form: Form) -> Response:
    """Withdraw one consent, at once: it holds from now on, everywhere."""
    return _answer(request, form, "withdraw")
