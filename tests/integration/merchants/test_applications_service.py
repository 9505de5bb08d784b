"""Merchants' applications on each backend: a VAT number and a contact recorded, a refusal and a suspension with
their reasons (what the merchant reads), approval after a refusal, and input refused without a trace."""

from __future__ import annotations

from typing import Any

import pytest

from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.ledger import Ledger
from kleline.merchants import (
    Application,
    InvalidMerchant,
    Malls,
    Merchant,
    MerchantNotActive,
    Merchants,
    StatusConflict,
    UnknownMerchant,
)

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..helpers import count_rows

IBAN = "FR1420041010050500013M02606"
SIRET = "73282932000074"
VAT_NUMBER = "FR44732829320"
_TABLES = ("merchants", "merchant_keys", "mall_merchants")


@pytest.fixture
def merchants(db: Database, ledger: Ledger, clock: FakeClock) -> Merchants:
    return Merchants(db, ledger, clock=clock)


def register(merchants: Merchants, **fields: Any) -> Merchant:
    values: dict[str, Any] = {"name": "Librairie du Bac", "email": "contact@librairie-du-bac.fr", "iban": IBAN}
    values.update(fields)
    return merchants.register(**values)[0]


def test_a_vat_number_and_a_contact_are_recorded_in_canonical_form(merchants: Merchants, clock: FakeClock) -> None:
    merchant = register(
        merchants,
        siret=SIRET,
        vat_number="fr 44 732 829 320",
        contact_name=" Ada Martin ",
        contact_phone="01 23 45 67 89",
    )
    assert (merchant.vat_number, merchant.contact_name, merchant.contact_phone) == (
        VAT_NUMBER,
        "Ada Martin",
        "+33123456789",
    )
    assert (merchant.status_reason, merchant.status_changed_at) == (None, clock.now)
    assert merchants.get(merchant.id) == merchant


def test_an_application_without_them_is_still_registered(merchants: Merchants) -> None:
    merchant = register(merchants)
    assert (merchant.vat_number, merchant.contact_name, merchant.contact_phone) == (None, None, None)


@pytest.mark.parametrize(
    ("fields", "code", "param"),
    [
        ({"vat_number": "FR45732829320"}, "invalid_vat_number", "vat_number"),
        ({"siret": SIRET, "vat_number": "FR40303265045"}, "invalid_vat_number", "vat_number"),
        ({"contact_phone": "12 34"}, "validation_error", "contact_phone"),
        ({"contact_name": "x" * 201}, "validation_error", "contact_name"),
    ],
)
def test_a_wrong_vat_number_or_contact_is_refused_and_leaves_nothing(
    merchants: Merchants, db: Database, fields: dict[str, str], code: str, param: str
) -> None:
    with pytest.raises(KlelineError) as refused:
        register(merchants, **fields)
    assert (refused.value.code, refused.value.param) == (code, param)
    assert [count_rows(db, table) for table in _TABLES] == [0, 0, 0]


def test_application_problems_lists_every_problem_and_unknown_malls(
    merchants: Merchants, db: Database, clock: FakeClock
) -> None:
    malls = Malls(db, clock=clock)
    mall = malls.create("Galerie", "galerie", actor=OPERATOR)
    application = Application(
        name="", email="shop@example.org", iban=IBAN, vat_number="FR4", mall_ids=(mall.id, "mall_nope")
    )
    problems = merchants.application_problems(application)
    assert [(p.param, p.code) for p in problems] == [
        ("name", "validation_error"),
        ("vat_number", "invalid_vat_number"),
        ("mall_ids", "validation_error"),
    ]
    assert "mall_nope" in problems[-1].detail and mall.id not in problems[-1].detail
    assert merchants.application_problems(Application(name="Shop", email="shop@example.org", iban=IBAN)) == []
    assert count_rows(db, "merchants") == 0


def test_a_refused_merchant_reads_why_and_may_take_no_payment(merchants: Merchants, clock: FakeClock) -> None:
    merchant = register(merchants)
    clock.advance(hours=2)
    refused = merchants.refuse(merchant.id, "  The SIRET belongs to a company\nthat ceased trading ", actor=OPERATOR)
    assert (refused.status, refused.status_reason) == ("refused", "The SIRET belongs to a company that ceased trading")
    assert refused.status_changed_at == clock.now and refused.approved_at is None
    assert merchants.get(merchant.id) == refused
    with pytest.raises(MerchantNotActive, match="was refused"):
        merchants.require_active(merchant.id)
    with pytest.raises(MerchantNotActive, match="is refused: it cannot get new keys"):
        merchants.create_key(merchant.id)
    with pytest.raises(MerchantNotActive, match="is refused"):
        merchants.require_not_suspended(merchant.id, "register webhook endpoints")
    assert [m.id for m in merchants.list(status="refused")] == [merchant.id]


def test_a_refusal_says_why_or_changes_nothing(merchants: Merchants) -> None:
    merchant = register(merchants)
    for reason in ("", "   ", "x" * 501):
        with pytest.raises(InvalidMerchant) as refused:
            merchants.refuse(merchant.id, reason, actor=OPERATOR)
        assert refused.value.param == "reason"
    assert merchants.get(merchant.id).status == "pending"


def test_only_a_pending_merchant_may_be_refused(merchants: Merchants) -> None:
    merchant = register(merchants)
    merchants.approve(merchant.id, actor=OPERATOR)
    with pytest.raises(StatusConflict, match="only a pending merchant can be refused") as conflict:
        merchants.refuse(merchant.id, "Too late", actor=OPERATOR)
    assert conflict.value.extensions() == {"merchant_status": "active"}
    with pytest.raises(UnknownMerchant):
        merchants.refuse("mer_unknown", "No such shop", actor=OPERATOR)


def test_an_operator_who_reconsiders_approves_a_refused_merchant_and_the_reason_goes(merchants: Merchants) -> None:
    merchant = register(merchants)
    merchants.refuse(merchant.id, "Send us your Kbis extract", actor=OPERATOR)
    approved = merchants.approve(merchant.id, actor=OPERATOR)
    assert (approved.status, approved.status_reason) == ("active", None)
    assert merchants.get(merchant.id).status_reason is None
    assert merchants.require_active(merchant.id).id == merchant.id


def test_a_suspension_keeps_its_reason_until_the_merchant_is_approved_again(merchants: Merchants) -> None:
    merchant = register(merchants)
    merchants.approve(merchant.id, actor=OPERATOR)
    suspended = merchants.suspend(merchant.id, "Unusual refund rate: we are looking into it", actor=OPERATOR)
    assert (suspended.status, suspended.status_reason) == ("suspended", "Unusual refund rate: we are looking into it")
    assert merchants.get(merchant.id).status_reason == suspended.status_reason
    assert merchants.approve(merchant.id, actor=OPERATOR).status_reason is None
    assert merchants.suspend(merchant.id, actor=OPERATOR).status_reason is None  # a reason is optional on a suspension
    merchants.approve(merchant.id, actor=OPERATOR)
    with pytest.raises(InvalidMerchant, match="at most 500"):
        merchants.suspend(merchant.id, "x" * 501, actor=OPERATOR)
    assert merchants.get(merchant.id).status == "active"
