"""The dashboard's developers section (``/dashboard/developers``): API keys and webhook endpoints, owners only.

The pages call the services the API calls (``Merchants.create_key``, ``keys``, ``revoke_key``;
``WebhookEndpoints``; ``Events``), each checked against the signed-in user's merchant: another merchant's key,
endpoint or delivery id in an address is the 404 page, as an unknown one. Every act is recorded in the audit trail
(``MerchantUsers.record``) once the service has done it. A secret (a new key's, an endpoint's signing secret) is
shown in the answer to the post that made it, that once, never in a page one can reload. A new key asks for the
second factor again when the last one is older than 15 minutes. A suspended or refused merchant's refusal
(``merchant_not_active``) is worded on the page, beside the form.

The label typed for a new key is kept in the audit record of its creation (keys have no column for it), and read
back from there for the list. When a key was last used is not recorded by Kleline, so the list does not say.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from kleline.errors import KlelineError, NotFound
from kleline.events.model import Delivery, InvalidWebhookUrl, WebhookEndpoint
from kleline.merchants import MerchantKey, MerchantNotActive
from kleline.web.dashboard.visits import (
    DashboardVisit,
    dashboard_context,
    refused,
    require,
    require_recent_second_factor,
    respond,
    signed_in_merchant_post,
    signed_in_merchant_user,
)
from kleline.web.dashboard.wording import dashboard_error, leave_note, note_of
from kleline.web.i18n import N_, Language, language_of
from kleline.web.once import new_form_key, once
from kleline.web.refusals import PageError
from kleline.web.rendering import redirect, render
from kleline.web.security import when
from kleline.web.visits import Answered, Form, web_of

__all__ = ["DEVELOPERS", "router"]

router = APIRouter(include_in_schema=False)

DEVELOPERS: Final = "/dashboard/developers"
KEYS: Final = DEVELOPERS + "/keys"
WEBHOOKS: Final = DEVELOPERS + "/webhooks"
_TITLE: Final = N_("Developers")
_LABEL_LENGTH: Final = 100
_DELIVERIES: Final = 20
_EXCERPT: Final = 160

_MESSAGES: Final[dict[str, str]] = {
    "merchant_not_active": N_(
        "Your shop is suspended: it can get no new API key or webhook endpoint, nor enable one again. Your "
        "existing keys still read and refund. Contact Kleline to know why."
    ),
    "invalid_webhook_url": N_(
        "Enter an address starting with https:// or http:// whose server is on the public internet (not a "
        "private or local address), for example https://shop.example/kleline/webhooks"
    ),
    "too_many_webhook_endpoints": N_("Your shop already has 16 webhook endpoints: delete or reuse one first"),
    "invalid_label": N_("Enter a label of at most 100 characters, or leave it empty"),
    "not_found": N_("There is no such key, endpoint or delivery in your shop"),
}
_REFUSED: Final = N_(
    "Kleline has refused your shop's application: it can get no new API key or webhook endpoint. Your dashboard's "
    "overview says why."
)
_STATUSES: Final = {
    "pending": N_("Pending"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "canceled": N_("Canceled"),
}


class _InvalidLabel(KlelineError):
    code = "invalid_label"
    status = 400


def _error(error: KlelineError, language: Language, field: str | None = None) -> PageError:
    if isinstance(error, MerchantNotActive) and error.merchant_status == "refused":
        return PageError(language.gettext(_REFUSED), error.code, field)
    wording = _MESSAGES.get(error.code)
    if wording is not None:
        return PageError(language.gettext(wording), error.code, field)
    return dashboard_error(error, language=language)


def _visit(request: Request) -> DashboardVisit:
    visit = signed_in_merchant_user(request)
    require(request, visit, "keys")
    return visit


def _post(request: Request, form: Form, back: str) -> DashboardVisit:
    visit = signed_in_merchant_post(request, form, back=back)
    require(request, visit, "keys")
    return visit


def _merchant_id(visit: DashboardVisit) -> str:
    assert visit.merchant is not None
    return visit.merchant.id


def _not_found(request: Request, visit: DashboardVisit) -> Answered:
    return refused(request, visit, language_of(request).gettext(_MESSAGES["not_found"]), status=404)


def _key(request: Request, visit: DashboardVisit, key_id: str) -> MerchantKey:
    """One of the merchant's keys, or the 404 page."""
    for key in web_of(request).kleline.merchants.keys(_merchant_id(visit)):
        if key.id == key_id:
            return key
    raise _not_found(request, visit)


