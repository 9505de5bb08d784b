"""SEPA files received by the simulated banks: credit transfers (pain.001) and direct debits (pain.008), booked.

A file is read and checked against its XSD before anything is booked (``read_file``, no lock needed: it is the slow
part), then booked whole under the simulator's lock (``Clearing.book``). What a real bank does, simplified:

- a credit transfer file debits its debtor (Kleline's account) for each transfer and credits each creditor's account.
  A creditor account that is closed sends the money back: the debit is followed by a credit with return reason
  AC04 (closed account); an IBAN with a wrong checksum comes back with AC01 (incorrect account number). A debtor
  account that is closed or cannot pay the whole file makes the bank refuse the file: nothing is booked.
- a direct debit file credits its creditor (Kleline's account) with each collection and debits each debtor's account.
  A debtor that cannot pay comes back as a debit on the creditor with AM04 (insufficient funds), after the credit, as
  SEPA returns do; a closed debtor account with AC04, an invalid IBAN with AC01.

Every line carries the end-to-end id of its transfer or collection, returns too: that is what Kleline matches them
by. A file is identified by its account and message id: the same file sent again (a retry after a lost answer)
returns the first receipt and books nothing; another file under the same message id is refused.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from lxml import etree

from kleline.banksim.books import CLEARING, Account, Books, Counterparty, normalize_iban
from kleline.banksim.errors import AccountClosed, DuplicateFile, InsufficientFunds, InvalidIban
from kleline.money import Money
from kleline.sepa import (
    CreditTransfer,
    DirectDebit,
    SepaFileInvalid,
    read_credit_transfers,
    read_direct_debits,
    validate_pain,
)

__all__ = ["Clearing", "FileReceipt", "ReceivedFile", "Return", "read_file"]

CLOSED: Final = "AC04"
INCORRECT_ACCOUNT: Final = "AC01"
INSUFFICIENT_FUNDS: Final = "AM04"


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    """A pain file read and checked, not yet booked."""

    kind: str  # "pain.001.001.03", "pain.008.001.02", ...
    message_id: str
    account_iban: str  # the debtor of a pain.001, the creditor of a pain.008
    transfers: tuple[CreditTransfer, ...]
    debits: tuple[DirectDebit, ...]
    digest: str  # sha256 of the bytes: tells a resent file from another one under the same message id

    @property
    def transactions(self) -> int:
        """How many transfers or collections the file carries."""
        return len(self.transfers) + len(self.debits)


@dataclass(frozen=True, slots=True)
class Return:
    """A transfer or collection that came back, and why (ISO 20022 reason code)."""

    end_to_end_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileReceipt:
    """What the bank says about a file it booked."""

    id: str
    kind: str
    message_id: str
    account_iban: str
    transactions: int
    total: Money | None  # None for an empty file (no currency to state it in)
    returns: tuple[Return, ...]


def read_file(xml: bytes) -> ReceivedFile:
    """Read a pain.001 or pain.008 after checking it against its XSD; anything else raises ``SepaFileInvalid``."""
    namespace, message_id = _header(xml)
    digest = hashlib.sha256(xml).hexdigest()
    kind = namespace.rpartition(":")[2]
    if kind.startswith("pain.001."):
        debtor, transfers = read_credit_transfers(xml)
        return ReceivedFile(kind, message_id, _own_iban(debtor), tuple(transfers), (), digest)
    if kind.startswith("pain.008."):
        creditor, debits = read_direct_debits(xml)
        return ReceivedFile(kind, message_id, _own_iban(creditor), (), tuple(debits), digest)
    kind = validate_pain(xml)  # says precisely what is wrong with anything that is not a valid pain file
    raise SepaFileInvalid(f"the bank books credit transfers (pain.001) and direct debits (pain.008), not a {kind}")


def _header(xml: bytes) -> tuple[str, str]:
    """The document's namespace and message id, reading no further than the group header (the readers then check
    the whole file against its XSD); ("", "") when the start of the file is not readable XML."""
    namespace = ""
    try:
        events = etree.iterparse(
            io.BytesIO(xml), events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
        )
        for event, element in events:
            name = etree.QName(element)
            namespace = namespace or (name.namespace or "")
            if event == "end" and name.localname == "MsgId":  # its text is only certain at its end
                return namespace, (element.text or "").strip()
            if name.localname == "PmtInf":
                break
    except etree.LxmlError:
        pass
    return namespace, ""


class Clearing:
    """Books received files and remembers them by account and message id; called under the simulator's lock."""

    def __init__(self, books: Books) -> None:
        self._books = books
        self._received: dict[tuple[str, str], tuple[str, FileReceipt]] = {}

    def earlier(self, received: ReceivedFile) -> FileReceipt | None:
        """The receipt of this very file if it was booked before; another file under its message id is refused."""
        known = self._received.get((received.account_iban, received.message_id))
        if known is None:
            return None
        digest, receipt = known
        if digest != received.digest:
            raise DuplicateFile(
                f"message id {received.message_id!r} was already used by another file from {received.account_iban}",
                param="MsgId",
            )
        return receipt

    def book(self, received: ReceivedFile, at: datetime) -> FileReceipt:
        """Book every transaction of ``received`` (refusing the whole file when its own account cannot send it)."""
        # Every refusal comes before the first booking, so that a refused file leaves no trace.
        known = self._books.find(received.account_iban)
        if known is not None and known.closed:
            raise AccountClosed(f"account {known.iban} is closed: the bank refuses its files", param="iban")
        if received.transfers:
            self._check_funds(received.account_iban, received.transfers)
        own = self._books.open(received.account_iban)
        returns = [
            *(self._transfer(own, transfer, at) for transfer in received.transfers),
            *(self._collect(own, debit, at) for debit in received.debits),
        ]
        amounts = [item.amount for item in received.transfers] + [item.amount for item in received.debits]
        total = sum(amounts[1:], amounts[0]) if amounts and _one_currency(amounts) else None
        receipt = FileReceipt(
            id=f"F{len(self._received) + 1:06d}",
            kind=received.kind,
            message_id=received.message_id,
            account_iban=own.iban,
            transactions=received.transactions,
            total=total,
            returns=tuple(item for item in returns if item is not None),
        )
        self._received[(received.account_iban, received.message_id)] = (received.digest, receipt)
        return receipt

    def _check_funds(self, debtor_iban: str, transfers: tuple[CreditTransfer, ...]) -> None:
        needed: dict[str, int] = {}
        for transfer in transfers:
            needed[transfer.amount.currency] = needed.get(transfer.amount.currency, 0) + transfer.amount.minor
        for currency, minor in sorted(needed.items()):
            holds = self._books.balance_of(debtor_iban, currency)
            if holds.minor < minor:
                raise InsufficientFunds(
                    f"the file transfers {Money(minor, currency)} and {debtor_iban} holds {holds}", param="iban"
                )

    def _transfer(self, debtor: Account, transfer: CreditTransfer, at: datetime) -> Return | None:
        creditor, reason = self._counterpart(transfer.iban, transfer.bic or None, transfer.name)
        seen = Counterparty(transfer.name, transfer.iban)
        e2e, remittance = transfer.end_to_end_id, transfer.remittance
        if creditor is not None and reason is None:
            self._books.move(
                debtor, creditor, transfer.amount, at, end_to_end_id=e2e, remittance=remittance, debit_sees=seen
            )
            return None
        assert reason is not None
        # The debtor's bank sends the money; the creditor's bank cannot credit it and sends it back.
        self._books.move(
            debtor, CLEARING, transfer.amount, at, end_to_end_id=e2e, remittance=remittance, debit_sees=seen
        )
        self._books.move(
            CLEARING,
            debtor,
            transfer.amount,
            at,
            end_to_end_id=e2e,
            remittance=remittance,
            return_reason=reason,
            credit_sees=seen,
        )
        return Return(e2e, reason)

    def _collect(self, creditor: Account, debit: DirectDebit, at: datetime) -> Return | None:
        debtor, reason = self._counterpart(debit.iban, debit.bic, debit.name)
        seen = Counterparty(debit.name, debit.iban)
        e2e, remittance = debit.end_to_end_id, debit.remittance
        if debtor is not None and reason is None:
            self._books.ensure_currency(debtor, debit.amount.currency)
            if debtor.balance(debit.amount.currency) >= debit.amount:
                self._books.move(
                    debtor, creditor, debit.amount, at, end_to_end_id=e2e, remittance=remittance, credit_sees=seen
                )
                return None
            reason = INSUFFICIENT_FUNDS
        assert reason is not None
        # The creditor's bank credits first; the debtor's bank sends the collection back afterwards (R-transaction).
        self._books.move(
            CLEARING, creditor, debit.amount, at, end_to_end_id=e2e, remittance=remittance, credit_sees=seen
        )
        self._books.move(
            creditor,
            CLEARING,
            debit.amount,
            at,
            end_to_end_id=e2e,
            remittance=remittance,
            return_reason=reason,
            debit_sees=seen,
        )
        return Return(e2e, reason)

    def _counterpart(self, iban: str, bic: str | None, name: str) -> tuple[Account | None, str | None]:
        """The other party's account, or why the money cannot reach it."""
        try:
            account = self._books.open(iban, bic=bic, name=name)
        except InvalidIban:
            return None, INCORRECT_ACCOUNT
        return account, CLOSED if account.closed else None


def _own_iban(iban: str) -> str:
    """The file's own account: a wrong IBAN there makes the whole file unbookable."""
    try:
        return normalize_iban(iban)
    except InvalidIban:
        raise SepaFileInvalid(f"the file's own account {iban!r} is not a valid IBAN", param="iban") from None


def _one_currency(amounts: list[Money]) -> bool:
    return len({amount.currency for amount in amounts}) == 1
