"""The ledger entries of a payout's life (DESIGN.md section 3, "Money flows"), as pure functions.

Every entry id is derived from the payout's id, itself derived from its run and merchant, so that no crash, rerun or
second import of a statement can post one of them twice: the ledger keeps one entry per id.
"""

from __future__ import annotations

from kleline.ledger import EntryRequest, credit, debit
from kleline.merchants.model import balance_account
from kleline.sepa.model import OwnAccount
from kleline.settlement.model import Payout

__all__ = ["paid_entry", "returned_entry", "sent_entry", "sent_entry_id"]


def _metadata(payout: Payout) -> dict[str, str]:
    return {"payout": payout.id, "merchant": payout.merchant_id, "settlement_run": payout.settlement_run_id}


def sent_entry_id(payout_id: str) -> str:
    """The id of the entry that sent the payout out of the merchant's balance."""
    return f"{payout_id}:sent"


def sent_entry(payout: Payout, bank: OwnAccount) -> EntryRequest:
    """The run sends the payout: merchant balance Dr / bank in-transit Cr."""
    return EntryRequest(
        sent_entry_id(payout.id),
        (debit(balance_account(payout.merchant_id), payout.amount), credit(bank.in_transit_code, payout.amount)),
        "payout sent",
        _metadata(payout),
    )


def paid_entry(payout: Payout, bank: OwnAccount, line_ref: str) -> EntryRequest:
    """The statement shows the transfer leaving Kleline's account: bank in-transit Dr / safeguarding Cr."""
    return EntryRequest(
        f"{payout.id}:paid",
        (debit(bank.in_transit_code, payout.amount), credit(bank.safeguarding_code, payout.amount)),
        "payout paid",
        {**_metadata(payout), "statement_line": line_ref},
    )


def returned_entry(payout: Payout, bank: OwnAccount, line_ref: str, reason: str) -> EntryRequest:
    """The merchant's bank sent the transfer back: safeguarding Dr / merchant balance Cr (the merchant is owed it
    again, and the next run pays it, to the bank details the merchant has then)."""
    return EntryRequest(
        f"{payout.id}:returned",
        (debit(bank.safeguarding_code, payout.amount), credit(balance_account(payout.merchant_id), payout.amount)),
        "payout returned",
        {**_metadata(payout), "statement_line": line_ref, "return_reason": reason},
    )
