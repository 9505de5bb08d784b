"""``IsoBankNetwork``: the ``BankNetwork`` Kleline uses, speaking ISO 8583 over whichever ``Transport`` it is given.

Kleline sits where an acquirer sits: it numbers each request (a trace number, STAN), names each authorisation
(a retrieval reference number, RRN, which is the ``authorization_id`` returned), sends bytes and reads the answer.
Nothing here knows whether the bytes cross a socket or stay in the process, so that the sandbox tests the very code
that will talk to a real link.

The RRN of an authorisation is derived from the caller's ``reference``: a retry after a lost answer reaches the
issuer with the same RRN and gets the first answer back instead of holding the funds twice. A new attempt after a
decline therefore needs a new reference.

Response codes that mean the request broke a rule (unknown authorisation, capture too large, already closed,
unreadable request, reused reference) raise ``BankError``; every other code is a value for the caller to show.

A lost answer (``NoAnswer`` from the transport) to an authorisation is the one case where the issuer may hold funds
that nobody will ever capture or release: the network sends a reversal for its RRN at once and, when that is lost
too, queues it (``kleline.banks.reversals``) for the worker to resend until the issuer acknowledges it. Then the
caller gets ``NoAnswer``, and the payment fails. Lost answers to the other requests need no reversal: a capture,
a reversal and a refund are answered the same when sent again (by RRN and amount, by RRN, by reference), so their
callers resend them.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from typing import Final, NoReturn, TypeVar

from kleline.banks.errors import (
    AuthorizationClosed,
    BankError,
    CaptureExceedsAuthorization,
    DuplicateReference,
    InvalidAmount,
    IssuerUnavailable,
    MalformedMessage,
    NoAnswer,
    RefundRefused,
    UnexpectedResponse,
    UnknownAuthorization,
)
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
    decode_response,
    encode_message,
)
from kleline.banks.network import (
    APPROVAL_CODES,
    Authorization,
    Capture,
    CardDetails,
    CardRefund,
    ResponseCode,
    Reversal,
    Transport,
)
from kleline.banks.reversals import ReversalQueue
from kleline.clock import Clock, system_clock
from kleline.errors import ValidationError
from kleline.money import Money

__all__ = ["IsoBankNetwork"]

_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_RRN: Final = re.compile(r"^[A-Z0-9]{12}$")
_MAX_STAN: Final = 999_999
_MAX_REFERENCE: Final = 99  # a refund's reference travels in a field 48 subelement of at most 99 characters

_log = logging.getLogger(__name__)

_R = TypeVar("_R", bound=Response)


class IsoBankNetwork:
    """The card issuers reached through ISO 8583 messages over ``transport``; safe to share between threads."""

    def __init__(
        self,
        transport: Transport,
        *,
        terminal_id: str = "KLELINE1",
        merchant_id: str = "KLELINE",
        clock: Clock = system_clock,
        reversals: ReversalQueue | None = None,
    ) -> None:
        self._transport = transport
        self._reversals = reversals
        self._terminal_id = terminal_id
        self._merchant_id = merchant_id
        self._clock = clock
        self._stan = 0
        self._stan_lock = threading.Lock()

    @property
    def transport(self) -> Transport:
        """What carries the messages (the in-process sandbox, a TCP link)."""
        return self._transport

    def verify_card(self, card: CardDetails, *, currency: str = "EUR") -> Authorization:
        """Check that a card exists and may be charged, with a zero-amount authorisation that holds nothing."""
        rrn = "".join(secrets.choice(_ALPHABET) for _ in range(12))
        return self._authorize(card, Money.zero(currency), rrn)

    def authorize(
        self, card: CardDetails, amount: Money, reference: str, *, authenticated: bool = False
    ) -> Authorization:
        """Ask the issuer to hold ``amount``; a retry with the same ``reference`` gets the same answer, once held.
        ``authenticated`` says the cardholder passed strong authentication for this payment."""
        if amount.minor <= 0:
            raise InvalidAmount(f"an authorisation is for a positive amount, not {amount}", param="amount")
        if not isinstance(reference, str) or not reference:
            raise ValidationError("an authorisation needs a non-empty reference", param="reference")
        rrn = _rrn_for(reference)
        return self._authorize(card, amount, rrn, authenticated, reverse_if_lost=True)

    def capture(self, authorization_id: str, amount: Money) -> Capture:
        """Take at most the authorised amount; the rest of the hold goes back to the cardholder."""
        if amount.minor <= 0:
            raise InvalidAmount(f"a capture is for a positive amount, not {amount}", param="amount")
        _check_id(authorization_id)
        advice = CaptureAdvice(
            stan=self._next_stan(),
            rrn=authorization_id,
            local_time=self._local_time(),
            amount=amount,
            terminal_id=self._terminal_id,
            merchant_id=self._merchant_id,
        )
        response = self._exchange(advice, CaptureResponse)
        if response.code != ResponseCode.APPROVED:
            _refuse(response.code, authorization_id)
        return Capture(authorization_id=authorization_id, amount=response.amount, code=response.code)

    def reverse(self, authorization_id: str) -> Reversal:
        """Release an authorisation that will not be captured; reversing twice is harmless."""
        _check_id(authorization_id)
        request = ReversalRequest(
            stan=self._next_stan(),
            rrn=authorization_id,
            local_time=self._local_time(),
            terminal_id=self._terminal_id,
            merchant_id=self._merchant_id,
        )
        response = self._exchange(request, ReversalResponse)
        if response.code != ResponseCode.APPROVED:
            _refuse(response.code, authorization_id)
        return Reversal(authorization_id=authorization_id, code=response.code)

    def refund(self, authorization_id: str, amount: Money, reference: str) -> CardRefund:
        """Credit ``amount`` of a captured authorisation back to the cardholder; the same ``reference`` again is
        answered with the first answer, never credited twice."""
        if amount.minor <= 0:
            raise InvalidAmount(f"a refund is for a positive amount, not {amount}", param="amount")
        if not isinstance(reference, str) or not 0 < len(reference) <= _MAX_REFERENCE:
            raise ValidationError(f"a refund needs a reference of 1 to {_MAX_REFERENCE} characters", param="reference")
        _check_id(authorization_id)
        request = RefundRequest(
            stan=self._next_stan(),
            rrn=authorization_id,
            local_time=self._local_time(),
            amount=amount,
            reference=reference,
            terminal_id=self._terminal_id,
            merchant_id=self._merchant_id,
        )
        response = self._exchange(request, RefundResponse)
        if response.reference != reference:
            raise UnexpectedResponse("the refund's answer names another reference")
        if response.code != ResponseCode.APPROVED:
            _refuse_refund(response.code, authorization_id)
        return CardRefund(authorization_id, response.amount, reference, response.code)

    def close(self) -> None:
        """Close the transport's connections, if it keeps any."""
        close = getattr(self._transport, "close", None)
        if callable(close):
            close()

    def _reverse_unanswered(self, rrn: str, stan: str, amount: Money) -> None:
        """Release whatever an unanswered authorisation may hold: a reversal now, or queued for the worker."""
        try:
            self.reverse(rrn)
        except (UnknownAuthorization, AuthorizationClosed):
            return  # the issuer never saw the authorisation (25), or it is closed already: nothing is held
        except BankError as error:
            if self._reversals is None:
                _log.error("authorisation %s got no answer and its reversal failed (%s): nothing queues it", rrn, error)
                return
            reason = "no_answer" if isinstance(error, IssuerUnavailable) else error.code
            self._reversals.enqueue(rrn, reason, stan=stan, amount=amount)

    def echo(self) -> bool:
        """True when the network answers a network-management echo (0800) with approval."""
        response = self._exchange(EchoRequest(stan=self._next_stan(), local_time=self._local_time()), EchoResponse)
        return response.code == ResponseCode.APPROVED

    def _authorize(
        self, card: CardDetails, amount: Money, rrn: str, authenticated: bool = False, *, reverse_if_lost: bool = False
    ) -> Authorization:
        request = AuthorizationRequest(
            stan=self._next_stan(),
            rrn=rrn,
            local_time=self._local_time(),
            card=card,
            amount=amount,
            terminal_id=self._terminal_id,
            merchant_id=self._merchant_id,
            authenticated=authenticated,
        )
        data = encode_message(request)  # a request that cannot be encoded never leaves: nothing to reverse
        try:
            response = self._exchange(request, AuthorizationResponse, data)
        except (NoAnswer, MalformedMessage):
            # The request left and no answer to it could be read (none came, or unreadable bytes, or another
            # request's answer): the issuer may hold the funds.
            if reverse_if_lost:
                self._reverse_unanswered(rrn, request.stan, amount)
            raise
        if response.code == ResponseCode.FORMAT_ERROR:
            raise MalformedMessage("the issuer could not read our authorisation request")
        if response.code == ResponseCode.DUPLICATE_TRANSMISSION:
            raise DuplicateReference("this reference was already used for another card or amount", param="reference")
        approved = response.code in APPROVAL_CODES
        return Authorization(
            approved=approved,
            code=response.code,
            authorization_id=rrn if approved else None,
            requires_sca=response.code == ResponseCode.SCA_REQUIRED,
            amount=response.amount,
            approval_code=response.approval_code if approved else None,
            cvc_result=response.cvc_result,
        )

    def _exchange(self, request: Request, expected: type[_R], data: bytes | None = None) -> _R:
        data = encode_message(request) if data is None else data
        response = decode_response(self._transport.exchange(data))
        if not isinstance(response, expected):
            raise UnexpectedResponse(f"expected a {expected.__name__}, got a {type(response).__name__}")
        if response.stan != request.stan or getattr(response, "rrn", None) != getattr(request, "rrn", None):
            raise UnexpectedResponse("the response's trace number or reference is not the request's")
        return response

    def _next_stan(self) -> str:
        with self._stan_lock:
            self._stan = self._stan % _MAX_STAN + 1
            return f"{self._stan:06d}"

    def _local_time(self) -> str:
        return self._clock().strftime("%H%M%S")


