"""The cap on a merchant's webhook endpoints holds under concurrent registrations, on both backends.

Counting the live endpoints and inserting the new one must be one critical section per merchant: otherwise two
registrations that both count 15 both insert, and the merchant ends above the cap.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.db.engine import Database
from kleline.events.endpoints import MAX_ENDPOINTS
from kleline.events.model import TooManyEndpoints

from ...conftest import FakeClock
from .helpers import make_rig

CREATORS = 2 * MAX_ENDPOINTS


def live_endpoints(db: Database, merchant_id: str) -> int:
    with db.transaction(write=False) as tx:
        row = tx.fetchone(
            "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = :m AND deleted_at IS NULL", {"m": merchant_id}
        )
    return int(row[0])


@pytest.mark.parametrize("already", [0, MAX_ENDPOINTS - 1])
def test_concurrent_registrations_never_exceed_the_cap(database_url: str, clock: FakeClock, already: int) -> None:
    db = Database(database_url, pool_size=CREATORS)
    try:
        rig = make_rig(db, clock)
        for n in range(already):
            rig.endpoints.create("mer_a", f"https://shop.example/old/{n}")
        barrier = threading.Barrier(CREATORS)

        def create(index: int) -> bool:
            barrier.wait()
            try:
                rig.endpoints.create("mer_a", f"https://shop.example/{index}")
                return True
            except TooManyEndpoints:
                return False

        with ThreadPoolExecutor(CREATORS) as pool:
            outcomes = list(pool.map(create, range(CREATORS)))
        assert sum(outcomes) == MAX_ENDPOINTS - already
        assert live_endpoints(db, "mer_a") == MAX_ENDPOINTS
    finally:
        db.dispose()


def test_the_cap_of_one_merchant_does_not_hold_back_another(db: Database, clock: FakeClock) -> None:
    rig = make_rig(db, clock)
    for n in range(MAX_ENDPOINTS):
        rig.endpoints.create("mer_a", f"https://shop.example/{n}")
    with pytest.raises(TooManyEndpoints):
        rig.endpoints.create("mer_a", "https://shop.example/one-more")
    rig.endpoints.create("mer_b", "https://shop.example/hook")
    assert live_endpoints(db, "mer_b") == 1
