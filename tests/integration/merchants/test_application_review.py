"""An application as compliance reviews it: each check run again on what was stored, and the other merchants that
share its bank account or establishment named."""

from __future__ import annotations

from typing import Any

import pytest

from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.merchants import Merchant, Merchants, UnknownMerchant
from kleline.merchants.model import mask_iban

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

IBAN = "FR1420041010050500013M02606"
OTHER_IBAN = "DE89370400440532013000"
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"


@pytest.fixture
def merchants(db: Database, ledger: Ledger, clock: FakeClock) -> Merchants:
    return Merchants(db, ledger, clock=clock)


def register(merchants: Merchants, **fields: Any) -> Merchant:
    values: dict[str, Any] = {"name": "Librairie du Bac", "email": "contact@librairie-du-bac.fr", "iban": IBAN}
    values.update(fields)
    return merchants.register(**values)[0]


def test_a_clean_application_passes_every_check_and_says_what_it_found(merchants: Merchants) -> None:
    shop = register(merchants, siret=SIRET, vat_number=VAT_NUMBER)
    review = merchants.review(shop.id)
    assert review.clear
    found = {check.name: check.detail for check in review.checks}
    assert found["iban"] == f"{mask_iban(IBAN)}, bank {shop.bic}"
    assert found["siret"] == f"SIRET {SIRET}, SIREN 732829320"
    assert found["vat_number"] == f"{VAT_NUMBER} matches the SIRET's company"
    assert found["same_iban"] == "no other merchant has this IBAN"
    values = {check.name: dict(check.found) for check in review.checks}  # for a page to word in its language
    assert values["iban"] == {"iban": mask_iban(IBAN), "bic": shop.bic}
    assert values["siret"] == {"siret": SIRET, "siren": "732829320"}
    assert values["vat_number"] == {"vat_number": VAT_NUMBER, "siret": SIRET}


def test_another_merchant_with_the_same_iban_or_siret_is_named(merchants: Merchants) -> None:
    first = register(merchants, name="Librairie du Bac", siret=SIRET, vat_number=VAT_NUMBER)
    merchants.refuse(first.id, "SIRET closed", actor=OPERATOR)
    again = register(merchants, name="Le Bac à Livres", siret=SIRET, vat_number=VAT_NUMBER)
    unrelated = register(merchants, name="Autre boutique", iban=OTHER_IBAN)
    review = merchants.review(again.id)
    assert not review.clear
    same = {check.name: check for check in review.checks if not check.passed}
    assert set(same) == {"same_iban", "same_siret"}
    assert same["same_iban"].others == (first.id,)
    assert same["same_iban"].detail == f"also the IBAN of Librairie du Bac ({first.id}, refused)"
    assert merchants.review(unrelated.id).clear is False  # no SIRET, no VAT number given
    assert {c.name for c in merchants.review(unrelated.id).checks if not c.passed} == {"siret", "vat_number"}


def test_a_stored_vat_number_of_another_company_fails_its_check(merchants: Merchants, db: Database) -> None:
    shop = register(merchants, siret=SIRET, vat_number=VAT_NUMBER)
    with db.transaction() as tx:  # as an application stored before the VAT check compared it with the SIRET
        tx.execute("UPDATE merchants SET vat_number = 'FR40303265045' WHERE id = :id", {"id": shop.id})
    vat = next(check for check in merchants.review(shop.id).checks if check.name == "vat_number")
    assert not vat.passed
    assert "SIREN 303265045, but the SIRET is of SIREN 732829320" in vat.detail
    assert (vat.refusal, vat.found) == ("invalid_vat_number", {})


def test_an_unknown_merchant_is_not_found(merchants: Merchants) -> None:
    with pytest.raises(UnknownMerchant):
        merchants.review("mer_unknown")