def _endpoint(request: Request, visit: DashboardVisit, endpoint_id: str) -> WebhookEndpoint:
    """One of the merchant's endpoints, or the 404 page."""
    try:
        return web_of(request).kleline.webhook_endpoints.get(_merchant_id(visit), endpoint_id)
    except NotFound:
        raise _not_found(request, visit) from None


# The section's page --------------------------------------------------------------------------------------------------


def _page(
    request: Request,
    visit: DashboardVisit,
    *,
    errors: list[PageError] | None = None,
    new_key: tuple[MerchantKey, str, str] | None = None,
    new_endpoint: tuple[WebhookEndpoint, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    merchant_id = _merchant_id(visit)
    keys = kleline.merchants.keys(merchant_id)
    labels = kleline.merchant_users.recorded(visit.actor, "api_key_created", [key.id for key in keys])
    endpoints = kleline.webhook_endpoints.list(merchant_id, limit=100)
    context: dict[str, Any] = dashboard_context(
        visit,
        language.gettext(_TITLE),
        section="developers",
        flash=note_of(request, signed_in=True) if status == 200 and new_key is None and new_endpoint is None else None,
        errors=errors or [],
        keys=[
            (
                key,
                str(labels.get(key.id, {}).get("label") or ""),
                when(key.created_at, language),
                when(key.revoked_at, language) if key.revoked_at else "",
            )
            for key in keys
        ],
        endpoints=[(endpoint, when(endpoint.created_at, language)) for endpoint in endpoints],
        new_key=new_key,
        new_endpoint=new_endpoint,
        suspended=visit.merchant is not None and visit.merchant.status == "suspended",
        refused_shop=visit.merchant is not None and visit.merchant.status == "refused",
        typed=typed or {"label": "", "url": ""},
        form_keys={"key": new_form_key(), "endpoint": new_form_key()},  # each form is sent once, apart
    )
    return respond(request, visit, render(request, "dashboard/developers.html", context, status=status))


@router.get(DEVELOPERS)
def developers_page(request: Request, label: str = "") -> Response:
    """The shop's API keys and webhook endpoints, with the forms that add them (``label``: the new key's, as typed
    before the second factor was asked again)."""
    return _page(request, _visit(request), typed={"label": label[:_LABEL_LENGTH], "url": ""})


def _scope(visit: DashboardVisit) -> str:
    """Whose forms a form key belongs to (``kleline.web.once``): the signed-in person's, apart from customers'."""
    return f"dashboard:{visit.actor.user.id}"


# API keys --------------------------------------------------------------------------------------------------------


@router.post(KEYS)
def create_key(request: Request, form: Form) -> Response:
    """A new API key, its secret shown in this answer only; the second factor first if the last is old."""
    visit = _post(request, form, DEVELOPERS)
    label = " ".join(form.get("label", "").split())
    # Once the code is given, the form comes back with the label typed (not a secret), to be sent again.
    require_recent_second_factor(request, visit, f"{DEVELOPERS}?{urlencode({'label': label})}" if label else DEVELOPERS)
    language = language_of(request)
    typed = {"label": label, "url": ""}
    if len(label) > _LABEL_LENGTH:
        error = _error(_InvalidLabel("label: at most 100 characters", param="label"), language, "key-label")
        return _page(request, visit, errors=[error], typed=typed, status=400)
    kleline = web_of(request).kleline
    made: list[Any] = []

    def make() -> str:
        new = kleline.merchants.create_key(_merchant_id(visit))
        kleline.merchant_users.record(
            visit.actor, "api_key_created", new.key.id, {"label": label, "last4": new.key.last4}
        )
        made.append(new)
        return new.key.id

    try:
        once(request, _scope(visit), form, make)
    except KlelineError as error:
        return _page(request, visit, errors=[_error(error, language, "key-label")], typed=typed, status=error.status)
    if not made:  # the same form sent again (a reload, a double click): one key, its secret shown once
        return leave_note(request, redirect(DEVELOPERS), "dashboard_key_already_created")
    return _page(request, visit, new_key=(made[0].key, label, made[0].secret))


@router.get(KEYS + "/{key_id}/revoke")
def revoke_key_page(request: Request, key_id: str) -> Response:
    """Asks before revoking a key, on a page of its own (no JavaScript)."""
    visit = _visit(request)
    key = _key(request, visit, key_id)
    if key.revoked_at is not None:
        return redirect(DEVELOPERS)
    language = language_of(request)
    label = web_of(request).kleline.merchant_users.recorded(visit.actor, "api_key_created", [key.id])
    context = dashboard_context(
        visit,
        language.gettext(N_("Revoke this API key?")),
        section="developers",
        key=key,
        label=str(label.get(key.id, {}).get("label") or ""),
        created=when(key.created_at, language),
    )
    return respond(request, visit, render(request, "dashboard/revoke_key.html", context))


@router.post(KEYS + "/{key_id}/revoke")
def revoke_key(request: Request, key_id: str, form: Form) -> Response:
    """Revoke a key: requests signed with it are refused from now on."""
    visit = _post(request, form, DEVELOPERS)
    key = _key(request, visit, key_id)
    kleline = web_of(request).kleline
    kleline.merchants.revoke_key(_merchant_id(visit), key.id)
    kleline.merchant_users.record(visit.actor, "api_key_revoked", key.id, {"last4": key.last4})
    return leave_note(request, redirect(DEVELOPERS), "dashboard_key_revoked")


# Webhook endpoints -------------------------------------------------------------------------------------------------


@router.post(WEBHOOKS)
def add_endpoint(request: Request, form: Form) -> Response:
    """Register an endpoint: its signing secret is shown in this answer only."""
    visit = _post(request, form, DEVELOPERS)
    language = language_of(request)
    url = form.get("url", "").strip()
    typed = {"label": "", "url": url}
    kleline = web_of(request).kleline
    made: list[tuple[WebhookEndpoint, str]] = []

    def add() -> str:
        if len(url) > 2048:
            raise InvalidWebhookUrl("url: at most 2048 characters")
        endpoint, secret = kleline.webhook_endpoints.create(_merchant_id(visit), url)
        kleline.merchant_users.record(visit.actor, "webhook_endpoint_added", endpoint.id, {"url": endpoint.url})
        made.append((endpoint, secret))
        return endpoint.id

    try:
        added = once(request, _scope(visit), form, add)
    except KlelineError as error:
        page_error = _error(error, language, "endpoint-url")
        return _page(request, visit, errors=[page_error], typed=typed, status=error.status)
    if not made:  # the same form sent again: one endpoint, its secret shown once
        return leave_note(request, redirect(f"{WEBHOOKS}/{added}"), "dashboard_endpoint_already_added")
    return _page(request, visit, new_endpoint=made[0])


def _attempts(delivery: Delivery, language: Language) -> list[tuple[int, str, str, str]]:
    """Each attempt: its number, time, answer (status code) and excerpt (the error, shortened)."""
    lines = []
    for attempt in delivery.attempts:
        answer = str(attempt.status_code) if attempt.status_code is not None else language.gettext(N_("no answer"))
        excerpt = (attempt.error or "")[:_EXCERPT]
        lines.append((attempt.number, when(attempt.attempted_at, language), answer, excerpt))
    return lines


def _endpoint_page(
    request: Request,
    visit: DashboardVisit,
    endpoint: WebhookEndpoint,
    *,
    secret: str | None = None,
    errors: list[PageError] | None = None,
    status: int = 200,
) -> Response:
    kleline = web_of(request).kleline
    language = language_of(request)
    deliveries = kleline.events.endpoint_deliveries(_merchant_id(visit), endpoint.id, limit=_DELIVERIES)
    context = dashboard_context(
        visit,
        language.gettext(N_("Webhook endpoint")),
        section="developers",
        flash=note_of(request, signed_in=True) if secret is None and status == 200 else None,
        errors=errors or [],
        endpoint=endpoint,
        created=when(endpoint.created_at, language),
        secret=secret,
        deliveries=[
            (
                delivery,
                event_type,
                when(delivery.created_at, language),
                language.gettext(_STATUSES[delivery.status]),
                _attempts(delivery, language),
                when(delivery.next_attempt_at, language)
                if delivery.status == "pending" and delivery.next_attempt_at and delivery.attempts
                else "",
            )
            for delivery, event_type in deliveries
        ],
    )
    return respond(request, visit, render(request, "dashboard/webhook_endpoint.html", context, status=status))


@router.get(WEBHOOKS + "/{endpoint_id}")
def endpoint_page(request: Request, endpoint_id: str) -> Response:
    """One endpoint: its state, its buttons, its newest deliveries with their attempts."""
    visit = _visit(request)
    return _endpoint_page(request, visit, _endpoint(request, visit, endpoint_id))


@router.post(WEBHOOKS + "/{endpoint_id}/disable")
def disable_endpoint(request: Request, endpoint_id: str, form: Form) -> Response:
    """Stop sending to the endpoint until it is enabled again."""
    back = f"{WEBHOOKS}/{endpoint_id}"
    visit = _post(request, form, back)
    endpoint = _endpoint(request, visit, endpoint_id)
    kleline = web_of(request).kleline
    kleline.webhook_endpoints.disable(_merchant_id(visit), endpoint.id)
    kleline.merchant_users.record(visit.actor, "webhook_endpoint_disabled", endpoint.id, {"url": endpoint.url})
    return leave_note(request, redirect(back), "dashboard_endpoint_disabled")


@router.post(WEBHOOKS + "/{endpoint_id}/enable")
def enable_endpoint(request: Request, endpoint_id: str, form: Form) -> Response:
    """Send to the endpoint again (refused to a suspended shop)."""
    back = f"{WEBHOOKS}/{endpoint_id}"
    visit = _post(request, form, back)
    endpoint = _endpoint(request, visit, endpoint_id)
    kleline = web_of(request).kleline
    try:
        kleline.webhook_endpoints.enable(_merchant_id(visit), endpoint.id)
    except KlelineError as error:
        errors = [_error(error, language_of(request))]
        return _endpoint_page(request, visit, endpoint, errors=errors, status=error.status)
    kleline.merchant_users.record(visit.actor, "webhook_endpoint_enabled", endpoint.id, {"url": endpoint.url})
    return leave_note(request, redirect(back), "dashboard_endpoint_enabled")


@router.post(WEBHOOKS + "/{endpoint_id}/rotate")
def rotate_secret(request: Request, endpoint_id: str, form: Form) -> Response:
    """A new signing secret for the endpoint, shown in this answer only."""
    visit = _post(request, form, f"{WEBHOOKS}/{endpoint_id}")
    endpoint = _endpoint(request, visit, endpoint_id)
    kleline = web_of(request).kleline
    endpoint, secret = kleline.webhook_endpoints.rotate_secret(_merchant_id(visit), endpoint.id)
    kleline.merchant_users.record(visit.actor, "webhook_secret_rotated", endpoint.id, {"url": endpoint.url})
    return _endpoint_page(request, visit, endpoint, secret=secret)


@router.post(WEBHOOKS + "/{endpoint_id}/test")
def send_test(request: Request, endpoint_id: str, form: Form) -> Response:
    """Owe the endpoint a test event, sent as soon as the worker passes."""
    back = f"{WEBHOOKS}/{endpoint_id}"
    visit = _post(request, form, back)
    endpoint = _endpoint(request, visit, endpoint_id)
    kleline = web_of(request).kleline
    event = kleline.events.send_test(_merchant_id(visit), endpoint.id)
    kleline.merchant_users.record(visit.actor, "webhook_test_sent", endpoint.id, {"event": event.id})
    return leave_note(request, redirect(back), "dashboard_test_sent")


@router.post(WEBHOOKS + "/{endpoint_id}/deliveries/{delivery_id}/send-again")
def send_again(request: Request, endpoint_id: str, delivery_id: str, form: Form) -> Response:
    """Send a delivery's event again (to every enabled endpoint, as the API's redelivery)."""
    back = f"{WEBHOOKS}/{endpoint_id}"
    visit = _post(request, form, back)
    endpoint = _endpoint(request, visit, endpoint_id)
    kleline = web_of(request).kleline
    try:
        event_id = kleline.events.event_of_delivery(_merchant_id(visit), delivery_id)
    except NotFound:
        raise _not_found(request, visit) from None
    kleline.events.redeliver(_merchant_id(visit), event_id)
    kleline.merchant_users.record(
        visit.actor, "webhook_delivery_resent", delivery_id, {"event": event_id, "endpoint": endpoint.id}
    )
    return leave_note(request, redirect(back), "dashboard_event_resent")
