"""Offers' plain values and rules: what a merchant sends, what it learns back, what a customer's inbox holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

from kleline.privacy.audience_model import Audience, InvalidOffer

__all__ = [
    "ANSWERS",
    "MAX_BODY",
    "MAX_TITLE",
    "MAX_VALIDITY",
    "InboxOffer",
    "Offer",
    "OfferDraft",
    "offer_problems",
]

ANSWERS: Final = ("interested", "share_email", "not_interested")
"""How a customer may answer: ``interested`` and ``share_email`` count as answers the merchant learns (and make an
introduction); ``share_email`` also grants the merchant the customer's email (a ``share_email`` consent)."""
MAX_TITLE: Final = 120
MAX_BODY: Final = 2000
MAX_LINK: Final = 2000
MAX_VALIDITY: Final = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class OfferDraft:
    """An offer as the merchant writes it."""

    title: str
    body: str
    link: str
    valid_from: datetime
    valid_until: datetime
    audience: Audience


def offer_problems(draft: OfferDraft, now: datetime) -> list[InvalidOffer]:
    """Every rule the draft breaks (all of them, so that a form reports them at once)."""
    problems = []
    if not draft.title.strip():
        problems.append(InvalidOffer("title: required", param="title"))
    elif len(draft.title) > MAX_TITLE:
        problems.append(InvalidOffer(f"title: at most {MAX_TITLE} characters", param="title"))
    if not draft.body.strip():
        problems.append(InvalidOffer("body: required", param="body"))
    elif len(draft.body) > MAX_BODY:
        problems.append(InvalidOffer(f"body: at most {MAX_BODY} characters", param="body"))
    parts = urlsplit(draft.link.strip())
    if parts.scheme != "https" or not parts.hostname or len(draft.link) > MAX_LINK or parts.username:
        problems.append(InvalidOffer("link: an https:// address of the offer", param="link"))
    if draft.valid_until <= draft.valid_from:
        problems.append(InvalidOffer("valid_until: after valid_from", param="valid_until"))
    elif draft.valid_until <= now:
        problems.append(InvalidOffer("valid_until: in the future", param="valid_until"))
    elif draft.valid_until - max(draft.valid_from, now) > MAX_VALIDITY:
        problems.append(InvalidOffer("valid_until: at most 90 days ahead", param="valid_until"))
    if draft.valid_from - now > MAX_VALIDITY:
        problems.append(InvalidOffer("valid_from: at most 90 days ahead", param="valid_from"))
    return problems


@dataclass(frozen=True, slots=True)
class Offer:
    """A sent offer as its merchant sees it: the noisy ``reach`` (None: "fewer than 50") and how many answered."""

    id: str
    merchant_id: str
    title: str
    body: str
    link: str
    valid_from: datetime
    valid_until: datetime
    audience: Audience
    reach: int | None
    answered: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InboxOffer:
    """An offer in a customer's inbox: who sent it, what it says, whether it was read and how it was answered."""

    id: str
    merchant_id: str
    merchant_name: str
    title: str
    body: str
    link: str
    valid_from: datetime
    valid_until: datetime
    delivered_at: datetime
    read_at: datetime | None
    answer: str | None
    answered_at: datetime | None

    def expired(self, now: datetime) -> bool:
        """Whether the offer can no longer be answered."""
        return now >= self.valid_until
