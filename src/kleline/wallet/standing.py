"""Where a purse stands against its limits: its balances, what was topped up this month, and the room left.

The limits (``wallet.limits``) count every top-up, whatever its source: a card top-up or a direct debit still under
way counts against the purse's ceiling as if it had arrived, and every top-up begun or done since the first of the
month (UTC) counts against the monthly limit. ``check_top_up`` refuses a top-up past either; the room shown here is
the largest top-up it would accept now, so that the wallet's page and the API's ``GET /v1/wallet`` say the same as
the refusal would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kleline.clock import epoch_us
from kleline.db.engine import Database, Read, one_row_reads
from kleline.ledger import Ledger
from kleline.money import Money
from kleline.wallet import top_up_store
from kleline.wallet.customers import PURSE_CURRENCY, purse_code
from kleline.wallet.limits import LimitsPolicy, PurseLimits, month_start
from kleline.wallet.model import Customer

__all__ = ["PurseStanding", "purse_standing", "purse_standing_read"]


@dataclass(frozen=True, slots=True)
class PurseStanding:
    """A purse's balances and its limits: ``under_way`` is top-ups begun but not ended (they count as arrived)."""

    balance: Money
    held: Money
    available: Money
    limits: PurseLimits
    topped_up_this_month: Money
    under_way: Money

    @property
    def room_below_ceiling(self) -> Money:
        """What may still be added before the purse reaches its ceiling."""
        return _at_least_zero(self.limits.max_balance - self.balance - self.under_way)

    @property
    def room_this_month(self) -> Money:
        """What may still be topped up this calendar month."""
        return _at_least_zero(self.limits.monthly_top_up - self.topped_up_this_month)

    @property
    def top_up_room(self) -> Money:
        """The largest top-up the limits accept now: the smaller of the two rooms."""
        return min(self.room_below_ceiling, self.room_this_month)


def purse_standing(
    db: Database, ledger: Ledger, policy: LimitsPolicy, customer: Customer, now: datetime
) -> PurseStanding:
    """``customer``'s purse against the limits of its verification level, as of ``now``."""
    read = purse_standing_read(ledger, policy, customer, now)
    with db.transaction(write=False) as tx:
        return tx.read(read)


def purse_standing_read(ledger: Ledger, policy: LimitsPolicy, customer: Customer, now: datetime) -> Read[PurseStanding]:
    """``purse_standing`` as a read of one row: the balance and the two sums of top-ups side by side in one
    statement (three apart cost the database three executions), which a page may join to its other figures."""
    figures = one_row_reads(
        ledger.balance_read(purse_code(customer.id)),
        top_up_store.pending_total_read(customer.id),
        top_up_store.month_total_read(customer.id, epoch_us(month_start(now))),
    )
    limits = policy.for_level(customer.kyc_level)

    def standing(rows: list[Any]) -> PurseStanding:
        balance, under_way, this_month = figures.decode(rows)
        return PurseStanding(
            balance=Money(balance.posted, PURSE_CURRENCY),
            held=Money(balance.held, PURSE_CURRENCY),
            available=Money(balance.available, PURSE_CURRENCY),
            limits=limits,
            topped_up_this_month=Money(this_month, PURSE_CURRENCY),
            under_way=Money(under_way, PURSE_CURRENCY),
        )

    return Read(figures.sql, figures.params, standing, width=4)


def _at_least_zero(amount: Money) -> Money:
    return amount if amount.minor > 0 else Money.zero(amount.currency)
