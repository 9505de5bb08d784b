"""A merchant's introduction fee rate (issue 15), changed as its commission rate is: by four eyes.

One operator proposes the new rate (``check_intro_fee_rate_in``, through ``kleline.proposals``), a second approves it,
and ``set_intro_fee_rate_in`` takes it in the approval's transaction, under the merchant's row lock, if the rate is
still the one the proposal replaces. Payments keep the rate they were confirmed at; the merchant's next introduced
customers' payments take the new one.
"""

from __future__ import annotations

from typing import Final

from kleline.db.engine import RawTx
from kleline.merchants import store
from kleline.merchants.errors import IntroFeeRateChanged, InvalidMerchant
from kleline.merchants.model import MAX_INTRO_FEE_BPS, MIN_INTRO_FEE_BPS, Merchant
from kleline.merchants.rate_changes import Rate, check_rate_change, take_rate_change

__all__ = ["check_intro_fee_bps", "check_intro_fee_rate_in", "set_intro_fee_rate_in"]


def check_intro_fee_bps(intro_fee_bps: int) -> int:
    """An introduction fee rate within 0 to 2000 basis points."""
    if (
        isinstance(intro_fee_bps, bool)
        or not isinstance(intro_fee_bps, int)
        or not MIN_INTRO_FEE_BPS <= intro_fee_bps <= MAX_INTRO_FEE_BPS
    ):
        raise InvalidMerchant(
            f"intro_fee_bps: the introduction fee is {MIN_INTRO_FEE_BPS} to {MAX_INTRO_FEE_BPS} basis points",
            param="intro_fee_bps",
        )
    return intro_fee_bps


_INTRO_FEE: Final = Rate(
    "intro_fee_bps", "introduction fee", check_intro_fee_bps, store.set_intro_fee, IntroFeeRateChanged
)


def check_intro_fee_rate_in(tx: RawTx, merchant_id: str, intro_fee_bps: int) -> Merchant:
    """The merchant, if its introduction fee rate may become ``intro_fee_bps`` (0 to 2000 basis points, another rate
    than its own, an active or suspended merchant); the refusal otherwise. Writes nothing: what a proposal checks."""
    return check_rate_change(tx, merchant_id, _INTRO_FEE, intro_fee_bps)


def set_intro_fee_rate_in(tx: RawTx, merchant_id: str, intro_fee_bps: int, *, previous: int) -> Merchant:
    """Take ``intro_fee_bps`` on the merchant's next introduced payments, in the caller's transaction under the
    merchant's row lock, if its rate is still ``previous`` (``IntroFeeRateChanged`` otherwise)."""
    return take_rate_change(tx, merchant_id, _INTRO_FEE, intro_fee_bps, previous=previous)
