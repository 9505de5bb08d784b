"""pain.001.001.03, customer credit transfer initiation: how Kleline pays its merchants out.

Kleline writes one file per settlement run (one transfer per payout, the payout id as end-to-end id, so that the
statement line that later shows the money leaving, or coming back, finds its payout). The simulated bank reads the
same files back to book them. Writing goes through sepaxml (amounts in integer cents, never floats); reading
through lxml, after the XSD has accepted the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sepaxml import SepaTransfer

from kleline.money import Money
from kleline.sepa.errors import SepaFileInvalid
from kleline.sepa.model import CreditTransfer, OwnAccount
from kleline.sepa.pain import (
    check_amount,
    check_bic,
    check_iban,
    check_identifier,
    check_text,
    check_unique,
    finish,
    validated_pain,
)
from kleline.sepa.xml import DEFAULT_MAX_BYTES, Paths, local_name, message_of

__all__ = ["CREDIT_TRANSFER_KIND", "read_credit_transfers", "write_credit_transfers"]

CREDIT_TRANSFER_KIND = "pain.001.001.03"
_TRANSACTION = frozenset({"CdtTrfTxInf"})


def write_credit_transfers(
    account: OwnAccount,
    transfers: Sequence[CreditTransfer],
    *,
    message_id: str,
    created_at: datetime,
    execution_date: date,
) -> bytes:
    """One pain.001.001.03 file paying every transfer from ``account`` on ``execution_date``, XSD-checked."""
    check_identifier(message_id, "message_id")
    check_iban(account.iban, "account.iban")
    check_bic(account.bic, "account.bic")
    check_text(account.name, "account.name", max_length=140)
    if not transfers:
        raise SepaFileInvalid("a credit transfer file needs at least one transfer", param="transfers")
    for index, transfer in enumerate(transfers):
        _check(transfer, f"transfers[{index}]")
    check_unique((transfer.end_to_end_id for transfer in transfers), "transfers")
    # Batch booking: one payment-information block for the whole run, so the bank debits Kleline once per file
    # (the statement still lists each transfer, with its end-to-end id, when the bank books them one by one).
    config = {"name": account.name, "IBAN": account.iban, "BIC": account.bic, "batch": True, "currency": "EUR"}
    document = SepaTransfer(config, schema=CREDIT_TRANSFER_KIND, clean=True)
    for transfer in transfers:
        payment: dict[str, Any] = {
            "name": transfer.name,
            "IBAN": transfer.iban,
            "amount": transfer.amount.minor,
            "execution_date": execution_date,
            "description": transfer.remittance,
            "endtoend_id": transfer.end_to_end_id,
        }
        if transfer.bic:
            payment["BIC"] = transfer.bic
        document.add_payment(payment)
    return finish(document.export(validate=False), message_id=message_id, created_at=created_at)


def read_credit_transfers(xml: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, list[CreditTransfer]]:
    """The debtor's IBAN and the transfers of a pain.001 file (any version sepaxml ships), after the XSD."""
    kind, root = validated_pain(xml, max_bytes=max_bytes)
    if not kind.startswith("pain.001."):
        raise SepaFileInvalid(f"expected a pain.001 credit transfer file, got a {kind}")
    debtor_ibans: set[str] = set()
    transfers: list[CreditTransfer] = []
    for block in message_of(root):
        if local_name(block) != "PmtInf":
            continue
        debtor_iban = Paths(block, skip=_TRANSACTION).text("DbtrAcct/Id/IBAN")
        if debtor_iban is None:
            raise SepaFileInvalid("a payment block names its debtor account without an IBAN", line=block.sourceline)
        debtor_ibans.add(debtor_iban)
        transfers.extend(_transfer(item) for item in block if local_name(item) == "CdtTrfTxInf")
    if len(debtor_ibans) != 1:
        raise SepaFileInvalid(f"a file must debit exactly one account, this one debits {sorted(debtor_ibans)}")
    return debtor_ibans.pop(), transfers


def _check(transfer: CreditTransfer, param: str) -> None:
    check_identifier(transfer.end_to_end_id, f"{param}.end_to_end_id")
    check_amount(transfer.amount, f"{param}.amount")
    check_text(transfer.name, f"{param}.name", max_length=140)
    check_iban(transfer.iban, f"{param}.iban")
    if transfer.bic:
        check_bic(transfer.bic, f"{param}.bic")
    check_text(transfer.remittance, f"{param}.remittance", max_length=140)


def _transfer(item: Any) -> CreditTransfer:
    paths = Paths(item)
    amount = paths.first("Amt/InstdAmt")
    iban = paths.text("CdtrAcct/Id/IBAN")
    if amount is None or iban is None:
        # The XSD allows an amount in another currency's equivalent and accounts without an IBAN; SEPA does not.
        raise SepaFileInvalid("a SEPA transfer needs an instructed amount and a creditor IBAN", line=item.sourceline)
    try:
        money = Money.parse(amount.text, amount.get("Ccy"))
    except ValueError as exc:
        raise SepaFileInvalid(f"unreadable amount: {exc}", line=amount.sourceline) from None
    return CreditTransfer(
        end_to_end_id=paths.text("PmtId/EndToEndId") or "",
        amount=money,
        name=paths.text("Cdtr/Nm") or "",
        iban=iban,
        bic=paths.text("CdtrAgt/FinInstnId/BIC", "CdtrAgt/FinInstnId/BICFI") or "",
        remittance=" ".join(paths.texts("RmtInf/Ustrd")),
    )
