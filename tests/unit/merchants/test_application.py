"""A shop's application checked at once: every problem in the form's order, the fields a caller requires, and the
canonical values of a good one."""

from __future__ import annotations

import pytest

from kleline.merchants.application import check_application
from kleline.merchants.model import Application

GOOD = Application(
    name=" Librairie du Bac SARL ",
    email="Contact@Librairie-du-Bac.fr",
    iban="fr14 2004 1010 0505 0001 3m02 606",
    siret="732 829 320 00074",
    vat_number="fr44732829320",
    website="https://librairie-du-bac.fr",
    category="Books",
    description="New and second-hand books",
    mall_ids=("mall_b", "mall_a", "mall_b"),
    contact_name=" Ada Martin ",
    contact_phone="01 23 45 67 89",
)


def test_a_good_application_comes_back_in_canonical_form() -> None:
    checked, problems = check_application(GOOD, frozenset({"siret", "vat_number", "contact_name", "contact_phone"}))
    assert problems == [] and checked is not None
    assert (checked.name, checked.email, checked.iban, checked.bic) == (
        "Librairie du Bac SARL",
        "contact@librairie-du-bac.fr",
        "FR1420041010050500013M02606",
        "PSSTFRPP",
    )
    assert (checked.siret, checked.vat_number, checked.category) == ("73282932000074", "FR44732829320", "books")
    assert (checked.contact_name, checked.contact_phone) == ("Ada Martin", "+33123456789")
    assert (checked.mall_ids, checked.fee_bps) == (("mall_b", "mall_a"), 350)


def test_every_problem_is_found_at_once_in_the_forms_order_of_fields() -> None:
    bad = Application(
        name=" ",
        email="not an address",
        iban="FR00 1234",
        bic="NOT A BIC",
        siret="73282932000075",
        vat_number="FR45732829320",
        website="ftp://shop.example",
        category="Books & more",
        description="x" * 501,
        contact_name="y" * 201,
        contact_phone="12 34",
    )
    checked, problems = check_application(bad)
    assert checked is None
    assert [(problem.param, problem.code) for problem in problems] == [
        ("name", "validation_error"),
        ("siret", "invalid_siret"),
        ("vat_number", "invalid_vat_number"),
        ("iban", "invalid_iban"),
        ("bic", "invalid_bic"),  # checked on its own, since the IBAN it would be checked against is wrong
        ("contact_name", "validation_error"),
        ("email", "validation_error"),
        ("contact_phone", "validation_error"),
        ("website", "validation_error"),
        ("category", "validation_error"),
        ("description", "validation_error"),
    ]


def test_the_fields_a_caller_requires_may_not_be_left_blank() -> None:
    required = frozenset({"siret", "vat_number", "contact_name", "contact_phone", "website", "category", "mall_ids"})
    bare = Application(name="Shop", email="shop@example.org", iban=GOOD.iban, contact_name="  ")
    assert check_application(bare)[1] == []  # the API's: these are optional
    checked, problems = check_application(bare, required)
    assert checked is None
    assert [problem.param for problem in problems] == [
        "siret",
        "vat_number",
        "contact_name",
        "contact_phone",
        "website",
        "category",
        "mall_ids",
    ]
    assert all(problem.code == "validation_error" for problem in problems)


def test_a_french_vat_number_of_another_company_than_the_sirets_is_refused() -> None:
    other = Application(
        name="Shop", email="shop@example.org", iban=GOOD.iban, siret=GOOD.siret, vat_number="FR40303265045"
    )
    assert [problem.code for problem in check_application(other)[1]] == ["invalid_vat_number"]


def test_a_field_that_is_not_an_applications_cannot_be_required() -> None:
    with pytest.raises(ValueError, match="not fields of an application: colour"):
        check_application(GOOD, frozenset({"colour"}))


def test_more_than_20_malls_are_refused() -> None:
    many = Application(
        name="Shop", email="shop@example.org", iban=GOOD.iban, mall_ids=tuple(f"m{n}" for n in range(21))
    )
    assert [problem.param for problem in check_application(many)[1]] == ["mall_ids"]
