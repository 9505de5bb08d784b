"""Sending what the outbox owes: claim due deliveries, POST them signed, record every attempt, retry or give up.

At least once: a delivery is finished only once an answer was recorded, so a worker that dies mid-way leaves it
pending; its claim (a lease) runs out and another pass sends it again. Merchants deduplicate on the event id.
In order per object and endpoint: a delivery is not due while an earlier event of the same object is still pending
for the same endpoint, so event N+1 waits until N was delivered or given up.

Answers: 2xx delivered; 410 Gone disables the endpoint (nothing more is sent to it); anything else, a network error
or a refused address (the SSRF guard runs again before each attempt) is retried with backoff until the horizon,
then given up (``failed``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kleline.clock import Clock, epoch_us, from_epoch_us
from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.events import store
from kleline.events.endpoints import WebhookEndpoints
from kleline.events.model import InvalidWebhookUrl, RetryPolicy
from kleline.events.signature import HEADER, sign
from kleline.events.transport import HttpTransport, PostResult, Transport

__all__ = ["DataView", "DeliveryReport", "WebhookDeliverer"]

log = logging.getLogger(__name__)

DataView = Callable[[str, str, Mapping[str, Any]], dict[str, Any]]
"""``(merchant_id, object_id, data) -> data`` as the merchant may see it at delivery: a customer's email is added
only if the customer shares it at that moment (``payments.disclosure``, a service above this one, wired in by the
composition root), never stored in the event."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one pass did: attempts made, and how they ended."""

    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: int = 0

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.attempted + other.attempted,
            self.delivered + other.delivered,
            self.retrying + other.retrying,
            self.failed + other.failed,
            self.disabled + other.disabled,
        )


class WebhookDeliverer:
    """Delivers due webhooks, one batch per pass."""

    def __init__(
        self,
        db: Database,
        endpoints: WebhookEndpoints,
        *,
        clock: Clock,
        policy: RetryPolicy | None = None,
        transport: Transport | None = None,
        timeout: float = 5.0,
        batch_size: int = 50,
        concurrency: int = 8,
        data_view: DataView | None = None,
    ) -> None:
        self._db = db
        self._data_view = data_view
        self._endpoints = endpoints
        self._clock = clock
        self.policy = policy or RetryPolicy()
        self._transport = transport or HttpTransport()
        self._timeout = timeout
        self.batch_size = batch_size
        self._concurrency = concurrency
        # Long enough for the whole batch to be sent in waves of ``concurrency``, with room to record the answers.
        waves = math.ceil(batch_size / concurrency) + 1
        self._lease = timedelta(seconds=timeout * waves + 30)

    def deliver_due(self) -> DeliveryReport:
        """Claim up to ``batch_size`` due deliveries and send them; what happened."""
        now = self._clock()
        with self._db.transaction() as tx:
            claimed = store.claim_due(tx, epoch_us(now), epoch_us(now + self._lease), self.batch_size)
        if not claimed:
            return DeliveryReport()
        if self._concurrency == 1 or len(claimed) == 1:
            reports = [self._deliver(c) for c in claimed]
        else:
            # Safe to send in parallel: a batch never holds two deliveries of one object to one endpoint.
            with ThreadPoolExecutor(max_workers=min(self._concurrency, len(claimed))) as pool:
                reports = list(pool.map(self._deliver, claimed))
        total = DeliveryReport()
        for report in reports:
            total += report
        return total

    def _deliver(self, claimed: store.Claimed) -> DeliveryReport:
        try:
            return self._attempt(claimed)
        except Exception:
            # The claim runs out and a later pass tries again: nothing is lost, the error is logged.
            log.exception("delivery %s could not be attempted", claimed.id)
            return DeliveryReport()

    def _attempt(self, claimed: store.Claimed) -> DeliveryReport:
        event = claimed.event
        payload = event.payload()
        if self._data_view is not None:
            payload["data"] = self._data_view(event.merchant_id, event.object_id, event.data)
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        attempted_at = self._clock()
        started = time.monotonic()
        result = self._send(claimed, body, int(attempted_at.timestamp()))
        duration_us = int((time.monotonic() - started) * 1_000_000)
        status = result.status_code
        if status is not None and 200 <= status < 300:
            outcome, next_at = "delivered", None
        elif status == 410:
            outcome, next_at = "canceled", None
        else:
            scheduled = from_epoch_us(claimed.scheduled_at)
            retry = self.policy.next_attempt(claimed.attempts + 1, self._clock(), scheduled)
            outcome, next_at = ("pending", retry) if retry is not None else ("failed", None)
        error = result.error
        if error is None and status is not None and 300 <= status < 400:
            error = "redirects are not followed"
        at = epoch_us(attempted_at)
        with self._db.transaction() as tx:
            number = store.record_attempt(
                tx,
                claimed.id,
                attempted_at=at,
                status_code=status,
                error=error,
                duration_us=duration_us,
                outcome=outcome,
                next_attempt_at=None if next_at is None else epoch_us(next_at),
            )
            disabled = status == 410 and store.disable_endpoint(tx, claimed.endpoint_id, "answered 410 Gone", at)
            if disabled:
                store.cancel_pending(tx, claimed.endpoint_id, at)
        log.info(
            "delivery %s of %s (%s) to %s, attempt %d: %s -> %s",
            claimed.id,
            event.id,
            event.type,
            claimed.endpoint_id,
            number,
            status if status is not None else error,
            outcome,
        )
        if disabled:
            log.warning("webhook endpoint %s disabled: it answered 410 Gone", claimed.endpoint_id)
        return DeliveryReport(
            attempted=1,
            delivered=int(outcome == "delivered"),
            retrying=int(outcome == "pending"),
            failed=int(outcome == "failed"),
            disabled=int(disabled),
        )

    def _send(self, claimed: store.Claimed, body: bytes, timestamp: int) -> PostResult:
        """Check the address again (DNS may have changed since registration), sign, and POST."""
        try:
            target = self._endpoints.target(claimed.url)
        except InvalidWebhookUrl as refused:
            return PostResult(None, f"refused: {refused.detail}")
        try:
            secret = self._endpoints.secret(claimed.endpoint_id)
        except KlelineError as error:
            log.error("delivery %s: the endpoint's secret cannot be opened: %s", claimed.id, error.detail)
            return PostResult(None, "the endpoint's secret cannot be opened (Kleline's keys)")
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(secret, body, timestamp),
            "Kleline-Event-Id": claimed.event.id,
            "Kleline-Delivery-Id": claimed.id,
        }
        return self._transport.post(target, body, headers, self._timeout)
