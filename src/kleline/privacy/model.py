"""The privacy capability's plain values and the rules that need no database: purposes, scopes, consent events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kleline.errors import ValidationError

__all__ = [
    "CHANNELS",
    "ConsentEvent",
    "ConsentState",
    "InvalidConsent",
    "PURPOSES",
    "SHARING_STATUSES",
    "check_scope",
    "merchant_scope",
]

PURPOSES: Final = ("offers", "share_email", "audience_statistics")
"""``offers``: hear offers from the merchants of a mall (``mall:<id>``) or category (``category:<name>``);
``share_email``: one merchant (``merchant:<id>``) may see my email; ``audience_statistics`` (no scope): my purchases
may count in audience estimates."""
CHANNELS: Final = ("wallet", "checkout", "api", "offer")
SHARING_STATUSES: Final = ("authorized", "succeeded", "requires_action")
"""The payment statuses after which a "share my email" ticked at confirmation is granted: the purchase went through,
or waits only for the customer's own code; a failed or refused one grants nothing."""
"""Where the customer gave their word: the wallet's pages, the checkout page, the API, or an answer to an offer."""


class InvalidConsent(ValidationError):
    """A consent names an unknown purpose, a scope that does not fit it, or something that does not exist."""

    code = "invalid_consent"


@dataclass(frozen=True, slots=True)
class ConsentEvent:
    """One grant or withdrawal, as the ledger keeps it forever."""

    id: str
    customer_id: str
    purpose: str
    scope: str
    action: str
    text_version: str
    channel: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A (purpose, scope)'s latest word: ``granted`` or withdrawn, under which text, since when."""

    customer_id: str
    purpose: str
    scope: str
    granted: bool
    text_version: str
    changed_at: datetime


def merchant_scope(merchant_id: str) -> str:
    """The scope of a consent given to one merchant."""
    return f"merchant:{merchant_id}"


def check_scope(purpose: str, scope: str) -> tuple[str, str]:
    """``(kind, value)`` of a scope that fits ``purpose`` (``("", "")`` for none); ``InvalidConsent`` otherwise."""
    if purpose not in PURPOSES:
        raise InvalidConsent(f"purpose: one of {', '.join(PURPOSES)}", param="purpose")
    kind, _, value = scope.partition(":")
    if purpose == "audience_statistics":
        if scope:
            raise InvalidConsent("scope: audience_statistics takes no scope", param="scope")
        return "", ""
    allowed = ("mall", "category") if purpose == "offers" else ("merchant",)
    if kind not in allowed or not value or len(scope) > 80:
        shapes = " or ".join(f"{name}:<{'name' if name == 'category' else 'id'}>" for name in allowed)
        raise InvalidConsent(f"scope: {purpose} takes {shapes}", param="scope")
    return kind, value
