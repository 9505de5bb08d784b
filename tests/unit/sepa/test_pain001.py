import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from sepaxml import SepaTransfer
from sepaxml.validation import try_valid_xml

from kleline.money import Money
from kleline.sepa import (
    OwnAccount,
    SepaFileInvalid,
    read_credit_transfers,
    read_direct_debits,
    validate_pain,
    write_credit_transfers,
)

from .conftest import MERCHANT_IBAN, payout

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
RUN_DAY = date(2026, 1, 16)


def write(account: OwnAccount, transfers: list, created_at: datetime, message_id: str = "sr_2026-01-15") -> bytes:  # type: ignore[type-arg]
    return write_credit_transfers(
        account, transfers, message_id=message_id, created_at=created_at, execution_date=RUN_DAY
    )


def test_a_payout_file_reads_back_as_the_transfers_that_were_written(
    own_account: OwnAccount, created_at: datetime
) -> None:
    transfers = [payout(1, 1250), payout(2, 99_999_999_999, bic=""), payout(3, 1, remittance="Payout & co <3")]

    debtor_iban, read = read_credit_transfers(write(own_account, transfers, created_at))

    assert debtor_iban == own_account.iban
    assert read == transfers


def test_the_file_carries_our_message_id_time_and_totals_and_passes_sepaxmls_own_validator(
    own_account: OwnAccount, created_at: datetime
) -> None:
    xml = write(own_account, [payout(1, 1250), payout(2, 250)], created_at)

    root = etree.fromstring(xml)
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == "sr_2026-01-15"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", namespaces=NS) == "2026-01-15T09:30:00Z"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "2"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS) == "15.00"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:ReqdExctnDt", namespaces=NS) == "2026-01-16"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == "SOGEFRPP"
    try_valid_xml(xml, "pain.001.001.03")  # raises if the pure-Python validator sepaxml uses disagrees
    assert validate_pain(xml) == "pain.001.001.03"


def test_the_same_run_gives_the_same_bytes_so_a_file_can_be_rebuilt_instead_of_stored(
    own_account: OwnAccount, created_at: datetime
) -> None:
    transfers = [payout(n) for n in range(5)]
    paris = created_at.astimezone(timezone(timedelta(hours=1)))

    assert write(own_account, transfers, created_at) == write(own_account, transfers, paris)


@pytest.mark.parametrize(
    ("transfer", "param", "message"),
    [
        (payout(1, end_to_end_id="po_" + "x" * 33), "transfers[0].end_to_end_id", "1 to 35 characters"),
        (payout(1, end_to_end_id=""), "transfers[0].end_to_end_id", "1 to 35 characters"),
        (payout(1, amount=Money(0, "EUR")), "transfers[0].amount", "between 0.01 and 999999999.99"),
        (payout(1, amount=Money(100_000_000_000, "EUR")), "transfers[0].amount", "between 0.01"),
        (payout(1, amount=Money(1250, "USD")), "transfers[0].amount", "euros only"),
        (payout(1, iban="DE89 3704 0044 0532 0130 00"), "transfers[0].iban", "not an IBAN"),
        (payout(1, bic="COBA"), "transfers[0].bic", "not a BIC"),
        (payout(1, name="  "), "transfers[0].name", "1 to 140 characters"),
        (payout(1, remittance=""), "transfers[0].remittance", "1 to 140 characters"),
    ],
)
def test_a_transfer_that_cannot_be_sent_is_refused_naming_its_field(
    own_account: OwnAccount, created_at: datetime, transfer: object, param: str, message: str
) -> None:
    with pytest.raises(SepaFileInvalid, match=message) as refused:
        write(own_account, [transfer], created_at)
    assert refused.value.param == param
    assert refused.value.code == "sepa_file_invalid"
    assert refused.value.status == 400


