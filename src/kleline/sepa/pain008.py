"""pain.008.001.02, customer direct debit initiation: how Kleline collects purse top-ups from customers' accounts.

One file per collection run, SEPA Core scheme, grouped by sequence type and collection date as the rulebook wants
(FRST for a mandate's first collection, RCUR after). The collection id travels as end-to-end id and comes back on
the statement line (and on a return). Written through sepaxml, read back through lxml after the XSD.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sepaxml import SepaDD

from kleline.money import Money
from kleline.sepa.errors import SepaFileInvalid
from kleline.sepa.model import DirectDebit, OwnAccount
from kleline.sepa.pain import (
    check_amount,
    check_bic,
    check_iban,
    check_identifier,
    check_text,
    check_unique,
    finish,
    parse_date,
    validated_pain,
)
from kleline.sepa.xml import DEFAULT_MAX_BYTES, Paths, local_name, message_of

__all__ = ["DIRECT_DEBIT_KIND", "SEQUENCE_TYPES", "read_direct_debits", "write_direct_debits"]

DIRECT_DEBIT_KIND = "pain.008.001.02"
SEQUENCE_TYPES = frozenset({"FRST", "RCUR", "OOFF", "FNAL"})
_TRANSACTION = frozenset({"DrctDbtTxInf"})


def write_direct_debits(
    account: OwnAccount,
    debits: Sequence[DirectDebit],
    *,
    message_id: str,
    created_at: datetime,
    collection_date: date,
) -> bytes:
    """One pain.008.001.02 file collecting every debit into ``account`` on ``collection_date``, XSD-checked."""
    check_identifier(message_id, "message_id")
    check_iban(account.iban, "account.iban")
    check_bic(account.bic, "account.bic")
    check_text(account.name, "account.name", max_length=140)
    check_identifier(account.creditor_id, "account.creditor_id")
    if not debits:
        raise SepaFileInvalid("a direct debit file needs at least one debit", param="debits")
    for index, debit in enumerate(debits):
        _check(debit, f"debits[{index}]")
    check_unique((debit.end_to_end_id for debit in debits), "debits")
    config = {
        "name": account.name,
        "IBAN": account.iban,
        "BIC": account.bic,
        "batch": True,
        "creditor_id": account.creditor_id,
        "currency": "EUR",
        "instrument": "CORE",
    }
    document = SepaDD(config, schema=DIRECT_DEBIT_KIND, clean=True)
    for debit in debits:
        payment: dict[str, Any] = {
            "name": debit.name,
            "IBAN": debit.iban,
            "amount": debit.amount.minor,
            "type": debit.sequence,
            "collection_date": collection_date,
            "mandate_id": debit.mandate_id,
            "mandate_date": debit.mandate_signed_on,
            "description": debit.remittance,
            "endtoend_id": debit.end_to_end_id,
        }
        if debit.bic:
            payment["BIC"] = debit.bic
        document.add_payment(payment)
    return finish(document.export(validate=False), message_id=message_id, created_at=created_at)


def read_direct_debits(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, list[DirectDebit]]:
    """The creditor's IBAN and the debits of a pain.008 file (any version sepaxml ships), after the XSD."""
    kind, root = validated_pain(xml, max_bytes=max_bytes)
    if not kind.startswith("pain.008."):
        raise SepaFileInvalid(f"expected a pain.008 direct debit file, got a {kind}")
    creditor_ibans: set[str] = set()
    debits: list[DirectDebit] = []
    for block in message_of(root):
        if local_name(block) != "PmtInf":
            continue
        paths = Paths(block, skip=_TRANSACTION)
        creditor_iban = paths.text("CdtrAcct/Id/IBAN")
        if creditor_iban is None:
            raise SepaFileInvalid("a payment block names its creditor account without an IBAN", line=block.sourceline)
        creditor_ibans.add(creditor_iban)
        # The sequence type sits on the block in SEPA files; a transaction may repeat it (the XSD allows both).
        block_sequence = paths.text("PmtTpInf/SeqTp")
        debits.extend(_debit(item, block_sequence) for item in block if local_name(item) == "DrctDbtTxInf")
    if len(creditor_ibans) != 1:
        raise SepaFileInvalid(f"a file must credit exactly one account, this one credits {sorted(creditor_ibans)}")
    return creditor_ibans.pop(), debits


def _check(debit: DirectDebit, param: str) -> None:
    check_identifier(debit.end_to_end_id, f"{param}.end_to_end_id")
    check_amount(debit.amount, f"{param}.amount")
    check_text(debit.name, f"{param}.name", max_length=140)
    check_iban(debit.iban, f"{param}.iban")
    if debit.bic:
        check_bic(debit.bic, f"{param}.bic")
    check_identifier(debit.mandate_id, f"{param}.mandate_id")
    if debit.sequence not in SEQUENCE_TYPES:
        raise SepaFileInvalid(
            f"{param}.sequence must be one of {sorted(SEQUENCE_TYPES)}, got {debit.sequence!r}",
            param=f"{param}.sequence",
        )
    check_text(debit.remittance, f"{param}.remittance", max_length=140)


def _debit(item: Any, block_sequence: str | None) -> DirectDebit:
    paths = Paths(item)
    amount = paths.first("InstdAmt")
    iban = paths.text("DbtrAcct/Id/IBAN")
    mandate_id = paths.text("DrctDbtTx/MndtRltdInf/MndtId")
    sequence = paths.text("PmtTpInf/SeqTp") or block_sequence
    if amount is None or iban is None or mandate_id is None or sequence is None:
        raise SepaFileInvalid(
            "a SEPA direct debit needs an amount, a debtor IBAN, a mandate and a sequence type", line=item.sourceline
        )
    try:
        money = Money.parse(amount.text, amount.get("Ccy"))
    except ValueError as exc:
        raise SepaFileInvalid(f"unreadable amount: {exc}", line=amount.sourceline) from None
    return DirectDebit(
        end_to_end_id=paths.text("PmtId/EndToEndId") or "",
        amount=money,
        name=paths.text("Dbtr/Nm") or "",
        iban=iban,
        bic=paths.text("DbtrAgt/FinInstnId/BIC", "DbtrAgt/FinInstnId/BICFI"),
        mandate_id=mandate_id,
        mandate_signed_on=parse_date(paths.text("DrctDbtTx/MndtRltdInf/DtOfSgntr"), "DtOfSgntr"),
        sequence=sequence,
        remittance=" ".join(paths.texts("RmtInf/Ustrd")),
    )
