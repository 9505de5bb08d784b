"""The in-process sandbox: simulated card issuers that hold their cardholders' balances, behind ISO 8583 bytes.

Why simulate the issuers rather than stub the answers: "insufficient funds" must come from a balance that earlier
authorisations really consumed, and come back when they are reversed, so that the payment services are tested
against the same bookkeeping a bank does (a hold lowers the available balance; a capture takes at most the held
amount and releases the rest; a reversal releases it all; a refund credits back at most what was captured).

Routing is by card range (BIN), and the public test cards behave as everywhere (``kleline.banks.cardholders``).

The issuers see only bytes (``handle``), exactly as a TCP server will hand them over. The rules here are pure: each
request reads and changes the issuers' records through the books of one session of a ``SandboxStore``
(``kleline.banks.sandbox_books``), which runs requests one at a time and keeps all of a request's changes or none,
so concurrent authorisations never overdraw an account. Where the records live is the store's business: in memory
(the default here, for the bank simulator, which journals every request, and for tests), or in Kleline's database
(``DatabaseSandboxStore``, what ``KLELINE_BANK_URL=sandbox:`` uses), where they survive a restart and every
Kleline process on the database shares them. A security code is checked and forgotten.

Repeats are answered as a real network answers them, because Kleline resends after a lost answer: an authorisation
with a known RRN gets its first answer, a refund with a known reference is credited once. A reversal may also
overtake the authorisation it cancels (the acquirer timed out while the authorisation was still on its way): the
issuer then remembers the RRN, and the late authorisation is refused (12) instead of holding funds nobody will
release.

What the issuers remember of an RRN (its answer, its authorisation, its refunds, an early reversal) is forgotten
``retention`` after the last request that named it (30 days by default: about the longest a scheme lets a hold
last, well past Kleline's own 7-day expiry), so that a long-running sandbox does not grow without bound. An
authorisation still open then lapses as a real hold does: its funds become available again, and a late capture or
reversal is answered "unknown" (25). Cardholders' accounts are kept: there are as many as cards used, not payments.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from stdnum import luhn

from kleline.banks.cardholders import (
    DEFAULT_BALANCE,
    DEFAULT_ISSUERS,
    TEST_CARDS,
    BinRange,
    CardholderAccount,
    CardholderBalance,
    CardProfile,
    SandboxIssuer,
)
from kleline.banks.errors import InvalidCardDetails
from kleline.banks.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    CaptureAdvice,
    CaptureResponse,
    EchoRequest,
    EchoResponse,
    RefundRequest,
    RefundResponse,
    Request,
    Response,
    ReversalRequest,
    ReversalResponse,
    decode_request,
    encode_message,
)
from kleline.banks.network import CvcResult, ResponseCode
from kleline.banks.sandbox_books import (
    AuthorizationState,
    MemorySandboxStore,
    RrnRecord,
    SandboxAnswer,
    SandboxAuthorization,
    SandboxBooks,
    SandboxRefund,
    SandboxStore,
)
from kleline.clock import Clock, system_clock
from kleline.money import Money

__all__ = [
    "DEFAULT_ISSUERS",
    "DEFAULT_RETENTION",
    "TEST_CARDS",
    "BinRange",
    "CardholderBalance",
    "CardProfile",
    "InProcessTransport",
    "SandboxIssuer",
    "SandboxIssuers",
]

DEFAULT_RETENTION: Final = timedelta(days=30)
_CODE_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_OPEN, _CAPTURED, _REVERSED = AuthorizationState.OPEN, AuthorizationState.CAPTURED, AuthorizationState.REVERSED


class SandboxIssuers:
    """The simulated issuers and their cardholders, answering ISO 8583 requests; safe to share between threads (and,
    on a shared store, between processes)."""

    def __init__(
        self,
        issuers: tuple[SandboxIssuer, ...] = DEFAULT_ISSUERS,
        *,
        test_cards: Mapping[str, CardProfile] = TEST_CARDS,
        default_balance: int = DEFAULT_BALANCE,
        clock: Clock = system_clock,
        approval_code: Callable[[str], str] | None = None,
        retention: timedelta = DEFAULT_RETENTION,
        store: SandboxStore | None = None,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError("the sandbox's retention must be positive")
        # ``approval_code(rrn)``: the approval code of an approved authorisation (default: random). A journaled
        # simulator makes it a function of the RRN, so that a replay gives the very codes it answered.
        self._approval_code = approval_code or _random_approval_code
        self._issuers = issuers
        self._test_cards = dict(test_cards)
        self._default_balance = default_balance
        self._clock = clock
        self._retention = retention
        self.store: SandboxStore = MemorySandboxStore() if store is None else store

    def handle(self, request: bytes) -> bytes:
        """Answer one encoded request with one encoded response; malformed bytes raise ``MalformedMessage``."""
        message = decode_request(request)
        if isinstance(message, EchoRequest):  # reads and changes nothing
            return encode_message(EchoResponse(stan=message.stan, code=ResponseCode.APPROVED.value))
        with self.store.session() as books:
            now = self._clock()
            for stale in books.stale(now - self._retention):
                self._forget(books, stale)
            response = self._answer(books, message, now)
            record = books.record(message.rrn)
            if record is not None:
                record.last_seen = now
        return encode_message(response)

    @property
    def remembered(self) -> int:
        """How many RRNs the issuers remember (answers, authorisations, early reversals): bounded by the retention."""
        return self.store.remembered()

    def issuer_of(self, number: str) -> SandboxIssuer | None:
        """The issuer whose ranges hold card ``number``, or None when no sandbox bank issues it."""
        return next((issuer for issuer in self._issuers if any(number in r for r in issuer.ranges)), None)

    def balance(self, number: str, currency: str) -> CardholderBalance:
        """A cardholder's balance in ``currency``, as the issuer's books read now."""
        with self.store.session() as books:
            return self._account(books, number).balance(currency)

    def set_balance(self, number: str, balance: Money) -> None:
        """Set a cardholder's posted balance in one currency (open authorisations stay held against it)."""
        with self.store.session() as books:
            self._account(books, number).posted[balance.currency] = balance.minor

    def _profile(self, number: str) -> CardProfile:
        return self._test_cards.get(number, CardProfile())

    def _account(self, books: SandboxBooks, number: str) -> CardholderAccount:
        key = books.card_key(number)
        account = books.account(key)
        if account is None:
            if self.issuer_of(number) is None or not luhn.is_valid(number):
                raise InvalidCardDetails("no sandbox issuer has a cardholder with this number", param="number")
            profile = self._profile(number)
            account = CardholderAccount(self._default_balance if profile.balance is None else profile.balance)
            books.open_account(key, account)
        return account

    def _forget(self, books: SandboxBooks, record: RrnRecord) -> None:
        held = record.authorization
        if held is not None and held.state is _OPEN:
            account = books.account(held.account)
            if account is not None:
                account.hold(held.amount, -1)  # the hold lapses
        books.forget(record.rrn)

    def _answer(self, books: SandboxBooks, message: Request, now: datetime) -> Response:
        match message:
            case AuthorizationRequest():
                return self._authorize(books, message, now)
            case CaptureAdvice():
                code = self._capture(books, message)
                return CaptureResponse(stan=message.stan, rrn=message.rrn, amount=message.amount, code=code)
            case ReversalRequest():
                code = self._reverse(books, message.rrn, now)
                return ReversalResponse(stan=message.stan, rrn=message.rrn, code=code)
            case RefundRequest():
                code = self._refund(books, message)
                return RefundResponse(message.stan, message.rrn, message.amount, message.reference, code)
            case EchoRequest():
                return EchoResponse(stan=message.stan, code=ResponseCode.APPROVED.value)

    def _authorize(self, books: SandboxBooks, request: AuthorizationRequest, now: datetime) -> AuthorizationResponse:
        card = books.card_key(request.card.number)
        record = books.record(request.rrn)
        earlier = None if record is None else record.answer
        if earlier is not None:
            if (earlier.card, earlier.amount) != (card, request.amount):
                return AuthorizationResponse(
                    request.stan, request.rrn, request.amount, ResponseCode.DUPLICATE_TRANSMISSION.value
                )
            return AuthorizationResponse(
                request.stan, request.rrn, request.amount, earlier.code, earlier.approval_code, earlier.cvc_result
            )
        if record is not None and record.reversed_early:
            code, cvc_result = ResponseCode.INVALID_TRANSACTION.value, CvcResult.NOT_CHECKED
        else:
            code, cvc_result = self._verdict(books, request)
        if record is None:
            record = RrnRecord(request.rrn, now)
            books.add_record(record)
        approval_code = None
        if code == ResponseCode.APPROVED:
            approval_code = self._approval_code(request.rrn)
            self._account(books, request.card.number).hold(request.amount, +1)
            record.authorization = SandboxAuthorization(card, request.amount)
        record.answer = SandboxAnswer(card, request.amount, code, approval_code, cvc_result)
        return AuthorizationResponse(request.stan, request.rrn, request.amount, code, approval_code, cvc_result)

    def _verdict(self, books: SandboxBooks, request: AuthorizationRequest) -> tuple[str, CvcResult]:
        card = request.card
        if self.issuer_of(card.number) is None:
            return ResponseCode.NO_SUCH_ISSUER.value, CvcResult.NOT_CHECKED
        if not luhn.is_valid(card.number):
            return ResponseCode.INVALID_CARD_NUMBER.value, CvcResult.NOT_CHECKED
        account, profile = self._account(books, card.number), self._profile(card.number)
        today = self._clock().date()
        # A card is valid to the last day of its expiry month.
        if profile.expired or (card.exp_year, card.exp_month) < (today.year, today.month):
            return ResponseCode.EXPIRED_CARD.value, CvcResult.NOT_CHECKED
        cvc_result = CvcResult.NOT_CHECKED
        if card.cvc is not None:
            cvc_result = CvcResult.NO_MATCH if profile.cvc_fails else CvcResult.MATCH
        if cvc_result is CvcResult.NO_MATCH:
            return ResponseCode.CVC_FAILED.value, cvc_result
        if profile.requires_sca and not request.authenticated:
            return ResponseCode.SCA_REQUIRED.value, cvc_result
        if profile.declines:
            return ResponseCode.DO_NOT_HONOUR.value, cvc_result
        if request.amount > account.balance(request.amount.currency).available:
            return ResponseCode.INSUFFICIENT_FUNDS.value, cvc_result
        return ResponseCode.APPROVED.value, cvc_result

    def _held(self, books: SandboxBooks, rrn: str) -> tuple[SandboxAuthorization, CardholderAccount] | None:
        record = books.record(rrn)
        held = None if record is None else record.authorization
        account = None if held is None else books.account(held.account)
        return None if held is None or account is None else (held, account)

    def _capture(self, books: SandboxBooks, advice: CaptureAdvice) -> str:
        found = self._held(books, advice.rrn)
        if found is None:
            return ResponseCode.UNKNOWN_RECORD.value
        held, account = found
        if held.state is _CAPTURED and held.captured == advice.amount:
            return ResponseCode.APPROVED.value  # the same advice again: already done
        if held.state is not _OPEN:
            return ResponseCode.INVALID_TRANSACTION.value
        if advice.amount.currency != held.amount.currency or not 0 < advice.amount.minor <= held.amount.minor:
            return ResponseCode.INVALID_AMOUNT.value
        account.hold(held.amount, -1)
        account.posted[advice.amount.currency] -= advice.amount.minor
        held.state, held.captured = _CAPTURED, advice.amount
        return ResponseCode.APPROVED.value

    def _reverse(self, books: SandboxBooks, rrn: str, now: datetime) -> str:
        found = self._held(books, rrn)
        if found is None:
            if books.record(rrn) is None:
                books.add_record(RrnRecord(rrn, now, reversed_early=True))
            return ResponseCode.UNKNOWN_RECORD.value
        held, account = found
        if held.state is _CAPTURED:
            return ResponseCode.INVALID_TRANSACTION.value
        if held.state is _OPEN:
            account.hold(held.amount, -1)
            held.state = _REVERSED
        return ResponseCode.APPROVED.value

    def _refund(self, books: SandboxBooks, request: RefundRequest) -> str:
        earlier = books.refund(request.reference)
        if earlier is not None:
            same = (earlier.rrn, earlier.amount) == (request.rrn, request.amount)
            return ResponseCode.APPROVED.value if same else ResponseCode.DUPLICATE_TRANSMISSION.value
        found = self._held(books, request.rrn)
        if found is None:
            return ResponseCode.UNKNOWN_RECORD.value
        held, account = found
        if held.state is not _CAPTURED or held.captured is None:
            return ResponseCode.INVALID_TRANSACTION.value
        amount = request.amount
        if amount.currency != held.captured.currency or not 0 < amount.minor <= held.captured.minor - held.refunded:
            return ResponseCode.INVALID_AMOUNT.value
        held.refunded += amount.minor
        account.posted[amount.currency] = account.balance(amount.currency).posted.minor + amount.minor
        books.add_refund(SandboxRefund(request.reference, request.rrn, amount))
        return ResponseCode.APPROVED.value


def _random_approval_code(_rrn: str) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


class InProcessTransport:
    """A ``Transport`` that hands the bytes straight to the sandbox issuers, in the caller's thread."""

    def __init__(self, issuers: SandboxIssuers) -> None:
        self.issuers = issuers

    def exchange(self, request: bytes) -> bytes:
        """Send ``request`` to the sandbox issuers and return their response bytes."""
        return self.issuers.handle(bytes(request))
