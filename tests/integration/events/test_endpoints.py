"""Endpoint secrets: sealed under the master keys, re-wrapped by a key rotation, still signing afterwards."""

from __future__ import annotations

import base64

import pytest

from kleline.config import DEVELOPMENT_MASTER_KEYS
from kleline.db.engine import Database
from kleline.events.model import EndpointNotFound
from kleline.wallet.vault import VaultError

from ...conftest import FakeClock
from .helpers import make_rig

K2 = "k2:" + base64.b64encode(b"k" * 32).decode()


def key_ids(db: Database) -> list[str]:
    with db.transaction(write=False) as tx:
        return [row[0] for row in tx.fetchall("SELECT key_id FROM webhook_endpoints ORDER BY created_at, id")]


def test_rotation_rewraps_every_secret_under_the_new_key(db: Database, clock: FakeClock) -> None:
    old = make_rig(db, clock)
    made = [old.endpoints.create("mer_a", f"https://shop.example/{n}") for n in range(3)]
    assert key_ids(db) == ["dev1"] * 3
    both = make_rig(db, clock, box_keys=f"{K2},{DEVELOPMENT_MASTER_KEYS}")
    assert both.endpoints.rotate_keys(batch=2) == 3  # in batches, resumable
    assert both.endpoints.rotate_keys() == 0
    assert key_ids(db) == ["k2"] * 3
    new_only = make_rig(db, clock, box_keys=K2)
    for endpoint, secret in made:
        assert new_only.endpoints.secret(endpoint.id) == secret


def test_a_secret_sealed_under_a_removed_key_cannot_be_opened(db: Database, clock: FakeClock) -> None:
    endpoint, _ = make_rig(db, clock).endpoints.create("mer_a", "https://shop.example/hook")
    with pytest.raises(VaultError):
        make_rig(db, clock, box_keys=K2).endpoints.secret(endpoint.id)


def test_a_delivery_whose_secret_cannot_be_opened_is_recorded_and_retried(db: Database, clock: FakeClock) -> None:
    make_rig(db, clock).endpoints.create("mer_a", "https://shop.example/hook")
    rig = make_rig(db, clock, box_keys=K2)  # the key that sealed it was dropped before rotation
    event_id = rig.record("mer_a", "pay_1")
    report = rig.deliverer.deliver_due()
    assert (report.attempted, report.retrying) == (1, 1)
    assert rig.transport.calls == []  # nothing goes out unsigned
    (delivery,) = rig.events.deliveries("mer_a", event_id)
    assert delivery.attempts[0].error == "the endpoint's secret cannot be opened (Kleline's keys)"


def test_another_merchants_endpoint_is_not_found(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    endpoint, _ = rig.endpoints.create("mer_a", "https://shop.example/hook")
    with pytest.raises(EndpointNotFound):
        rig.endpoints.get("mer_b", endpoint.id)
    with pytest.raises(EndpointNotFound):
        rig.endpoints.delete("mer_b", endpoint.id)
    assert rig.endpoints.get("mer_a", endpoint.id).status == "enabled"
