"""Merchants' webhook endpoints: register (URL checked against SSRF), list, delete, and their signing secrets.

A secret is shown once, at registration. Kleline must keep it usable (it signs every delivery with it), so it cannot
be hashed like a password; it is sealed like the wallet's secrets instead, so that a copy of the database alone does
not let anyone forge webhooks that merchants would trust. The sealing comes from the composition root (a
``SecretBox``), because the vault lives in the wallet, a package at this same layer that events must not import.
"""

from __future__ import annotations

import builtins
import logging
import secrets
from collections.abc import Callable
from typing import Protocol

from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.events import store
from kleline.events.model import EndpointNotFound, SealedSecret, TooManyEndpoints, WebhookEndpoint
from kleline.events.ssrf import Resolver, Target, resolve_target, system_resolver
from kleline.ids import new_id

__all__ = ["MAX_ENDPOINTS", "SECRET_PREFIX", "SecretBox", "WebhookEndpoints"]

log = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"
MAX_ENDPOINTS = 16
"""Live endpoints a merchant may have: each one multiplies the deliveries of every event."""


class SecretBox(Protocol):
    """Seals and opens small secrets under the configured master keys (the vault, handed down by bootstrap)."""

    @property
    def active_key_id(self) -> str:
        """The master key new secrets are sealed under."""
        ...

    def seal(self, plaintext: bytes) -> SealedSecret:
        """Seal a secret under the active master key."""
        ...

    def open(self, sealed: SealedSecret) -> bytes:
        """Recover a sealed secret (raises if it was altered or its key is gone)."""
        ...

    def rewrap(self, sealed: SealedSecret) -> SealedSecret:
        """The same secret wrapped under the active master key."""
        ...


