"""The card side of the simulated network: the sandbox issuers, plus the scheme settling with the acquirer.

The issuers (``kleline.banks.SandboxIssuers``) answer ISO 8583 and keep their cardholders' balances; they know
nothing of where a captured amount goes. A real scheme settles each day with the acquirer: what was captured is
credited to the acquirer's account, what was refunded is debited. ``CardNetwork.handle`` wraps the issuers' handler,
reads each request and its answer, and books exactly that on the acquirer's IBAN account (Kleline's safeguarding
account by default), so that the card settlement lines Kleline reconciles come from the same authorisations:

- an approved capture advice (0220 → 0230 "00") credits the captured amount, end-to-end id = the RRN (the
  authorisation's id at Kleline);
- an approved refund debits the refunded amount, end-to-end id = the refund's own reference (``re_...``).

Each is booked once: an advice repeated after a lost answer is approved again by the issuer (idempotently), and
must not be settled twice. The other side of the booking is the issuer's scheme account (``card:<issuer BIC>``),
so the simulator's books still balance. The acquirer account has no floor: a scheme debit cannot be refused.

What the network remembers of an RRN (its issuer, the settlements booked under it and its refunds) is forgotten
``retention`` after the last request naming it, exactly as the issuers forget the RRN itself (the same retention,
the same requests, the same time): a long-running ``kleline bank serve`` does not grow without bound, and a repeat
can never be settled twice, since an RRN the network forgot is one the issuers forgot too, and they answer its late
advice "unknown" (25), which settles nothing. Time is the request's own stamp (``handle``'s ``at``), which the
simulator journals, so a replay forgets exactly what the live network forgot.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from kleline.banks.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    CaptureAdvice,
    CaptureResponse,
    RefundRequest,
    RefundResponse,
    Request,
    decode_response,
)
from kleline.banks.network import APPROVAL_CODES
from kleline.banks.sandbox import DEFAULT_RETENTION, SandboxIssuers
from kleline.banksim.books import Account, Books, Counterparty, card_scheme
from kleline.money import Money

__all__ = ["CardNetwork", "UNKNOWN_ISSUER"]

UNKNOWN_ISSUER = "KLSCFRP1"  # a capture the recorder cannot trace back to an issuer (never, unless a bug)


class CardNetwork:
    """The sandbox issuers behind one acquirer; not thread-safe by itself (the simulator serialises calls)."""

    def __init__(
        self, issuers: SandboxIssuers, books: Books, acquirer: Account, *, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        # ``retention`` must not be shorter than the issuers' (theirs by default): forgetting a settlement the issuer
        # still remembers would settle a repeated advice twice.
        if retention <= timedelta(0):
            raise ValueError("the card network's retention must be positive")
        self.issuers = issuers
        self._books = books
        self._acquirer = acquirer
        self._retention = retention
        self._issuer_of: dict[str, tuple[str, str]] = {}  # RRN -> (issuer BIC, issuer name), for approved ones
        self._settled: set[tuple[bool, str]] = set()  # (credit?, end-to-end id) of every settlement booked
        self._settled_under: dict[str, list[tuple[bool, str]]] = {}  # RRN -> its entries in ``_settled``
        # Every RRN remembered above, by the stamp of the last request naming it, the least recent first.
        self._last_seen: OrderedDict[str, datetime] = OrderedDict()

    def handle(self, message: Request, request: bytes, at: datetime) -> tuple[bytes, str]:
        """The issuers' answer to ``request`` (``message`` decoded, ``at`` its stamp), with its response code;
        settles what the answer approves."""
        self._forget_before(at - self._retention)
        answer = self.issuers.handle(request)
        response = decode_response(answer)
        code = response.code
        match message, response:
            case AuthorizationRequest(), AuthorizationResponse() if code in APPROVAL_CODES:
                issuer = self.issuers.issuer_of(message.card.number)
                if issuer is not None:
                    self._issuer_of[message.rrn] = (issuer.bic, issuer.name)
            case CaptureAdvice(), CaptureResponse() if code in APPROVAL_CODES:
                self._settle(message.rrn, message.rrn, message.amount, at, credit=True)
            case RefundRequest(), RefundResponse() if code in APPROVAL_CODES:
                self._settle(message.rrn, message.reference, message.amount, at, credit=False)
        rrn = getattr(message, "rrn", None)
        if rrn is not None and (rrn in self._issuer_of or rrn in self._settled_under):
            self._last_seen[rrn] = at
            self._last_seen.move_to_end(rrn)
        return answer, code

    def settled(self, end_to_end_id: str) -> bool:
        """Whether the scheme has booked a settlement (capture or refund) under ``end_to_end_id`` that it still
        remembers (within the retention)."""
        return (True, end_to_end_id) in self._settled or (False, end_to_end_id) in self._settled

    @property
    def remembered(self) -> int:
        """How many RRNs the network remembers (issuers, settlements): bounded by the retention."""
        return len(self._last_seen)

    def _forget_before(self, horizon: datetime) -> None:
        while self._last_seen:
            rrn, seen = next(iter(self._last_seen.items()))
            if seen > horizon:
                return
            del self._last_seen[rrn]
            self._issuer_of.pop(rrn, None)
            for key in self._settled_under.pop(rrn, ()):
                self._settled.discard(key)

    def _settle(self, rrn: str, end_to_end_id: str, amount: Money, at: datetime, *, credit: bool) -> None:
        if (credit, end_to_end_id) in self._settled:
            return
        self._settled.add((credit, end_to_end_id))
        self._settled_under.setdefault(rrn, []).append((credit, end_to_end_id))
        bic, name = self._issuer_of.get(rrn, (UNKNOWN_ISSUER, "Card scheme"))
        scheme = card_scheme(bic)
        sees = Counterparty(name, None)
        if credit:
            remittance = f"Card settlement {rrn}"
            self._books.move(
                scheme, self._acquirer, amount, at, end_to_end_id=end_to_end_id, remittance=remittance, credit_sees=sees
            )
        else:
            remittance = f"Card refund {end_to_end_id} of {rrn}"
            self._books.move(
                self._acquirer, scheme, amount, at, end_to_end_id=end_to_end_id, remittance=remittance, debit_sees=sees
            )
