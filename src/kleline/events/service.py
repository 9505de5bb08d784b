"""A merchant's events: list and read them, see their deliveries, and ask for one to be sent again."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.events import store
from kleline.events.model import Delivery, EndpointNotFound, Event, EventNotFound
from kleline.ids import new_id

__all__ = ["TEST_EVENT", "Events"]

TEST_EVENT = "webhook_endpoint.test"
"""The type of the event a merchant sends to one of its endpoints to try it."""

log = logging.getLogger(__name__)


class Events:
    """Read a merchant's events and their deliveries; redeliver one."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def get(self, merchant_id: str, event_id: str) -> Event:
        """One of the merchant's events; ``EventNotFound`` for an unknown or another merchant's."""
        with self._db.transaction(write=False) as tx:
            found = store.find_event(tx, merchant_id, event_id)
        if found is None:
            raise EventNotFound(f"no event {event_id}")
        return found[1]

    def list(
        self, merchant_id: str, *, limit: int = 20, starting_after: str | None = None, type: str | None = None
    ) -> builtins.list[Event]:
        """The merchant's events, newest first: ``limit`` of them, after ``starting_after``, of ``type`` if given."""
        with self._db.transaction(write=False) as tx:
            before = None
            if starting_after is not None:
                found = store.find_event(tx, merchant_id, starting_after)
                if found is None:
                    raise EventNotFound(f"no event {starting_after}", param="starting_after")
                before = found[0]
            return store.list_events(tx, merchant_id, limit=limit, before_seq=before, type=type)

    def of_objects(self, merchant_id: str, object_ids: Sequence[str], *, limit: int = 100) -> builtins.list[Event]:
        """The merchant's events about any of ``object_ids`` (a payment and its refunds: its timeline), oldest
        first; another merchant's objects have none."""
        with self._db.transaction(write=False) as tx:
            return store.object_events(tx, merchant_id, object_ids, limit=limit)

    def deliveries(self, merchant_id: str, event_id: str) -> builtins.list[Delivery]:
        """Every delivery of one of the merchant's events, oldest first, each with its attempts."""
        with self._db.transaction(write=False) as tx:
            if store.find_event(tx, merchant_id, event_id) is None:
                raise EventNotFound(f"no event {event_id}")
            return store.list_deliveries(tx, event_id)

    def endpoint_deliveries(
        self, merchant_id: str, endpoint_id: str, *, limit: int = 20
    ) -> builtins.list[tuple[Delivery, str]]:
        """One of the merchant's endpoints' newest deliveries, each with its attempts and its event's type."""
        with self._db.transaction(write=False) as tx:
            if store.find_endpoint(tx, merchant_id, endpoint_id) is None:
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            return store.endpoint_deliveries(tx, endpoint_id, limit)

    def event_of_delivery(self, merchant_id: str, delivery_id: str) -> str:
        """The event one of the merchant's deliveries carries; ``EventNotFound`` for an unknown or another's."""
        with self._db.transaction(write=False) as tx:
            event_id = store.event_of_delivery(tx, merchant_id, delivery_id)
        if event_id is None:
            raise EventNotFound(f"no delivery {delivery_id}")
        return event_id

    def send_test(self, merchant_id: str, endpoint_id: str) -> Event:
        """Owe one of the merchant's endpoints (only it) a test event (``webhook_endpoint.test``), sent as soon as
        the worker passes, signed as any other; the event."""
        now = self._clock()
        with self._db.transaction() as tx:
            endpoint = store.find_endpoint(tx, merchant_id, endpoint_id)
            if endpoint is None:
                raise EndpointNotFound(f"no webhook endpoint {endpoint_id}")
            data = {"object": "webhook_endpoint", "id": endpoint.id, "url": endpoint.url, "test": True}
            event = Event(new_id("evt"), merchant_id, TEST_EVENT, endpoint.id, data, now)
            store.insert_test_event(tx, event, endpoint.id)
        log.info("test event %s owed to endpoint %s by %s", event.id, endpoint_id, merchant_id)
        return event

    def redeliver(self, merchant_id: str, event_id: str) -> builtins.list[Delivery]:
        """Send the event again, as soon as the worker passes, to every enabled endpoint, whatever happened before.

        Each such delivery gets a fresh retry horizon from now. Returns the event's deliveries.
        """
        at = epoch_us(self._clock())
        try:
            scheduled, deliveries = self._reschedule(merchant_id, event_id, at)
        except INTEGRITY_ERRORS:
            # A concurrent redelivery inserted the same pending delivery first: once more, it is brought forward.
            scheduled, deliveries = self._reschedule(merchant_id, event_id, at)
        log.info("event %s redelivery scheduled to %d endpoint(s) by %s", event_id, len(scheduled), merchant_id)
        return deliveries

    def _reschedule(
        self, merchant_id: str, event_id: str, at: int
    ) -> tuple[builtins.list[str], builtins.list[Delivery]]:
        with self._db.transaction() as tx:
            found = store.find_event(tx, merchant_id, event_id)
            if found is None:
                raise EventNotFound(f"no event {event_id}")
            seq, event = found
            scheduled = store.reschedule(tx, event, seq, at)
            return scheduled, store.list_deliveries(tx, event_id)
