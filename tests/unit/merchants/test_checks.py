"""A merchant's registration checks: bank details with schwifty, SIRET with python-stdnum, and the small fields."""

from __future__ import annotations

import pytest

from kleline.merchants.checks import (
    bank_details,
    check_category,
    check_email,
    check_fee_bps,
    check_name,
    check_siret,
    check_slug,
    check_website,
)
from kleline.merchants.errors import InvalidBic, InvalidIban, InvalidMerchant, InvalidSiret

LA_BANQUE_POSTALE = "FR1420041010050500013M02606"
CREDIT_AGRICOLE = "FR7630006000011234567890189"
COMMERZBANK = "DE89370400440532013000"
# The same account as LA_BANQUE_POSTALE with its RIB key off by one and the IBAN check digits recomputed: only the
# French national key can tell.
WRONG_RIB_KEY = "FR8420041010050500013M02607"


def test_a_french_iban_gets_the_bic_of_its_bank() -> None:
    assert bank_details(LA_BANQUE_POSTALE, None).bic == "PSSTFRPP"  # La Banque Postale
    assert bank_details(CREDIT_AGRICOLE, None).bic == "AGRIFRPPXXX"
    assert bank_details(COMMERZBANK, "").bic == "COBADEFFXXX"


def test_an_iban_is_kept_in_compact_upper_case_form() -> None:
    details = bank_details("fr14 2004 1010 0505 0001 3m02 606", " psstfrpppar ")
    assert details.iban == LA_BANQUE_POSTALE
    assert details.bic == "PSSTFRPPPAR"


def test_a_given_bic_of_the_ibans_country_is_kept_as_given() -> None:
    assert bank_details(LA_BANQUE_POSTALE, "PSSTFRPPXXX").bic == "PSSTFRPPXXX"


def test_a_bic_from_a_territory_using_french_ibans_is_accepted() -> None:
    unknown_bank = "FR7612345000000000000000111"  # a French IBAN whose bank code the registry does not know
    assert bank_details(unknown_bank, "BDAFGPGPXXX").bic == "BDAFGPGPXXX"  # a bank in Guadeloupe


def test_a_bic_of_another_bank_than_the_ibans_is_refused() -> None:
    with pytest.raises(InvalidBic) as refused:
        bank_details(LA_BANQUE_POSTALE, "BNPAFRPP")
    assert refused.value.param == "bic"
    assert str(refused.value) == (
        "bic: BNPAFRPP is not a BIC of LA BANQUE POSTALE, the IBAN's bank (whose BIC is PSSTFRPP)"
    )
    assert bank_details(LA_BANQUE_POSTALE, "PSSTFRPPBOR").bic == "PSSTFRPPBOR"  # a branch of the same bank


@pytest.mark.parametrize(
    "iban",
    [
        "FR1420041010050500013M02607",  # a digit changed: the ISO 7064 check digits catch it
        WRONG_RIB_KEY,  # the IBAN's check digits are right, the RIB key is not
        "FR14200410100505",  # too short for France
        "XX1420041010050500013M02606",  # no such country
        "FR14 2004 1010 0505 0001 3M02 60!",
        "not an iban",
        "BR1800360305000010009795493C1",  # a valid Brazilian IBAN, outside the SEPA zone
    ],
)
def test_a_wrong_iban_is_refused(iban: str) -> None:
    with pytest.raises(InvalidIban) as caught:
        bank_details(iban, None)
    assert (caught.value.code, caught.value.param) == ("invalid_iban", "iban")


def test_an_iban_outside_sepa_says_why() -> None:
    with pytest.raises(InvalidIban, match="outside the SEPA zone"):
        bank_details("BR1800360305000010009795493C1", None)


@pytest.mark.parametrize("bic", ["PSSTFRP", "PSSTFRPP1", "PSST12PP", "PSSTXXPP", "PSST-FRPP"])
def test_a_malformed_bic_is_refused(bic: str) -> None:
    with pytest.raises(InvalidBic) as caught:
        bank_details(LA_BANQUE_POSTALE, bic)
    assert (caught.value.code, caught.value.param) == ("invalid_bic", "bic")


def test_a_bic_from_another_country_than_the_iban_is_refused() -> None:
    with pytest.raises(InvalidBic, match="COBADEFFXXX is a bank in DE, but the IBAN is from FR") as caught:
        bank_details(LA_BANQUE_POSTALE, "COBADEFFXXX")
    assert caught.value.param == "bic"


