"""The in-process sandbox: simulated card issuers that hold their cardholders' balances, behind ISO 8583 bytes.

Why simulate the issuers rather than stub the answers: "insufficient funds" must come from a balance that earlier
authorisations really consumed, and come back when they are reversed, so that the payment services are tested
against the same bookkeeping a bank does (a hold lowers the available balance; a capture takes at most the held
amount and releases the rest; a reversal releases it all; a refund credits back at most what was captured).

Routing is by card range (BIN), and the public test cards behave as everywhere (``kleline.banks.cardholders``).

The issuers see only bytes (``handle``), exactly as a TCP server will hand them over; one lock serialises their
books, so concurrent authorisations never overdraw an account. A security code is checked and forgotten.

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

import dataclasses
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
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


class _State(StrEnum):
    OPEN = "open"
    CAPTURED = "captured"
    REVERSED = "reversed"


@dataclass(slots=True)
class _Authorization:
    account: CardholderAccount
    amount: Money
    state: _State = _State.OPEN
    captured: Money | None = None
    refunded: int = 0
    references: list[str] = field(default_factory=list)  # of its refunds, forgotten with it


class SandboxIssuers:
    """The simulated issuers and their cardholders, answering ISO 8583 requests; safe to share between threads."""

    def __init__(
        self,
        issuers: tuple[SandboxIssuer, ...] = DEFAULT_ISSUERS,
        *,
        test_cards: Mapping[str, CardProfile] = TEST_CARDS,
        default_balance: int = DEFAULT_BALANCE,
        clock: Clock = system_clock,
        approval_code: Callable[[str], str] | None = None,
        retention: timedelta = DEFAULT_RETENTION,
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
        self._lock = threading.Lock()
        self._accounts: dict[str, CardholderAccount] = {}
        self._authorizations: dict[str, _Authorization] = {}
        # Every authorisation answer by RRN, so that a retried request gets the first answer (no second hold).
        self._answers: dict[str, tuple[tuple[str, Money], AuthorizationResponse]] = {}
        # Refunds credited, by reference: a repeat is answered without crediting again.
        self._refunds: dict[str, tuple[str, Money]] = {}
        # Reversals that arrived before their authorisation: it is refused when it comes.
        self._reversed_early: set[str] = set()
        # Every RRN remembered above, by the time of the last request naming it, the least recent first.
        self._retention = retention
        self._last_seen: OrderedDict[str, datetime] = OrderedDict()

    def handle(self, request: bytes) -> bytes:
        """Answer one encoded request with one encoded response; malformed bytes raise ``MalformedMessage``."""
        message = decode_request(request)
        with self._lock:
            now = self._clock()
            self._forget_before(now - self._retention)
            response = self._answer(message)
            rrn = getattr(message, "rrn", None)
            if rrn is not None and (rrn in self._answers or rrn in self._reversed_early):
                self._last_seen[rrn] = now
                self._last_seen.move_to_end(rrn)
        return encode_message(response)

    @property
    def remembered(self) -> int:
        """How many RRNs the issuers remember (answers, authorisations, early reversals): bounded by the retention."""
        with self._lock:
            return len(self._last_seen)

    def issuer_of(self, number: str) -> SandboxIssuer | None:
        """The issuer whose ranges hold card ``number``, or None when no sandbox bank issues it."""
        return next((issuer for issuer in self._issuers if any(number in r for r in issuer.ranges)), None)

    def balance(self, number: str, currency: str) -> CardholderBalance:
        """A cardholder's balance in ``currency``, as the issuer's books read now."""
        with self._lock:
            return self._account(number).balance(currency)

    def set_balance(self, number: str, balance: Money) -> None:
        """Set a cardholder's posted balance in one currency (open authorisations stay held against it)."""
        with self._lock:
            self._account(number).posted[balance.currency] = balance.minor

    def _account(self, number: str) -> CardholderAccount:
        account = self._accounts.get(number)
        if account is None:
            if self.issuer_of(number) is None or not luhn.is_valid(number):
                raise InvalidCardDetails("no sandbox issuer has a cardholder with this number", param="number")
            profile = self._test_cards.get(number, CardProfile())
            opening = self._default_balance if profile.balance is None else profile.balance
            account = self._accounts[number] = CardholderAccount(profile, opening)
        return account

    def _forget_before(self, horizon: datetime) -> None:
        while self._last_seen:
            rrn, seen = next(iter(self._last_seen.items()))
            if seen > horizon:
                return
            del self._last_seen[rrn]
            self._answers.pop(rrn, None)
            self._reversed_early.discard(rrn)
            record = self._authorizations.pop(rrn, None)
            if record is not None:
                if record.state is _State.OPEN:
                    record.account.hold(record.amount, -1)  # the hold lapses
                for reference in record.references:
                    self._refunds.pop(reference, None)

    def _answer(self, message: Request) -> Response:
        match message:
            case AuthorizationRequest():
                return self._authorize(message)
            case CaptureAdvice():
                code = self._capture(message)
                return CaptureResponse(stan=message.stan, rrn=message.rrn, amount=message.amount, code=code)
            case ReversalRequest():
                return ReversalResponse(stan=message.stan, rrn=message.rrn, code=self._reverse(message.rrn))
            case RefundRequest():
                code = self._refund(message)
                return RefundResponse(message.stan, message.rrn, message.amount, message.reference, code)
            case EchoRequest():
                return EchoResponse(stan=message.stan, code=ResponseCode.APPROVED.value)

    def _authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        fingerprint = (request.card.number, request.amount)
        earlier = self._answers.get(request.rrn)
        if earlier is not None:
            if earlier[0] != fingerprint:
                return AuthorizationResponse(
                    request.stan, request.rrn, request.amount, ResponseCode.DUPLICATE_TRANSMISSION.value
                )
            return dataclasses.replace(earlier[1], stan=request.stan)
        if request.rrn in self._reversed_early:
            code, cvc_result = ResponseCode.INVALID_TRANSACTION.value, CvcResult.NOT_CHECKED
        else:
            code, cvc_result = self._verdict(request)
        approval_code = None
        if code == ResponseCode.APPROVED:
            approval_code = self._approval_code(request.rrn)
            account = self._accounts[request.card.number]
            account.hold(request.amount, +1)
            self._authorizations[request.rrn] = _Authorization(account, request.amount)
        answer = AuthorizationResponse(request.stan, request.rrn, request.amount, code, approval_code, cvc_result)
        self._answers[request.rrn] = (fingerprint, answer)
        return answer

    def _verdict(self, request: AuthorizationRequest) -> tuple[str, CvcResult]:
        card = request.card
        if self.issuer_of(card.number) is None:
            return ResponseCode.NO_SUCH_ISSUER.value, CvcResult.NOT_CHECKED
        if not luhn.is_valid(card.number):
            return ResponseCode.INVALID_CARD_NUMBER.value, CvcResult.NOT_CHECKED
        account = self._account(card.number)
        today = self._clock().date()
        # A card is valid to the last day of its expiry month.
        if account.profile.expired or (card.exp_year, card.exp_month) < (today.year, today.month):
            return ResponseCode.EXPIRED_CARD.value, CvcResult.NOT_CHECKED
        cvc_result = CvcResult.NOT_CHECKED
        if card.cvc is not None:
            cvc_result = CvcResult.NO_MATCH if account.profile.cvc_fails else CvcResult.MATCH
        if cvc_result is CvcResult.NO_MATCH:
            return ResponseCode.CVC_FAILED.value, cvc_result
        if account.profile.requires_sca and not request.authenticated:
            return ResponseCode.SCA_REQUIRED.value, cvc_result
        if account.profile.declines:
            return ResponseCode.DO_NOT_HONOUR.value, cvc_result
        if request.amount > account.balance(request.amount.currency).available:
            return ResponseCode.INSUFFICIENT_FUNDS.value, cvc_result
        return ResponseCode.APPROVED.value, cvc_result

    def _capture(self, advice: CaptureAdvice) -> str:
        record = self._authorizations.get(advice.rrn)
        if record is None:
            return ResponseCode.UNKNOWN_RECORD.value
        if record.state is _State.CAPTURED and record.captured == advice.amount:
            return ResponseCode.APPROVED.value  # the same advice again: already done
        if record.state is not _State.OPEN:
            return ResponseCode.INVALID_TRANSACTION.value
        if advice.amount.currency != record.amount.currency or not 0 < advice.amount.minor <= record.amount.minor:
            return ResponseCode.INVALID_AMOUNT.value
        record.account.hold(record.amount, -1)
        record.account.posted[advice.amount.currency] -= advice.amount.minor
        record.state, record.captured = _State.CAPTURED, advice.amount
        return ResponseCode.APPROVED.value

    def _reverse(self, rrn: str) -> str:
        record = self._authorizations.get(rrn)
        if record is None:
            if rrn not in self._answers:
                self._reversed_early.add(rrn)
            return ResponseCode.UNKNOWN_RECORD.value
        if record.state is _State.CAPTURED:
            return ResponseCode.INVALID_TRANSACTION.value
        if record.state is _State.OPEN:
            record.account.hold(record.amount, -1)
            record.state = _State.REVERSED
        return ResponseCode.APPROVED.value

    def _refund(self, request: RefundRequest) -> str:
        earlier = self._refunds.get(request.reference)
        if earlier is not None:
            same = earlier == (request.rrn, request.amount)
            return ResponseCode.APPROVED.value if same else ResponseCode.DUPLICATE_TRANSMISSION.value
        record = self._authorizations.get(request.rrn)
        if record is None:
            return ResponseCode.UNKNOWN_RECORD.value
        if record.state is not _State.CAPTURED or record.captured is None:
            return ResponseCode.INVALID_TRANSACTION.value
        amount = request.amount
        if (
            amount.currency != record.captured.currency
            or not 0 < amount.minor <= record.captured.minor - record.refunded
        ):
            return ResponseCode.INVALID_AMOUNT.value
        record.refunded += amount.minor
        record.account.posted[amount.currency] = record.account.balance(amount.currency).posted.minor + amount.minor
        self._refunds[request.reference] = (request.rrn, amount)
        record.references.append(request.reference)
        return ResponseCode.APPROVED.value


def _random_approval_code(_rrn: str) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(6))


class InProcessTransport:
    """A ``Transport`` that hands the bytes straight to the sandbox issuers, in the caller's thread."""

    def __init__(self, issuers: SandboxIssuers) -> None:
        self._issuers = issuers

    def exchange(self, request: bytes) -> bytes:
        """Send ``request`` to the sandbox issuers and return their response bytes."""
        return self._issuers.handle(bytes(request))
