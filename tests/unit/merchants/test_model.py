"""Merchants' plain rules: the status machine, the balance account's code, masked IBANs, a mall's public view."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.merchants.model import Mall, MallMember, balance_account, mask_iban, next_status


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("approve", "pending", "active"),
        ("approve", "suspended", "active"),
        ("approve", "refused", "active"),
        ("approve", "active", None),
        ("suspend", "active", "suspended"),
        ("suspend", "pending", None),
        ("suspend", "suspended", None),
        ("suspend", "refused", None),
        ("refuse", "pending", "refused"),
        ("refuse", "active", None),
        ("refuse", "suspended", None),
        ("refuse", "refused", None),
    ],
)
def test_approval_of_any_but_active_suspension_of_active_and_refusal_of_pending_only_are_allowed(
    action: str, status: str, expected: str | None
) -> None:
    assert next_status(action, status) == expected  # type: ignore[arg-type]


def test_a_merchants_balance_account_is_named_after_it() -> None:
    assert balance_account("mer_1") == "merchant:mer_1:balance"


def test_a_masked_iban_keeps_its_country_and_last_four_characters_and_its_length() -> None:
    masked = mask_iban("FR1420041010050500013M02606")
    assert masked == "FR*********************2606"
    assert len(masked) == len("FR1420041010050500013M02606")


def test_the_public_view_of_a_mall_shows_active_merchants_only() -> None:
    members = (
        MallMember("mer_a", "A", None, None, "active"),
        MallMember("mer_p", "P", None, None, "pending"),
        MallMember("mer_s", "S", None, None, "suspended"),
    )
    mall = Mall("mall_1", "Galerie", "galerie", members, datetime(2026, 1, 1, tzinfo=UTC))
    assert mall.merchant_ids == ("mer_a", "mer_p", "mer_s")
    assert mall.listed().merchant_ids == ("mer_a",)
    assert mall.listed().slug == "galerie"