class WebhookEndpoints:
    """Register, list and delete a merchant's endpoints; open their secrets for signing."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        clock: Clock,
        allow_loopback: bool = False,
        resolver: Resolver = system_resolver,
        admit: Callable[[str], object] | None = None,
    ) -> None:
        # ``admit(merchant_id)`` raises when the merchant may not register endpoints (a suspended one): the
        # merchants service's rule, handed in by the composition root since events sit beside merchants.
        self._admit = admit
        self._db = db
        self._box = box
        self._clock = clock
        self._allow_loopback = allow_loopback
        self._resolver = resolver

    def target(self, url: str) -> Target:
        """Where ``url`` is to be reached, once its form and every address of its host pass the SSRF guard.

        ``InvalidWebhookUrl`` otherwise. Checked at registration and again before each delivery (DNS may change).
        """
        return resolve_target(url, allow_loopback=self._allow_loopback, resolver=self._resolver)

    def create(self, merchant_id: str, url: str) -> tuple[WebhookEndpoint, str]:
        """Register an endpoint; returns it with its secret (``whsec_...``), shown this once.

        ``InvalidWebhookUrl`` when the URL is malformed or its host resolves to an address Kleline must not call.
        """
        if self._admit is not None:
            self._admit(merchant_id)
        self.target(url)
        secret = SECRET_PREFIX + secrets.token_hex(32)
        sealed = self._box.seal(secret.encode("ascii"))
        now = self._clock()
        endpoint = WebhookEndpoint(new_id("we"), merchant_id, url, "enabled", None, now)
        with self._db.transaction() as tx:
            store.lock_merchant_endpoints(tx, merchant_id)  # the count and the insert, as one step per merchant
            if store.count_live_endpoints(tx, merchant_id) >= MAX_ENDPOINTS:
                raise TooManyEndpoints(f"a merchant may have at most {MAX_ENDPOINTS} webhook endpoints")
            store.insert_endpoint(tx, endpoint, sealed, epoch_us(now))
        log.info("webhook endpoint %s registered by %s", endpoint.id, merchant_id)
        return endpoint, secret

    def disable(self, merchant_id: str, endpoint_id: str, reason: str = "disabled by the merchant") -> WebhookEndpoint:
        """Stop sending to an endpoint (its pending deliveries are canceled) until it is enabled again."""
        at = epoch_us(self._clock())
        with self._db.transaction() as tx:
            endpoint = store.find_endpoint(tx, merchant_id, endpoint_id)
            if endpoint is None:
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            if store.disable_endpoint(tx, endpoint_id, reason, at):
                store.cancel_pending(tx, endpoint_id, at)
            found = store.find_endpoint(tx, merchant_id, endpoint_id)
        log.info("webhook endpoint %s disabled by %s", endpoint_id, merchant_id)
        assert found is not None
        return found

    def enable(self, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
        """Send to a disabled endpoint again, from the next event on (a suspended merchant may not:
        ``MerchantNotActive``)."""
        if self._admit is not None:
            self._admit(merchant_id)
        with self._db.transaction() as tx:
            if not store.enable_endpoint(tx, merchant_id, endpoint_id):
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            found = store.find_endpoint(tx, merchant_id, endpoint_id)
        log.info("webhook endpoint %s enabled by %s", endpoint_id, merchant_id)
        assert found is not None
        return found

    def rotate_secret(self, merchant_id: str, endpoint_id: str) -> tuple[WebhookEndpoint, str]:
        """Give an endpoint a new signing secret (``whsec_...``), returned this once; the old one signs nothing
        more, so deliveries from now on are signed with the new one."""
        secret = SECRET_PREFIX + secrets.token_hex(32)
        sealed = self._box.seal(secret.encode("ascii"))
        with self._db.transaction() as tx:
            if not store.save_secret(tx, merchant_id, endpoint_id, sealed):
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            found = store.find_endpoint(tx, merchant_id, endpoint_id)
        log.info("webhook endpoint %s secret rotated by %s", endpoint_id, merchant_id)
        assert found is not None
        return found, secret

    def get(self, merchant_id: str, endpoint_id: str) -> WebhookEndpoint:
        """One of the merchant's endpoints; ``EndpointNotFound`` for an unknown, deleted or another's."""
        with self._db.transaction(write=False) as tx:
            endpoint = store.find_endpoint(tx, merchant_id, endpoint_id)
        if endpoint is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint

    def list(
        self, merchant_id: str, *, limit: int = 20, starting_after: str | None = None
    ) -> builtins.list[WebhookEndpoint]:
        """The merchant's endpoints, newest first (``limit`` of them, after ``starting_after`` if given)."""
        with self._db.transaction(write=False) as tx:
            after = None
            if starting_after is not None:
                after = store.find_endpoint(tx, merchant_id, starting_after)
                if after is None:
                    raise EndpointNotFound(f"no webhook endpoint {starting_after}", param="starting_after")
            return store.list_endpoints(tx, merchant_id, limit=limit, after=after)

    def delete(self, merchant_id: str, endpoint_id: str) -> None:
        """Delete an endpoint: nothing more is sent to it; what was sent stays on record."""
        at = epoch_us(self._clock())
        with self._db.transaction() as tx:
            if not store.mark_deleted(tx, merchant_id, endpoint_id, at):
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            store.cancel_pending(tx, endpoint_id, at)
        log.info("webhook endpoint %s deleted by %s", endpoint_id, merchant_id)

    def secret(self, endpoint_id: str) -> str:
        """An endpoint's signing secret, opened for signing; ``EndpointNotFound`` if there is no such endpoint."""
        with self._db.transaction(write=False) as tx:
            sealed = store.sealed_secret(tx, endpoint_id)
        if sealed is None:
            raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
        return self._box.open(sealed).decode("ascii")

    def rotate_keys(self, batch: int = 100) -> int:
        """Re-wrap every endpoint secret under the active master key, in batches (resumable); how many moved."""
        moved = 0
        while True:
            with self._db.transaction() as tx:
                due = store.endpoints_not_under(tx, self._box.active_key_id, batch)
                for endpoint_id, sealed in due:
                    store.save_rewrapped(tx, endpoint_id, sealed.key_id, self._box.rewrap(sealed))
            moved += len(due)
            if len(due) < batch:
                return moved
