"""Events, webhook endpoints and deliveries as plain values, and the retry rule (backoff with full jitter).

Errors::

    KlelineError
     ├── ValidationError
     │    └── InvalidWebhookUrl        an endpoint URL is malformed or aims at a forbidden address
     ├── NotFound
     │    ├── EventNotFound            no such event for this merchant
     │    └── EndpointNotFound         no such webhook endpoint for this merchant
     └── Conflict
          └── TooManyEndpoints         the merchant already has as many endpoints as allowed
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from kleline.clock import to_rfc3339
from kleline.errors import Conflict, NotFound, ValidationError

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "EndpointNotFound",
    "EndpointStatus",
    "Event",
    "EventNotFound",
    "InvalidWebhookUrl",
    "RetryPolicy",
    "SealedSecret",
    "TooManyEndpoints",
    "WebhookEndpoint",
]

EndpointStatus = Literal["enabled", "disabled"]
DeliveryStatus = Literal["pending", "delivered", "failed", "canceled"]


class InvalidWebhookUrl(ValidationError):
    """The URL is not http(s) with a host, or it resolves to an address Kleline must not call."""

    code = "invalid_webhook_url"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, param="url")


class EventNotFound(NotFound):
    """No such event, or another merchant's (we do not say which)."""


class EndpointNotFound(NotFound):
    """No such webhook endpoint, or another merchant's (we do not say which)."""


class TooManyEndpoints(Conflict):
    """A merchant may have only so many endpoints: each one multiplies every event's deliveries."""

    code = "too_many_webhook_endpoints"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to one of a merchant's objects; ``data`` is that object's API JSON at the time."""

    id: str
    merchant_id: str
    type: str
    object_id: str
    data: dict[str, Any]
    created_at: datetime

    def payload(self) -> dict[str, Any]:
        """The event as merchants see it, in a webhook's body and from the API: ``{id, type, created_at, data}``."""
        return {"id": self.id, "type": self.type, "created_at": to_rfc3339(self.created_at), "data": self.data}


@dataclass(frozen=True, slots=True)
class SealedSecret:
    """An endpoint's signing secret at rest: the master key's id and three opaque byte strings."""

    key_id: str
    wrapped_key: bytes = field(repr=False)
    nonce: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """Where a merchant receives its events (the secret is not here: it is shown once, then kept sealed)."""

    id: str
    merchant_id: str
    url: str
    status: EndpointStatus
    disabled_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try at a delivery: the answer's status code, or the error that prevented one."""

    number: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_us: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event owed to one endpoint, with every attempt made so far."""

    id: str
    event_id: str
    endpoint_id: str
    url: str
    status: DeliveryStatus
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None
    attempts: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed delivery again: exponential backoff with full jitter, for a limited time.

    Full jitter (a delay drawn uniformly between zero and the exponential ceiling) spreads the retries of many
    deliveries that failed together, so that a merchant coming back up is not hit by all of them at once.
    """

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    horizon: timedelta = timedelta(days=3)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def delay(self, failed_attempts: int) -> timedelta:
        """The pause after ``failed_attempts`` failures in a row (1 or more)."""
        exponent = min(max(failed_attempts - 1, 0), 32)  # 2**32 * base is past any sensible cap
        ceiling = min(self.cap.total_seconds(), self.base.total_seconds() * 2**exponent)
        return timedelta(seconds=self.rng.uniform(0, ceiling))

    def next_attempt(self, failed_attempts: int, now: datetime, scheduled_at: datetime) -> datetime | None:
        """When to try again after a failure at ``now``; None once the horizon since ``scheduled_at`` has passed.

        The last retry is pulled in to the horizon itself, so that a delivery always gets a try at its end.
        """
        deadline = scheduled_at + self.horizon
        if now >= deadline:
            return None
        return min(now + self.delay(failed_attempts), deadline)
