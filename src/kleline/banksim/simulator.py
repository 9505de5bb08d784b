"""``BankSimulator``: the whole simulated network in one object, behind one lock, journaled.

It joins the card issuers (ISO 8583 bytes in and out, ``handle``), the banks' books (pain files in, ``receive_file``;
camt.053 statements out, ``close_statement``) and the test set-up calls (account balances, closed accounts,
cardholder balances). Every call that changes something runs under one lock, is appended to the journal in the
order it was applied, and is synced before the caller gets its answer: the journal replays to the same state, the
same entry references and the same statements after a crash. A call refused for bad input changes nothing and is
not journaled. What a record holds, and how a replay reads it back, is ``banksim.records``' story.

Time: each request is stamped once, under the lock, and everything it books (booking dates, a card's expiry check,
a statement's creation time) reads that stamp, which the journal keeps; a replay reads the same stamps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from kleline.banks.messages import EchoRequest, Request, decode_request
from kleline.banks.sandbox import CardholderBalance, SandboxIssuers
from kleline.banksim import records
from kleline.banksim.books import OPENING_UNITS, Books, normalize_iban
from kleline.banksim.cards import CardNetwork
from kleline.banksim.clearing import Clearing, FileReceipt, ReceivedFile, read_file
from kleline.banksim.errors import JournalUnreadable, SimulatorClosed
from kleline.banksim.journal import Journal
from kleline.banksim.statements import IssuedStatement, Statements
from kleline.clock import Clock, epoch_us, from_epoch_us, system_clock
from kleline.config import DEVELOPMENT_SAFEGUARDING_IBAN
from kleline.errors import KlelineError
from kleline.money import Money

__all__ = ["AccountView", "BankSimulator"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class AccountView:
    """An IBAN account as the admin interface shows it, in one currency."""

    iban: str
    bic: str | None  # None: not opened yet (it will be at its IBAN's bank on first use)
    name: str | None
    balance: Money
    closed: bool
    statements: int


class BankSimulator:
    """The simulated banks and card issuers; safe to share between threads (ISO 8583 connections, HTTP requests)."""

    def __init__(
        self,
        *,
        acquirer_iban: str = DEVELOPMENT_SAFEGUARDING_IBAN,
        acquirer_name: str = "Kleline SAS",
        state_dir: Path | None = None,
        clock: Clock = system_clock,
        latency_seconds: float = 0.0,
        opening_units: int = OPENING_UNITS,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._latency = latency_seconds
        self._now = clock()
        self._books = Books(opening_units)
        self.acquirer_iban = normalize_iban(acquirer_iban)
        acquirer = self._books.open(self.acquirer_iban, name=acquirer_name)
        issuers = SandboxIssuers(clock=lambda: self._now, approval_code=records.approval_code)
        self._cards = CardNetwork(issuers, self._books, acquirer)
        self._clearing = Clearing(self._books)
        self._statements = Statements(self._books)
        self._journal: Journal | None = None
        self._replaying: Journal | None = None  # the journal being replayed, which opens its sealed card numbers
        self._closed = False
        if state_dir is not None:
            header = {"acquirer_iban": self.acquirer_iban, "acquirer_name": acquirer_name, "opening": opening_units}
            journal = self._replaying = Journal(state_dir, header)
            try:
                self._replay(journal.records)
            except BaseException:
                journal.close()
                raise
            finally:
                self._replaying = None
            journal.records = []
            self._journal = journal

    # -- the card network ---------------------------------------------------------------------------------------------

    def handle(self, request: bytes) -> bytes:
        """Answer one ISO 8583 request (the ``Iso8583Server`` handler); malformed bytes raise ``MalformedMessage``."""
        message = decode_request(request)
        if isinstance(message, EchoRequest):  # changes nothing: neither journaled nor delayed
            return self._cards.issuers.handle(request)
        with self._lock:
            at = self._stamp()
            journaled = self._journaled(message)  # sealed first: a key that cannot be made changes nothing
            answer, code = self._cards.handle(message, request, at)
            self._append(at, {"op": "iso8583", **journaled, "code": code})
        self._sync()
        if self._latency:
            time.sleep(self._latency)  # after the books and the journal: a kill now loses the answer, not the hold
        return answer

    def card_balance(self, number: str, currency: str) -> CardholderBalance:
        """A cardholder's balance at its issuer (``InvalidCardDetails`` for a number no sandbox issuer has)."""
        with self._lock:
            return self._cards.issuers.balance(number, currency)

    def set_card_balance(self, number: str, balance: Money) -> CardholderBalance:
        """Set a cardholder's posted balance (test set-up: "insufficient funds" on demand)."""
        with self._lock:
            at = self._stamp()
            sealed = None if self._journal is None else self._journal.seal(number)  # before anything changes
            self._cards.issuers.set_balance(number, balance)
            if sealed is not None:
                record = {"op": "card_balance", "pan": sealed, "minor": balance.minor, "currency": balance.currency}
                self._append(at, record)
            result = self._cards.issuers.balance(number, balance.currency)
        self._sync()
        return result

    # -- the banks ----------------------------------------------------------------------------------------------------

    def receive_file(self, xml: bytes) -> tuple[FileReceipt, bool]:
        """Book a pain.001 or pain.008 file; the receipt, and False when the very same file was booked before."""
        received = read_file(xml)  # the XSD check, outside the lock: it is the slow part
        with self._lock:
            receipt = self._book(received, xml)
        self._sync()
        return receipt

    def close_statement(self, iban: str, currency: str = "EUR") -> IssuedStatement:
        """Issue the statement of everything booked on ``iban`` in ``currency`` since its previous one."""
        iban = normalize_iban(iban)
        with self._lock:
            at = self._stamp()
            issued = self._statements.close_period(self._books.open(iban), currency, at)
            self._append(at, {"op": "statement", "iban": iban, "currency": currency})
        self._sync()
        return issued

    def statement(self, iban: str, sequence: int, currency: str = "EUR") -> IssuedStatement:
        """Statement number ``sequence`` of ``iban``, as issued."""
        iban = normalize_iban(iban)
        with self._lock:
            return self._statements.get(iban, currency, sequence)

    def account(self, iban: str, currency: str = "EUR") -> AccountView:
        """An account's balance and state, opening nothing."""
        iban = normalize_iban(iban)
        with self._lock:
            found = self._books.find(iban)
            return AccountView(
                iban=iban,
                bic=found.bic if found else None,
                name=found.name if found else None,
                balance=self._books.balance_of(iban, currency),
                closed=found.closed if found else False,
                statements=self._statements.count(iban, currency),
            )

    def update_account(
        self, iban: str, *, balance: Money | None = None, closed: bool | None = None, currency: str = "EUR"
    ) -> AccountView:
        """Set an account's balance (booked as an adjustment line) and/or close or reopen it (test set-up); the
        account as it is then, in the balance's currency (else ``currency``)."""
        iban = normalize_iban(iban)
        with self._lock:
            at = self._stamp()
            self._update(iban, balance, closed, at)
            record: dict[str, Any] = {"op": "account", "iban": iban, "closed": closed}
            if balance is not None:
                record |= {"minor": balance.minor, "currency": balance.currency}
            self._append(at, record)
            view = self.account(iban, balance.currency if balance is not None else currency)
        self._sync()
        return view

    def trial_balance(self) -> dict[str, Money]:
        """The sum of every balance in the simulated books, per currency: zero when they balance."""
        with self._lock:
            return self._books.trial_balance()

    def banks(self) -> dict[str, tuple[str, ...]]:
        """Each simulated bank's BIC and its accounts' IBANs."""
        with self._lock:
            return self._books.banks()

    def close(self) -> None:
        """Sync and release the journal; any later request that would change something is refused."""
        with self._lock:
            self._closed = True
            if self._journal is not None:
                self._journal.close()
                self._journal = None

    # -- inside -------------------------------------------------------------------------------------------------------

    def _book(self, received: ReceivedFile, xml: bytes) -> tuple[FileReceipt, bool]:
        earlier = self._clearing.earlier(received)
        if earlier is not None:
            return earlier, False
        at = self._stamp()
        receipt = self._clearing.book(received, at)
        self._append(at, {"op": "file", "xml": records.b64(xml)})
        return receipt, True

    def _update(self, iban: str, balance: Money | None, closed: bool | None, at: datetime) -> None:
        account = self._books.open(iban)
        if balance is not None:
            self._books.set_balance(account, balance, at)
        if closed is not None:
            account.closed = closed

    def _stamp(self) -> datetime:
        """The time of the request being applied (called under the lock, before anything changes)."""
        if self._closed:
            # A connection thread may outlive the servers by a moment: nothing may change unjournaled.
            raise SimulatorClosed("the simulator is shutting down")
        self._now = self._clock()
        return self._now

    def _append(self, at: datetime, record: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.append({"at": epoch_us(at), **record})

    def _sync(self) -> None:
        journal = self._journal
        if journal is not None:
            journal.sync()

    def _replay(self, records: list[dict[str, Any]]) -> None:
        for number, record in enumerate(records, start=2):  # line 1 is the header
            try:
                self._now = from_epoch_us(record["at"])
                self._replay_one(record)
            except (KlelineError, KeyError, TypeError, ValueError) as error:
                raise JournalUnreadable(
                    f"journal line {number} ({record.get('op', '?')}) does not replay: {type(error).__name__}: {error}"
                ) from None

    def _replay_one(self, record: dict[str, Any]) -> None:
        at, op = self._now, record["op"]
        replays: dict[str, Callable[[], object]] = {
            "iso8583": lambda: self._replay_card(record, at),
            "file": lambda: self._clearing.book(read_file(records.unb64(record["xml"])), at),
            "statement": lambda: self._statements.close_period(
                self._books.open(record["iban"]), record["currency"], at
            ),
            "account": lambda: self._update(record["iban"], records.money(record), record["closed"], at),
            "card_balance": lambda: self._cards.issuers.set_balance(
                self._number(record), records.money_required(record)
            ),
        }
        if op not in replays:
            raise ValueError(f"unknown operation {op!r}")
        replays[op]()

    def _journaled(self, message: Request) -> dict[str, str]:
        """The request as the journal keeps it (``records.card_record``: no security code, the card number sealed)."""
        return {} if self._journal is None else records.card_record(message, self._journal.seal)

    def _number(self, record: dict[str, Any]) -> str:
        """The card number of a journal line: sealed (``pan``), or in clear in lines written before sealing."""
        if "pan" not in record:
            return str(record["number"])
        if self._replaying is None:
            raise ValueError("a sealed card number outside a replay")
        return self._replaying.unseal(record["pan"])

    def _replay_card(self, record: dict[str, Any], at: datetime) -> None:
        request = records.card_request(record, self._number)
        _answer, code = self._cards.handle(decode_request(request), request, at)
        if code != record["code"]:
            raise ValueError(f"the issuers answer {code} where they answered {record['code']}")
