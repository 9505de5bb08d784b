"""Audiences: members are exactly the customers whose live consents cover the merchant (purchase filters only over
those who let their purchases count), a withdrawal excludes at once, figures are noisy and never below 50, and the
monthly privacy budget refuses what it cannot pay, under concurrency too."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from kleline.bootstrap import Kleline
from kleline.merchants import store as merchant_store
from kleline.privacy import audience_store
from kleline.privacy.audience_model import Audience, InvalidAudience, PrivacyBudgetExhausted, month_of
from kleline.privacy.audiences import offer_scopes

from ...conftest import FakeClock
from ..helpers import count_rows
from .audience_world import buy, customer, kleline_world, mall, shop


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with kleline_world(database_url, clock, audience_monthly_budget_milli=1500) as system:
        yield system


def exact(kleline: Kleline, merchant_id: str, audience: Audience) -> int:
    """The exact member count, as the estimate reads it before adding noise."""
    with kleline.db.transaction(write=False) as tx:
        merchant = merchant_store.find_merchant(tx, merchant_id)
        assert merchant is not None
        return audience_store.count_members(tx, offer_scopes(tx, merchant), audience, kleline.clock())


def test_members_are_the_customers_whose_live_offers_consent_covers_the_merchant(kleline: Kleline) -> None:
    gallery, other_gallery = mall(kleline), mall(kleline, "rive-droite")
    books = shop(kleline, "Librairie", category="books", mall_ids=(gallery,))
    by_mall, by_category, both, toys_only, elsewhere, silent = (customer(kleline) for _ in range(6))
    kleline.consents.grant(by_mall, "offers", f"mall:{gallery}", channel="wallet")
    kleline.consents.grant(by_category, "offers", "category:books", channel="wallet")
    kleline.consents.grant(both, "offers", f"mall:{gallery}", channel="wallet")
    kleline.consents.grant(both, "offers", "category:books", channel="wallet")
    kleline.consents.grant(toys_only, "offers", "category:toys", channel="wallet")
    kleline.consents.grant(elsewhere, "offers", f"mall:{other_gallery}", channel="wallet")
    kleline.consents.grant(silent, "audience_statistics", channel="wallet")
    assert exact(kleline, books, Audience()) == 3

    kleline.consents.withdraw(both, "offers", f"mall:{gallery}", channel="wallet")
    assert exact(kleline, books, Audience()) == 3  # still covered by its category consent
    kleline.consents.withdraw(by_mall, "offers", f"mall:{gallery}", channel="wallet")
    assert exact(kleline, books, Audience()) == 2
    nowhere = shop(kleline, "Sans rayon")
    assert exact(kleline, nowhere, Audience()) == 0


def test_purchase_filters_count_only_customers_who_let_their_purchases_count(
    kleline: Kleline, clock: FakeClock
) -> None:
    gallery = mall(kleline)
    books = shop(kleline, "Librairie", category="books", mall_ids=(gallery,))
    music = shop(kleline, "Disquaire", category="music")
    big, small, private, no_offers = (customer(kleline, purse=150_000) for _ in range(4))
    for person in (big, small, private):
        kleline.consents.grant(person, "offers", "category:books", channel="wallet")
    for person in (big, small, no_offers):
        kleline.consents.grant(person, "audience_statistics", channel="wallet")
    buy(kleline, books, big, 30_000)
    buy(kleline, music, big, 1_000)
    buy(kleline, books, small, 2_000)
    buy(kleline, books, private, 90_000)  # no statistics consent: its purchases never count
    buy(kleline, books, no_offers, 90_000)  # no offers consent: never a member

    assert exact(kleline, books, Audience()) == 3
    assert exact(kleline, books, Audience(category="books")) == 2
    assert exact(kleline, books, Audience(category="music")) == 1
    assert exact(kleline, books, Audience(mall_id=gallery)) == 2
    assert exact(kleline, books, Audience(spend="under_50")) == 1
    assert exact(kleline, books, Audience(spend="200_to_1000")) == 1
    assert exact(kleline, books, Audience(spend="over_1000")) == 0
    assert exact(kleline, books, Audience(category="books", spend="200_to_1000", recency="30_days")) == 1

    clock.advance(days=40)
    buy(kleline, books, small, 4_000)  # 20 + 40 EUR in the year: now in the 50-200 band
    assert exact(kleline, books, Audience(recency="30_days")) == 1
    assert exact(kleline, books, Audience(recency="90_days")) == 2
    assert exact(kleline, books, Audience(spend="50_to_200")) == 1
    clock.advance(days=340)  # the first purchases leave the 12 months looked at
    assert exact(kleline, books, Audience(recency="365_days")) == 1
    assert exact(kleline, books, Audience(spend="under_50")) == 1  # only its 40 EUR count now
    assert exact(kleline, books, Audience(spend="50_to_200")) == 0

    kleline.consents.withdraw(small, "audience_statistics", channel="wallet")
    assert exact(kleline, books, Audience(recency="365_days")) == 0


def test_an_estimate_below_the_minimum_says_fewer_than_50_and_spends_the_budget(kleline: Kleline) -> None:
    books = shop(kleline, "Librairie", category="books")
    for _ in range(3):
        kleline.consents.grant(customer(kleline), "offers", "category:books", channel="wallet")
    first = kleline.audiences.estimate(books, Audience())
    assert first.size is None and first.epsilon_milli == 500
    assert (first.budget.spent_milli, first.budget.remaining_milli, first.budget.releases_left) == (500, 1000, 2)
    kleline.audiences.estimate(books, Audience(spend="over_1000"))
    kleline.audiences.estimate(books, Audience())
    with pytest.raises(PrivacyBudgetExhausted, match="privacy budget of 2026-01 is spent"):
        kleline.audiences.estimate(books, Audience())
    assert kleline.audiences.budget(books).remaining_milli == 0
    assert count_rows(kleline.db, "audience_releases") == 3
    with kleline.db.transaction(write=False) as tx:
        released = tx.fetchall("SELECT kind, released, epsilon_milli FROM audience_releases")
    assert {tuple(row) for row in released} == {("estimate", None, 500)}


def test_the_budget_is_monthly(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    for _ in range(3):
        kleline.audiences.estimate(books, Audience())
    with pytest.raises(PrivacyBudgetExhausted):
        kleline.audiences.estimate(books, Audience())
    clock.advance(days=17)
    assert month_of(clock()) == "2026-02"
    assert kleline.audiences.estimate(books, Audience()).budget.spent_milli == 500


def test_a_large_audience_is_released_noisily_near_its_size(kleline: Kleline) -> None:
    books = shop(kleline, "Librairie", category="books")
    with kleline.db.transaction() as tx:  # 80 consenting customers, set-based (signing up 80 takes long)
        tx.execute(
            "INSERT INTO customers (id, email_index, password_hash, created_at) "
            "SELECT 'cus_bulk' || n, 'bulk' || n, 'x', 0 FROM ("
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 80) SELECT n FROM s) AS s"
        )
        tx.execute(
            "INSERT INTO consent_state (customer_id, purpose, scope, granted, text_version, event_id, changed_at) "
            "SELECT id, 'offers', 'category:books', TRUE, 'offers-v1/en', 'cns_' || id, 0 FROM customers"
        )
    assert exact(kleline, books, Audience()) == 80
    estimate = kleline.audiences.estimate(books, Audience())
    assert estimate.size is not None and abs(estimate.size - 80) <= 25  # scale 2: off by 25 once in 10^5


def test_an_unknown_mall_or_band_is_refused_before_anything_is_spent(kleline: Kleline) -> None:
    books = shop(kleline, "Librairie", category="books")
    with pytest.raises(InvalidAudience, match="no mall mall_nowhere"):
        kleline.audiences.estimate(books, Audience(mall_id="mall_nowhere"))
    with pytest.raises(InvalidAudience, match="spend: one of"):
        Audience(spend="rich")
    assert kleline.audiences.budget(books).spent_milli == 0


def test_concurrent_estimates_never_overspend_the_budget(kleline: Kleline, database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrency of the conditional UPDATE: PostgreSQL")
    books = shop(kleline, "Librairie", category="books")
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def estimate() -> None:
        start.wait()
        try:
            kleline.audiences.estimate(books, Audience())
            outcomes.append("released")
        except PrivacyBudgetExhausted:
            outcomes.append("refused")

    threads = [threading.Thread(target=estimate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["released"] * 3
    assert kleline.audiences.budget(books).spent_milli == 1500
    assert count_rows(kleline.db, "audience_releases") == 3