def test_a_file_cannot_pay_the_same_end_to_end_id_twice(own_account: OwnAccount, created_at: datetime) -> None:
    with pytest.raises(SepaFileInvalid, match=r"transfers\[2\].end_to_end_id 'po_00000001' appears twice"):
        write(own_account, [payout(1), payout(2), payout(1)], created_at)


def test_an_empty_run_has_no_file(own_account: OwnAccount, created_at: datetime) -> None:
    with pytest.raises(SepaFileInvalid, match="at least one transfer"):
        write(own_account, [], created_at)


def test_a_message_id_longer_than_35_characters_is_refused(own_account: OwnAccount, created_at: datetime) -> None:
    with pytest.raises(SepaFileInvalid, match="message_id must be 1 to 35"):
        write(own_account, [payout(1)], created_at, message_id="sr_" + "9" * 33)


def test_a_naive_creation_time_is_refused(own_account: OwnAccount) -> None:
    with pytest.raises(ValueError, match="naive"):
        write(own_account, [payout(1)], datetime(2026, 1, 15, 9, 30))


def test_names_are_transliterated_and_cut_to_the_70_characters_the_rulebook_allows(
    own_account: OwnAccount, created_at: datetime
) -> None:
    _, [read] = read_credit_transfers(write(own_account, [payout(1, name="Crêperie Müller " + "x" * 80)], created_at))

    assert read.name == ("Creperie Muller " + "x" * 80)[:70]


def test_a_pain_001_of_a_later_version_written_by_sepaxml_is_read_too() -> None:
    document = SepaTransfer(
        {
            "name": "Other SAS",
            "IBAN": "FR7630003000000005000000167",
            "BIC": "SOGEFRPP",
            "batch": True,
            "currency": "EUR",
        },
        schema="pain.001.001.09",
    )
    document.add_payment(
        {
            "name": "Boutique",
            "IBAN": MERCHANT_IBAN,
            "BIC": "COBADEFFXXX",
            "amount": 4200,
            "execution_date": RUN_DAY,
            "description": "Invoice 7",
            "endtoend_id": "E2E-7",
        }
    )

    debtor, [transfer] = read_credit_transfers(document.export())

    assert debtor == "FR7630003000000005000000167"
    assert (transfer.end_to_end_id, transfer.amount, transfer.bic) == ("E2E-7", Money(4200, "EUR"), "COBADEFFXXX")


def test_a_direct_debit_reader_refuses_a_credit_transfer_file(own_account: OwnAccount, created_at: datetime) -> None:
    with pytest.raises(SepaFileInvalid, match="expected a pain.008 direct debit file, got a pain.001.001.03"):
        read_direct_debits(write(own_account, [payout(1)], created_at))


def test_ten_thousand_payouts_make_one_valid_file_in_seconds(own_account: OwnAccount) -> None:
    transfers = [payout(n, 1000 + n) for n in range(10_000)]
    started = time.perf_counter()

    xml = write(own_account, transfers, datetime(2026, 1, 15, tzinfo=UTC))
    written = time.perf_counter() - started
    _, read = read_credit_transfers(xml)

    assert read == transfers
    # About 1 s to write and 1 s to read on a developer laptop; the bound only catches a quadratic slip.
    assert written < 15, f"writing 10,000 transfers took {written:.1f} s"


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 99_999_999_999), st.from_regex(r"[A-Za-z0-9 .,'+/-]{1,70}", fullmatch=True)),
        min_size=1,
        max_size=30,
    )
)
def test_every_cent_and_reference_of_a_payout_file_survives_the_trip_to_the_bank(
    rows: list[tuple[int, str]],
) -> None:
    account = OwnAccount("FR7630003000000005000000167", "SOGEFRPP", "Kleline SAS", "FR72ZZZ123456")
    transfers = [
        payout(n, minor, name=name.strip() or "x", remittance=f"Payout {n}") for n, (minor, name) in enumerate(rows)
    ]

    _, read = read_credit_transfers(write(account, transfers, datetime(2026, 1, 15, tzinfo=UTC)))

    assert read == transfers
