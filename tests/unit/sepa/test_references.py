"""Ids as SEPA references: the EPC's restricted character set has no underscore, so ``po_…`` travels as ``po-…``
and either form comes back to the same id."""

from __future__ import annotations

from kleline.sepa import object_id, sepa_reference

PAYOUT = "po_796c1ab38487f78cae0d40213be93280"


def test_an_id_travels_without_its_underscore_and_fits_an_end_to_end_id() -> None:
    reference = sepa_reference(PAYOUT)
    assert reference == "po-796c1ab38487f78cae0d40213be93280"
    assert "_" not in reference and len(reference) <= 35


def test_a_reference_names_the_id_whichever_separator_the_bank_sent_back() -> None:
    assert object_id(sepa_reference(PAYOUT), "po") == PAYOUT
    assert object_id(PAYOUT, "po") == PAYOUT


def test_a_reference_of_another_kind_names_no_id() -> None:
    assert object_id("dd-46d88aa03a84a04bf777460350866a50", "po") is None
    assert object_id("pos-1", "po") is None
    assert object_id("NOTPROVIDED", "po") is None