def test_a_bic_is_required_when_the_ibans_bank_is_not_in_the_registry() -> None:
    with pytest.raises(InvalidBic, match="give its BIC") as caught:
        bank_details("GB82WEST12345698765432", None)
    assert caught.value.param == "bic"
    assert bank_details("GB82WEST12345698765432", "NWBKGB2L").bic == "NWBKGB2L"


def test_a_siret_passes_the_luhn_check_and_is_kept_as_its_14_digits() -> None:
    assert check_siret("73282932000074") == "73282932000074"
    assert check_siret("732 829 320 00074") == "73282932000074"
    assert check_siret("35600000000048") == "35600000000048"  # La Poste: its own rule, which stdnum knows
    assert check_siret(None) is None
    assert check_siret("  ") is None


@pytest.mark.parametrize(
    ("siret", "reason"),
    [("73282932000075", "checksum"), ("7328293200007", "length"), ("7328293200007A", "format")],
)
def test_a_wrong_siret_is_refused_and_says_why(siret: str, reason: str) -> None:
    with pytest.raises(InvalidSiret, match=reason) as caught:
        check_siret(siret)
    assert caught.value.param == "siret"
    assert caught.value.code == "invalid_siret"


def test_an_email_is_normalised_and_a_wrong_one_refused() -> None:
    assert check_email("Contact@Librairie-du-Bac.fr") == "contact@librairie-du-bac.fr"
    with pytest.raises(InvalidMerchant) as caught:
        check_email("not an email")
    assert (caught.value.param, caught.value.code) == ("email", "validation_error")


@pytest.mark.parametrize("website", ["https://librairie-du-bac.fr", "http://shop.example/path?q=1"])
def test_a_website_is_an_http_or_https_address(website: str) -> None:
    assert check_website(f"  {website} ") == website


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("shop.example", "https://shop.example"),
        (" www.Librairie-du-Bac.fr ", "https://www.Librairie-du-Bac.fr"),
        ("shop.example:8443/fr?q=1", "https://shop.example:8443/fr?q=1"),
    ],
)
def test_a_bare_host_name_is_taken_as_its_https_address(typed: str, kept: str) -> None:
    assert check_website(typed) == kept


@pytest.mark.parametrize(
    "website",
    [
        "ftp://shop.example",
        "javascript:alert(1)",
        "JavaScript:alert('shop.example')",
        "data:text/html,shop.example",
        "localhost",
        "shop",
        "-shop.example",
        "shop..example",
        "https://",
        "https://shop .example",
        "shop .example",
    ],
)
def test_another_kind_of_website_address_is_refused(website: str) -> None:
    with pytest.raises(InvalidMerchant) as caught:
        check_website(website)
    assert caught.value.param == "website"


def test_a_category_is_a_short_lower_case_code() -> None:
    assert check_category(" Books ") == "books"
    assert check_category("5942") == "5942"
    assert check_category(None) is None
    for bad in ("books & music", "-books", "x" * 41):
        with pytest.raises(InvalidMerchant) as caught:
            check_category(bad)
        assert caught.value.param == "category"


def test_a_name_is_trimmed_and_must_not_be_empty() -> None:
    assert check_name("  Librairie du Bac  ") == "Librairie du Bac"
    for bad in ("", "   ", "x" * 201):
        with pytest.raises(InvalidMerchant):
            check_name(bad)


@pytest.mark.parametrize("fee_bps", [300, 350, 400])
def test_a_commission_of_300_to_400_basis_points_is_accepted(fee_bps: int) -> None:
    assert check_fee_bps(fee_bps) == fee_bps


@pytest.mark.parametrize("fee_bps", [299, 401, 0, -350, True])
def test_a_commission_outside_300_to_400_basis_points_is_refused(fee_bps: int) -> None:
    with pytest.raises(InvalidMerchant) as caught:
        check_fee_bps(fee_bps)
    assert caught.value.param == "fee_bps"


@pytest.mark.parametrize("slug", ["rue-du-bac", "galerie2", "a"])
def test_a_slug_of_lower_case_words_joined_by_hyphens_is_accepted(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    "slug", ["Rue-du-Bac", "rue du bac", "rue--du-bac", "-rue", "rue-", "", "rue_du_bac", "a" * 61]
)
def test_another_slug_is_refused(slug: str) -> None:
    with pytest.raises(InvalidMerchant) as caught:
        check_slug(slug)
    assert caught.value.param == "slug"