def _rrn_for(reference: str) -> str:
    # 12 base-36 digits of a SHA-256 (62 bits): collisions between references are not a practical concern.
    number = int.from_bytes(hashlib.sha256(reference.encode()).digest()[:8], "big")
    digits = []
    for _ in range(12):
        number, digit = divmod(number, 36)
        digits.append(_ALPHABET[digit])
    return "".join(digits)


def _check_id(authorization_id: str) -> None:
    if not isinstance(authorization_id, str) or not _RRN.match(authorization_id):
        raise UnknownAuthorization(f"no authorisation has the id {authorization_id!r}", param="authorization_id")


def _refuse(code: str, authorization_id: str) -> NoReturn:
    if code == ResponseCode.UNKNOWN_RECORD:
        raise UnknownAuthorization(f"no authorisation has the id {authorization_id!r}", param="authorization_id")
    if code == ResponseCode.INVALID_TRANSACTION:
        raise AuthorizationClosed(f"authorisation {authorization_id} is already reversed or captured")
    if code == ResponseCode.INVALID_AMOUNT:
        raise CaptureExceedsAuthorization(
            f"the capture exceeds authorisation {authorization_id} or is in another currency", param="amount"
        )
    if code == ResponseCode.FORMAT_ERROR:
        raise MalformedMessage("the issuer could not read our request")
    raise BankError(f"the issuer refused the request for {authorization_id} with response code {code}")


def _refuse_refund(code: str, authorization_id: str) -> NoReturn:
    if code == ResponseCode.UNKNOWN_RECORD:
        raise UnknownAuthorization(f"no authorisation has the id {authorization_id!r}", param="authorization_id")
    if code == ResponseCode.INVALID_TRANSACTION:
        raise AuthorizationClosed(f"authorisation {authorization_id} was not captured: there is nothing to refund")
    if code == ResponseCode.DUPLICATE_TRANSMISSION:
        raise DuplicateReference("this refund reference was already used for another refund", param="reference")
    if code == ResponseCode.FORMAT_ERROR:
        raise MalformedMessage("the issuer could not read our refund")
    if code == ResponseCode.INVALID_AMOUNT:
        raise RefundRefused(
            f"the refund exceeds what authorisation {authorization_id} captured and has not refunded, "
            "or is in another currency",
            param="amount",
        )
    raise RefundRefused(f"the issuer refused the refund of {authorization_id} with response code {code}")
