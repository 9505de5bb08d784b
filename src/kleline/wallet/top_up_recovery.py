"""Recovering card top-ups left ``pending``, for the worker's ``wallet.resume_pending_top_ups`` sweep.

A card top-up stays ``pending`` when its process died between the issuer and the books, or when its capture and
the reversal sent after it both went unanswered. The money may then be taken from the card while the purse is not
credited, and the pending amount keeps counting against the customer's limits. The sweep asks the issuer again,
under the top-up's own references, with the one question that both tells and settles what happened: a reversal of
the authorisation.

- Refused as already captured (``AuthorizationClosed``): the money was taken, so the purse is credited
  (``TopUps.credit``: entry id = top-up id, posted with the status change under the customer's and the top-up's
  row locks, so only whoever comes first posts).
- Released, or unknown to the issuer: nothing was taken and now nothing can be; the top-up fails (``interrupted``)
  and the books do not move.
- No answer: the top-up stays ``pending``, and the next pass asks again.

A top-up whose authorisation id was never recorded (the process died between the issuer's approval and the record,
so nothing was captured) is first authorised again under the same reference: the issuer answers a repeat with its
first answer, which names the authorisation without holding the funds twice; then the reversal releases it.

Every step repeats safely (a repeated authorisation or reversal is answered as the first was, and a top-up ends
once), so two workers, or a worker and a request that is merely slow, may meet on one top-up: the purse is
credited once at most. The grace period keeps the sweep off requests still running; a slow one that loses the race
ends as the sweep decided (its capture then finds the authorisation released).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from kleline.banks import (
    AuthorizationClosed,
    BankError,
    BankNetwork,
    CardDetails,
    IssuerUnavailable,
    UnknownAuthorization,
)
from kleline.banks.declines import decline_code
from kleline.clock import Clock, epoch_us
from kleline.db.engine import Database
from kleline.errors import NotFound
from kleline.wallet import top_up_store
from kleline.wallet.model import TopUp

__all__ = ["CardDetailsOf", "TopUpEnds", "TopUpRecovery"]

_log = logging.getLogger(__name__)

CardDetailsOf = Callable[[str, str], CardDetails]
"""``(customer_id, card_id)`` → the card's details for a payment; ``NotFound`` once the card is removed."""


class TopUpEnds(Protocol):
    """How a pending top-up ends, once, under the customer's and the top-up's row locks (``TopUps`` does it); a
    top-up already ended is returned as it is."""

    def credit(self, top_up_id: str, authorization_id: str, network: str) -> TopUp:
        """Post the captured top-up to the purse and mark it ``succeeded``."""
        ...

    def fail(self, top_up_id: str, failure_code: str, authorization_id: str | None) -> TopUp:
        """Mark the top-up ``failed``; nothing is posted."""
        ...


class TopUpRecovery:
    """Carry pending card top-ups to their end as the issuer tells."""

    def __init__(
        self, db: Database, bank: BankNetwork, card_details: CardDetailsOf, ends: TopUpEnds, *, clock: Clock
    ) -> None:
        self._db = db
        self._bank = bank
        self._card_details = card_details
        self._ends = ends
        self._clock = clock

    def resume_pending(self, older_than: timedelta, limit: int = 100) -> list[str]:
        """The sweep: carry the card top-ups pending for longer than ``older_than`` to their end; the ids of those
        that ended (the others wait for an issuer that did not answer)."""
        with self._db.transaction(write=False) as tx:
            due = top_up_store.stalled_top_ups(tx, epoch_us(self._clock() - older_than), limit)
        ended = []
        for top_up_id in due:
            try:
                top_up = self.resume(top_up_id)
            except BankError as error:
                # One top-up the network answers oddly must not hold up the others: it is asked again next pass.
                _log.warning("pending top-up %s: the card network refused the question (%s)", top_up_id, error.code)
                continue
            if top_up.status != "pending":
                ended.append(top_up_id)
        return ended

    def resume(self, top_up_id: str) -> TopUp:
        """Carry one top-up to its end: credited if its money was captured, failed if not; still ``pending`` while
        the issuer does not answer."""
        with self._db.transaction(write=False) as tx:
            found = top_up_store.load_top_up(tx, top_up_id)
        if found is None:
            raise NotFound(f"no top-up {top_up_id}")
        top_up = found.top_up
        if top_up.status != "pending" or top_up.card_id is None or found.network is None:
            return top_up
        authorization_id = found.authorization_id
        if authorization_id is None:
            asked = self._authorize_again(top_up, top_up.card_id)
            if isinstance(asked, TopUp):
                return asked
            authorization_id = asked
        try:
            self._bank.reverse(authorization_id)
        except AuthorizationClosed:
            return self._ends.credit(top_up.id, authorization_id, found.network)  # captured: the money is ours
        except UnknownAuthorization:
            pass  # the issuer never approved it: it holds nothing
        except IssuerUnavailable:
            return top_up
        return self._ends.fail(top_up.id, "interrupted", authorization_id)

    def _authorize_again(self, top_up: TopUp, card_id: str) -> TopUp | str:
        """The authorisation's id, learnt by asking again under the same reference; or the top-up, ended (a
        decline, a removed card) or still pending (no answer)."""
        try:
            card = self._card_details(top_up.customer_id, card_id)
        except NotFound:
            # Nothing was captured (a capture follows the record of its authorisation); a hold the issuer may
            # still keep lapses there.
            return self._ends.fail(top_up.id, "card_removed", None)
        try:
            answer = self._bank.authorize(card, top_up.amount, reference=top_up.id)
        except IssuerUnavailable:
            return top_up  # the network reverses what an unanswered authorisation may hold
        if not answer.approved:
            return self._ends.fail(top_up.id, decline_code(answer.code), None)
        assert answer.authorization_id is not None  # an approval always carries its id (Authorization checks it)
        with self._db.transaction() as tx:
            top_up_store.record_authorization(tx, top_up.id, answer.authorization_id)
        return answer.authorization_id
