"""What the events tests share: endpoints and deliverer over a test database, a scripted transport, a resolver."""

from __future__ import annotations

import ipaddress
import json
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kleline.bootstrap import WebhookSecretBox
from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.db.engine import Database
from kleline.events.delivery import WebhookDeliverer
from kleline.events.endpoints import WebhookEndpoints
from kleline.events.model import RetryPolicy
from kleline.events.outbox import record
from kleline.events.service import Events
from kleline.events.ssrf import IPAddress, Target
from kleline.events.transport import PostResult
from kleline.wallet.vault import MasterKeys

from ...conftest import FakeClock

PUBLIC = "93.184.216.34"


@dataclass
class Call:
    """One POST the transport was asked to make."""

    target: Target
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class ScriptedTransport:
    """Answers each POST with ``answer(call)`` (200 by default); records every call."""

    answer: Callable[[Call], int | str] = lambda call: 200
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def post(self, target: Target, body: bytes, headers: Mapping[str, str], timeout: float) -> PostResult:
        call = Call(target, body, dict(headers))
        with self.lock:
            self.calls.append(call)
        result = self.answer(call)
        return PostResult(result, None) if isinstance(result, int) else PostResult(None, result)

    def sent(self) -> list[str]:
        """Event ids in the order they were POSTed."""
        return [call.event["id"] for call in self.calls]


class SwitchableResolver:
    """Resolves every host to ``address`` (public by default), which a test may change (DNS rebinding)."""

    def __init__(self, address: str = PUBLIC) -> None:
        self.address = address

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(self.address)]


@dataclass
class Rig:
    """Events, endpoints and a deliverer over one database, with a scripted transport and a hand-moved clock."""

    db: Database
    clock: FakeClock
    transport: ScriptedTransport
    resolver: SwitchableResolver
    endpoints: WebhookEndpoints
    events: Events
    deliverer: WebhookDeliverer

    def record(self, merchant_id: str, object_id: str, type: str = "payment.succeeded", **data: object) -> str:
        """Record an event in a transaction of its own (as a payment would, with its change)."""
        with self.db.transaction() as tx:
            return record(
                tx,
                type=type,
                merchant_id=merchant_id,
                object_id=object_id,
                data={"id": object_id, **data},
                created_at=self.clock(),
            )


def make_rig(
    db: Database, clock: FakeClock, *, allow_loopback: bool = False, box_keys: str = DEVELOPMENT_MASTER_KEYS
) -> Rig:
    """A rig with a seeded retry policy (base 30 s, cap 1 h, horizon 3 days)."""
    transport = ScriptedTransport()
    resolver = SwitchableResolver()
    box = WebhookSecretBox(MasterKeys.parse(box_keys))
    endpoints = WebhookEndpoints(db, box, clock=clock, allow_loopback=allow_loopback, resolver=resolver)
    deliverer = WebhookDeliverer(
        db, endpoints, clock=clock, policy=RetryPolicy(rng=random.Random(42)), transport=transport, timeout=2.0
    )
    return Rig(db, clock, transport, resolver, endpoints, Events(db, clock=clock), deliverer)
