"""Audience estimates: how many customers a merchant could reach, under differential privacy and a monthly budget.

Who is in a merchant's audience: customers with a live ``offers`` consent over a mall the merchant belongs to
(``mall:<id>``) or over its category (``category:<name>``), and, when the filter looks at purchases (mall or
category of past purchases, spend band, recency; see ``audience_model``), only those who also consent to
``audience_statistics``. Nobody else is ever counted, listed or reached.

What the merchant is told: the exact count (one SQL ``COUNT``, ``audience_store.count_members``) plus discrete Laplace
noise from OpenDP, sensitivity 1, epsilon per release from the settings (``noise``: mechanism and epsilon), and
"fewer than 50" when the *noisy* value is below 50. Each release spends its epsilon from the merchant's budget of the
month (UTC), by a conditional UPDATE in the same transaction as the release's record, before the count is read; a
merchant whose budget is spent is refused (``PrivacyBudgetExhausted``) with nothing counted.
"""

from __future__ import annotations

from kleline.clock import Clock
from kleline.db.engine import Database, RawTx
from kleline.ids import new_id
from kleline.merchants import mall_store
from kleline.merchants import store as merchant_store
from kleline.merchants.errors import MerchantNotActive, UnknownMerchant
from kleline.merchants.model import CATEGORIES, Merchant
from kleline.privacy import audience_store, noise
from kleline.privacy.audience_model import (
    Audience,
    Budget,
    Estimate,
    InvalidAudience,
    PrivacyBudgetExhausted,
    PrivacyPolicy,
    month_of,
)

__all__ = ["Audiences", "offer_scopes"]


class Audiences:
    """Estimate a merchant's audiences and read what is left of its privacy budget."""

    def __init__(self, db: Database, *, clock: Clock, policy: PrivacyPolicy) -> None:
        self._db = db
        self._clock = clock
        self.policy = policy

    def estimate(self, merchant_id: str, audience: Audience) -> Estimate:
        """A noisy size of the audience (None: "fewer than 50"), paid from the merchant's budget of the month."""
        with self._db.transaction() as tx:
            return self.estimate_in(tx, merchant_id, audience)

    def estimate_in(self, tx: RawTx, merchant_id: str, audience: Audience) -> Estimate:
        """``estimate`` inside the caller's transaction."""
        merchant = sending_merchant(tx, merchant_id, "estimate audiences")
        check_audience(tx, audience)
        now = self._clock()
        budget = self.spend_in(tx, merchant.id, month_of(now))
        exact = audience_store.count_members(tx, offer_scopes(tx, merchant), audience, now)
        size = noise.release(exact, self.policy.epsilon_milli)
        release_id = new_id("arl")
        audience_store.insert_release(
            tx, release_id, merchant.id, budget.month, "estimate", audience, self.policy.epsilon_milli, size, now
        )
        return Estimate(release_id, audience, size, self.policy.epsilon_milli, budget, now)

    def budget(self, merchant_id: str) -> Budget:
        """The merchant's privacy budget of the current month."""
        with self._db.transaction(write=False) as tx:
            return audience_store.budget_of(
                tx, merchant_id, month_of(self._clock()), self.policy.monthly_budget_milli, self.policy.epsilon_milli
            )

    def spend_in(self, tx: RawTx, merchant_id: str, month: str) -> Budget:
        """Take one release's epsilon from the merchant's budget of ``month``; ``PrivacyBudgetExhausted`` if spent."""
        policy = self.policy
        spent = audience_store.spend(tx, merchant_id, month, policy.epsilon_milli, policy.monthly_budget_milli)
        if spent is None:
            raise PrivacyBudgetExhausted(
                f"the privacy budget of {month} is spent: no more audience figures until the first of next month (UTC)"
            )
        return Budget(month, spent, policy.monthly_budget_milli, policy.epsilon_milli)


def sending_merchant(tx: RawTx, merchant_id: str, doing: str) -> Merchant:
    """The merchant, if it is active (only an approved shop reaches customers)."""
    merchant = merchant_store.find_merchant(tx, merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"no merchant {merchant_id}")
    if merchant.status != "active":
        raise MerchantNotActive(
            f"merchant {merchant.id} is {merchant.status}: it cannot {doing}", merchant_status=merchant.status
        )
    return merchant


def check_audience(tx: RawTx, audience: Audience) -> None:
    """Refuse a filter naming a mall or category that does not exist (it would silently count nobody)."""
    if audience.mall_id is not None and mall_store.find_mall(tx, audience.mall_id) is None:
        raise InvalidAudience(f"mall_id: no mall {audience.mall_id}", param="mall_id")
    if audience.category is not None and audience.category not in CATEGORIES:
        raise InvalidAudience(f"category: one of {', '.join(CATEGORIES)}", param="category")


def offer_scopes(tx: RawTx, merchant: Merchant) -> list[str]:
    """The ``offers`` consent scopes that cover the merchant: its malls and its category."""
    scopes = [f"mall:{mall.id}" for mall in mall_store.malls_of(tx, merchant.id)]
    if merchant.category:
        scopes.append(f"category:{merchant.category}")
    return scopes
