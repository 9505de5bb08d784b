"""What a four-eyes change of one of a merchant's rates checks and takes, whichever rate it is.

The commission rate (``MerchantService``) and the introduction fee rate (issue 15, ``intro_fee_rates``) change the same
way: a proposal checks the new rate against the merchant as it stands, and the approval takes it under the merchant's
row lock if the rate is still the one the proposal replaces. One code for both, so that the two rules cannot drift
apart; a ``Rate`` says what differs (the field, the words of the refusals, the range, the write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kleline.db.engine import RawTx
from kleline.errors import KlelineError
from kleline.merchants import store
from kleline.merchants.errors import InvalidMerchant, StatusConflict, UnknownMerchant
from kleline.merchants.model import Merchant

__all__ = ["Rate", "check_rate_change", "take_rate_change"]


@dataclass(frozen=True)
class Rate:
    """One of a merchant's rates: its field and parameter (``fee_bps``), its name in refusals (``commission``), the
    check of its range, its write, the refusal of an approval that finds another rate than was proposed from, and
    what the refusal of a merchant in another status adds."""

    param: str
    noun: str
    check: Callable[[int], int]
    write: Callable[[RawTx, str, int], bool]
    changed: type[KlelineError]
    status_note: str = ""

    def of(self, merchant: Merchant) -> int:
        """The merchant's rate, in basis points."""
        return int(getattr(merchant, self.param))


def check_rate_change(tx: RawTx, merchant_id: str, rate: Rate, bps: int) -> Merchant:
    """The merchant, if its ``rate`` may become ``bps`` (within its range, another rate than its own, an active or
    suspended merchant); the refusal otherwise. Writes nothing: what a proposal checks."""
    rate.check(bps)
    merchant = store.find_merchant(tx, merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"no merchant {merchant_id}")
    if merchant.status not in ("active", "suspended"):
        raise StatusConflict(
            f"merchant {merchant_id} is {merchant.status}: only an active or suspended merchant's {rate.noun} rate "
            f"changes{rate.status_note}",
            status=merchant.status,
        )
    if rate.of(merchant) == bps:
        raise InvalidMerchant(
            f"{rate.param}: the merchant's {rate.noun} is {bps} basis points already", param=rate.param
        )
    return merchant


def take_rate_change(tx: RawTx, merchant_id: str, rate: Rate, bps: int, *, previous: int) -> Merchant:
    """Take ``bps`` as the merchant's ``rate``, in the caller's transaction under the merchant's row lock, if the
    rate is still ``previous`` (``rate.changed`` otherwise: the change was decided from that rate)."""
    store.find_merchant(tx, merchant_id, for_update=True)
    merchant = check_rate_change(tx, merchant_id, rate, bps)
    if rate.of(merchant) != previous:
        raise rate.changed(
            f"merchant {merchant_id}'s {rate.noun} was {previous} basis points when the change was proposed and is "
            f"{rate.of(merchant)} now",
            param=rate.param,
        )
    rate.write(tx, merchant_id, bps)
    taken: dict[str, Any] = {rate.param: bps}
    return replace(merchant, **taken)
