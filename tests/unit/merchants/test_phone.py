"""A contact's telephone number: the strict rule of ``kleline.merchants.phone``, kept in E.164 form."""

from __future__ import annotations

import pytest

from kleline.merchants.errors import InvalidMerchant
from kleline.merchants.phone import check_phone, format_phone


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("+33 1 23 45 67 89", "+33123456789"),
        ("+33 (0)1 23 45 67 89", "+33123456789"),
        ("01.23.45.67.89", "+33123456789"),
        ("06-12-34-56-78", "+33612345678"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("+49 (30) 1234567", "+49301234567"),
        ("+1 212 555 0100", "+12125550100"),
        ("+352 12 34 56", "+352123456"),
    ],
)
def test_a_number_is_kept_in_international_form(typed: str, kept: str) -> None:
    assert check_phone(typed) == kept


def test_a_blank_number_is_none() -> None:
    assert check_phone(None) is None
    assert check_phone("  ") is None


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("123 45 67 89", "with its country code"),
        ("+33 0 1 23 45 67 89", r"9 digits after \+33"),
        ("+33 1 23 45 67", r"9 digits after \+33"),
        ("+33 1 23 45 67 89 0", r"9 digits after \+33"),
        ("+0 123 456 789", "8 to 15 digits"),
        ("+49 123", "8 to 15 digits"),
        ("+49 1234 5678 9012 3456", "8 to 15 digits"),
        ("+33 1 23 45 67 89 ext 12", "only digits"),
        ("+33 1/23/45/67/89", "only digits"),
        ("+٣٣١٢٣٤٥٦٧٨٩", "only digits"),
        ("call me", "with its country code"),
    ],
)
def test_another_number_is_refused_and_says_why(typed: str, reason: str) -> None:
    with pytest.raises(InvalidMerchant, match=reason) as refused:
        check_phone(typed)
    assert (refused.value.code, refused.value.param) == ("validation_error", "contact_phone")


def test_a_french_number_reads_in_pairs_and_another_as_kept() -> None:
    assert format_phone("+33123456789") == "+33 1 23 45 67 89"
    assert format_phone("+49301234567") == "+49301234567"
