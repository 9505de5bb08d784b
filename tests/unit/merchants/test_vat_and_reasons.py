"""A merchant's VAT number (python-stdnum), checked against its SIRET when French, and an operator's reasons."""

from __future__ import annotations

import pytest

from kleline.merchants.checks import check_reason, check_vat_number
from kleline.merchants.errors import InvalidMerchant, InvalidVatNumber

SIRET = "73282932000074"  # SIREN 732829320, whose VAT number is FR44732829320
OTHER_COMPANYS_VAT = "FR40303265045"  # SIREN 303265045


def test_a_vat_number_is_kept_compact_in_upper_case_with_its_country_code() -> None:
    assert check_vat_number("fr 44 732.829-320") == "FR44732829320"
    assert check_vat_number("DE 136 695 976") == "DE136695976"
    assert check_vat_number("  ") is None
    assert check_vat_number(None) is None


@pytest.mark.parametrize(
    ("vat_number", "reason"),
    [
        ("44732829320", "start with the country code of an EU member state"),
        ("US44732829320", "start with the country code of an EU member state"),
        ("FR45732829320", "checksum"),
        ("FR4473282932", "length"),
        ("DE136695977", "checksum"),
    ],
)
def test_a_wrong_vat_number_is_refused_and_says_why(vat_number: str, reason: str) -> None:
    with pytest.raises(InvalidVatNumber, match=reason) as refused:
        check_vat_number(vat_number)
    assert (refused.value.code, refused.value.param, refused.value.status) == ("invalid_vat_number", "vat_number", 400)


def test_a_french_vat_number_must_be_the_sirets_companys() -> None:
    assert check_vat_number("FR44732829320", SIRET) == "FR44732829320"
    assert check_vat_number("FR 44 732 829 320", "732 829 320 00074") == "FR44732829320"
    with pytest.raises(InvalidVatNumber, match="SIREN 303265045, but the SIRET is of SIREN 732829320") as refused:
        check_vat_number(OTHER_COMPANYS_VAT, SIRET)
    assert "FR44732829320" in refused.value.detail  # the number that would fit


def test_a_vat_number_is_not_compared_with_a_wrong_siret_nor_a_foreign_one_with_any() -> None:
    assert check_vat_number(OTHER_COMPANYS_VAT, "73282932000075") == OTHER_COMPANYS_VAT  # the SIRET's own error
    assert check_vat_number("DE136695976", SIRET) == "DE136695976"  # a German company's French establishment


def test_a_reason_is_one_trimmed_line_of_at_most_500_characters() -> None:
    assert check_reason("  The SIRET\nis closed  ", required=True) == "The SIRET is closed"
    assert check_reason(" ", required=False) is None
    assert check_reason("x" * 500, required=True) == "x" * 500
    for reason in (None, "", "   "):
        with pytest.raises(InvalidMerchant, match="say why") as refused:
            check_reason(reason, required=True)
        assert refused.value.param == "reason"
    with pytest.raises(InvalidMerchant, match="at most 500"):
        check_reason("x" * 501, required=True)
    with pytest.raises(InvalidMerchant, match="control characters"):
        check_reason("bad\u0007bell", required=False)
