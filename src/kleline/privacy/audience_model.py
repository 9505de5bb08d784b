"""Audiences' plain values and rules: the filter a merchant describes, its bands, the privacy policy, and the errors.

A merchant's audience is always "customers who consented to hear offers from me" (an ``offers`` consent over a mall
the merchant belongs to, or over the merchant's category), narrowed, if it asks, by what they bought in the last
12 months (``LOOKBACK``): at a merchant of a given mall, at a merchant of a given category, a spend band, a recency
band. A purchase is a EUR payment with something captured; spend is captured minus refunded, in cents. Customers
counted by their purchases must also have consented to ``audience_statistics``: without it, their purchases are
never looked at, and a purchase-based audience never includes them.

    KlelineError
     ├── InvalidAudience            (ValidationError) a filter names an unknown band, mall or category
     ├── InvalidOffer               (ValidationError) an offer's title, text, link or validity breaks a rule
     ├── PrivacyBudgetExhausted     (403) the merchant spent this month's privacy budget
     ├── OfferNotFound              (NotFound) no such offer, or not the caller's
     ├── OfferAlreadyAnswered       (Conflict) a delivered offer was already answered otherwise
     └── OfferExpired               (Conflict) the offer's validity ended before the answer
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Final

from kleline.errors import Conflict, KlelineError, NotFound, ValidationError

__all__ = [
    "LOOKBACK",
    "MINIMUM",
    "RECENCY_BANDS",
    "SPEND_BANDS",
    "Audience",
    "Budget",
    "Estimate",
    "InvalidAudience",
    "InvalidOffer",
    "OfferAlreadyAnswered",
    "OfferExpired",
    "OfferNotFound",
    "PrivacyBudgetExhausted",
    "PrivacyPolicy",
    "month_of",
]

LOOKBACK: Final = timedelta(days=365)
"""How far back purchases count: spend, recency, mall and category all look at the last 12 months only."""
MINIMUM: Final = 50
"""No figure about people below this is ever shown: a noisy value below it is released as "fewer than 50"."""

SPEND_BANDS: Final[dict[str, tuple[int, int | None]]] = {
    "under_50": (0, 5_000),
    "50_to_200": (5_000, 20_000),
    "200_to_1000": (20_000, 100_000),
    "over_1000": (100_000, None),
}
"""Spend over the last 12 months in EUR cents, ``[low, high)``; ``None``: no upper bound."""
RECENCY_BANDS: Final[dict[str, int]] = {"30_days": 30, "90_days": 90, "365_days": 365}
"""The last purchase was at most this many days ago."""


class InvalidAudience(ValidationError):
    """An audience filter names an unknown band, mall or category."""

    code = "invalid_audience"


class InvalidOffer(ValidationError):
    """An offer's title, text, link or validity breaks a rule."""

    code = "invalid_offer"


class PrivacyBudgetExhausted(KlelineError):
    """The merchant spent this month's privacy budget: no more estimates or offers until the next month (UTC)."""

    code = "privacy_budget_exhausted"
    status = 403


class OfferNotFound(NotFound):
    """No such offer, or it is not the caller's (we do not say which)."""

    code = "offer_not_found"


class OfferAlreadyAnswered(Conflict):
    """The customer already answered this offer otherwise; an answer is given once."""

    code = "offer_already_answered"


class OfferExpired(Conflict):
    """The offer's validity has ended: it can no longer be answered."""

    code = "offer_expired"


@dataclass(frozen=True, slots=True)
class Audience:
    """What a merchant asks for; every ``None`` is "any". Purchase filters (all but none) need statistics consent."""

    mall_id: str | None = None
    category: str | None = None
    spend: str | None = None
    recency: str | None = None

    def __post_init__(self) -> None:
        if self.spend is not None and self.spend not in SPEND_BANDS:
            raise InvalidAudience(f"spend: one of {', '.join(SPEND_BANDS)}", param="spend")
        if self.recency is not None and self.recency not in RECENCY_BANDS:
            raise InvalidAudience(f"recency: one of {', '.join(RECENCY_BANDS)}", param="recency")

    @property
    def uses_purchases(self) -> bool:
        """Whether the filter looks at purchases (and so only counts customers with statistics consent)."""
        return any(value is not None for value in (self.mall_id, self.category, self.spend, self.recency))

    def as_dict(self) -> dict[str, str | None]:
        """The filter as stored beside a release and shown back to the merchant."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PrivacyPolicy:
    """What each release costs and what a merchant may spend a month, in thousandths of epsilon."""

    epsilon_milli: int = 500
    monthly_budget_milli: int = 10_000

    def __post_init__(self) -> None:
        if not 0 < self.epsilon_milli <= self.monthly_budget_milli:
            raise ValueError("a release's epsilon must be positive and within the monthly budget")


@dataclass(frozen=True, slots=True)
class Budget:
    """A merchant's privacy budget for one month (``YYYY-MM``, UTC), in thousandths of epsilon."""

    month: str
    spent_milli: int
    limit_milli: int
    cost_milli: int

    @property
    def remaining_milli(self) -> int:
        """What is left to spend this month."""
        return max(self.limit_milli - self.spent_milli, 0)

    @property
    def releases_left(self) -> int:
        """How many more estimates or offers the month allows."""
        return self.remaining_milli // self.cost_milli


@dataclass(frozen=True, slots=True)
class Estimate:
    """A noisy audience size: ``size`` is None when the noisy value fell below ``MINIMUM`` ("fewer than 50")."""

    id: str
    audience: Audience
    size: int | None
    epsilon_milli: int
    budget: Budget
    created_at: datetime


def month_of(moment: datetime) -> str:
    """The budget month of a moment, in UTC: ``2026-12``."""
    return f"{moment.year:04d}-{moment.month:02d}"
