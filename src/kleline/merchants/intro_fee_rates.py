"""A merchant's introduction fee rate (issue 15), changed as its commission rate is: by four eyes.

One operator proposes the new rate (``check_intro_fee_rate_in``, through ``kleline.proposals``), a second approves it,
and ``set_intro_fee_rate_in`` takes it in the approval's transaction, under the merchant's row lock, if the rate is
still the one the proposal replaces. Payments keep the rate they were confirmed at; the merchant's next introduced
customers' payments take the new one.
"""

from __future__ import annotations

from dataclasses import replace

from kleline.db.engine import RawTx
from kleline.merchants import store
from kleline.merchants.errors import IntroFeeRateChanged, InvalidMerchant, StatusConflict, UnknownMerchant
from kleline.merchants.model import MAX_INTRO_FEE_BPS, MIN_INTRO_FEE_BPS, Merchant

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


def check_intro_fee_rate_in(tx: RawTx, merchant_id: str, intro_fee_bps: int) -> Merchant:
    """The merchant, if its introduction fee rate may become ``intro_fee_bps`` (0 to 2000 basis points, another rate
    than its own, an active or suspended merchant); the refusal otherwise. Writes nothing: what a proposal checks."""
    check_intro_fee_bps(intro_fee_bps)
    merchant = store.find_merchant(tx, merchant_id)
    if merchant is None:
        raise UnknownMerchant(f"no merchant {merchant_id}")
    if merchant.status not in ("active", "suspended"):
        raise StatusConflict(
            f"merchant {merchant_id} is {merchant.status}: only an active or suspended merchant's introduction fee "
            "rate changes",
            status=merchant.status,
        )
    if merchant.intro_fee_bps == intro_fee_bps:
        raise InvalidMerchant(
            f"intro_fee_bps: the merchant's introduction fee is {intro_fee_bps} basis points already",
            param="intro_fee_bps",
        )
    return merchant


def set_intro_fee_rate_in(tx: RawTx, merchant_id: str, intro_fee_bps: int, *, previous: int) -> Merchant:
    """Take ``intro_fee_bps`` on the merchant's next introduced payments, in the caller's transaction under the
    merchant's row lock, if its rate is still ``previous`` (``IntroFeeRateChanged`` otherwise)."""
    store.find_merchant(tx, merchant_id, for_update=True)
    merchant = check_intro_fee_rate_in(tx, merchant_id, intro_fee_bps)
    if merchant.intro_fee_bps != previous:
        raise IntroFeeRateChanged(
            f"merchant {merchant_id}'s introduction fee was {previous} basis points when the change was proposed and "
            f"is {merchant.intro_fee_bps} now",
            param="intro_fee_bps",
        )
    store.set_intro_fee(tx, merchant_id, intro_fee_bps)
    return replace(merchant, intro_fee_bps=intro_fee_bps)
