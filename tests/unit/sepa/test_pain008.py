from datetime import date, datetime

import pytest
from lxml import etree
from sepaxml.validation import try_valid_xml

from kleline.sepa import (
    OwnAccount,
    SepaFileInvalid,
    read_credit_transfers,
    read_direct_debits,
    validate_pain,
    write_direct_debits,
)

from .conftest import collection

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
COLLECTION_DAY = date(2026, 1, 20)


def write(account: OwnAccount, debits: list, created_at: datetime) -> bytes:  # type: ignore[type-arg]
    return write_direct_debits(
        account, debits, message_id="cr_2026-01-15", created_at=created_at, collection_date=COLLECTION_DAY
    )


def test_a_collection_file_reads_back_as_the_debits_that_were_written(
    own_account: OwnAccount, created_at: datetime
) -> None:
    debits = [collection(1), collection(2, 1, bic=None), collection(3, 123_456, remittance="Top-up <50 €>")]

    creditor_iban, read = read_direct_debits(write(own_account, debits, created_at))

    assert creditor_iban == own_account.iban
    assert read == [debits[0], debits[1], collection(3, 123_456, remittance="Top-up <50 EUR>")]


def test_first_and_recurrent_collections_go_in_separate_blocks_as_the_core_rulebook_wants(
    own_account: OwnAccount, created_at: datetime
) -> None:
    debits = [collection(1, sequence="FRST"), collection(2), collection(3, sequence="FRST")]

    xml = write(own_account, debits, created_at)

    root = etree.fromstring(xml)
    blocks = root.findall("p:CstmrDrctDbtInitn/p:PmtInf", namespaces=NS)
    assert [b.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS) for b in blocks] == ["FRST", "RCUR"]
    assert [b.findtext("p:PmtInfId", namespaces=NS) for b in blocks] == ["cr_2026-01-15-1", "cr_2026-01-15-2"]
    assert {b.findtext("p:PmtTpInf/p:LclInstrm/p:Cd", namespaces=NS) for b in blocks} == {"CORE"}
    assert {b.findtext("p:ReqdColltnDt", namespaces=NS) for b in blocks} == {"2026-01-20"}
    creditor_id = "p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id"
    assert {b.findtext(creditor_id, namespaces=NS) for b in blocks} == {"FR72ZZZ123456"}
    _, read = read_direct_debits(xml)
    assert sorted(read, key=lambda d: d.end_to_end_id) == debits
    try_valid_xml(xml, "pain.008.001.02")
    assert validate_pain(xml) == "pain.008.001.02"


@pytest.mark.parametrize(
    ("debit", "param", "message"),
    [
        (collection(1, sequence="LAST"), "debits[0].sequence", "must be one of"),
        (collection(1, mandate_id="M" * 36), "debits[0].mandate_id", "1 to 35 characters"),
        (collection(1, end_to_end_id=" col_1"), "debits[0].end_to_end_id", "without surrounding spaces"),
        (collection(1, bic="agrifrpp"), "debits[0].bic", "not a BIC"),
    ],
)
def test_a_debit_that_cannot_be_collected_is_refused_naming_its_field(
    own_account: OwnAccount, created_at: datetime, debit: object, param: str, message: str
) -> None:
    with pytest.raises(SepaFileInvalid, match=message) as refused:
        write(own_account, [debit], created_at)
    assert refused.value.param == param


def test_a_creditor_identifier_is_required(own_account: OwnAccount, created_at: datetime) -> None:
    without_id = OwnAccount(own_account.iban, own_account.bic, own_account.name, creditor_id="")

    with pytest.raises(SepaFileInvalid, match="account.creditor_id"):
        write(without_id, [collection(1)], created_at)


def test_a_credit_transfer_reader_refuses_a_direct_debit_file(own_account: OwnAccount, created_at: datetime) -> None:
    with pytest.raises(SepaFileInvalid, match="expected a pain.001 credit transfer file, got a pain.008.001.02"):
        read_credit_transfers(write(own_account, [collection(1)], created_at))
