"""Offers: a merchant sends an offer to an audience, Kleline puts it in each member's wallet inbox, and the merchant
learns only a noisy reach and how many chose to answer.

Sending is one transaction: the reach's epsilon is taken from the merchant's privacy budget first, then one
delivery is inserted per member of the audience (``INSERT ... SELECT`` over ``audience_store.members``, the same
statement the estimate counts), and the reach released is the number delivered plus discrete Laplace noise, "fewer
than 50" below 50 (``noise``). An offer whose reach cannot be released is not sent: when the month's budget is spent,
``send`` is refused (``PrivacyBudgetExhausted``) with nothing delivered, so that the budget also bounds how many
offers a merchant sends a month, and no offer ever goes out without its reach on record.

A customer answers once: ``interested``, ``share_email`` (which grants the merchant the customer's email: a
``share_email`` consent given through the offer, channel ``offer``) or ``not_interested``. The same answer again
is the same result; another one is refused (``OfferAlreadyAnswered``). The merchant is told how many answered
``interested`` or ``share_email`` (they chose to make themselves known), never who.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kleline.clock import Clock, from_epoch_us
from kleline.db.engine import Database, Read
from kleline.ids import new_id
from kleline.privacy import audience_store, noise, offer_store
from kleline.privacy.audience_model import InvalidOffer, OfferAlreadyAnswered, OfferExpired, OfferNotFound, month_of
from kleline.privacy.audiences import Audiences, check_audience, offer_scopes, sending_merchant
from kleline.privacy.consents import Consents
from kleline.privacy.model import merchant_scope
from kleline.privacy.offer_model import ANSWERS, InboxOffer, Offer, OfferDraft, offer_problems

__all__ = ["Inbox", "Offers"]


class Offers:
    """A merchant's offers: send one to an audience, read them back with their reach and answers."""

    def __init__(self, db: Database, audiences: Audiences, *, clock: Clock) -> None:
        self._db = db
        self._audiences = audiences
        self._clock = clock

    def send(self, merchant_id: str, draft: OfferDraft) -> Offer:
        """Deliver the offer to every member of its audience, and release its noisy reach (budget permitting)."""
        now = self._clock()
        problems = offer_problems(draft, now)
        if problems:
            raise problems[0]
        epsilon = self._audiences.policy.epsilon_milli
        with self._db.transaction() as tx:
            merchant = sending_merchant(tx, merchant_id, "send offers")
            check_audience(tx, draft.audience)
            month = month_of(now)
            self._audiences.spend_in(tx, merchant.id, month)
            offer_id = new_id("ofr")
            offer_store.insert_offer(tx, offer_id, merchant.id, draft, now)
            members = audience_store.members(offer_scopes(tx, merchant), draft.audience, now)
            recipients = offer_store.deliver(tx, offer_id, merchant.id, members, now)
            reach = noise.release(recipients, epsilon)
            offer_store.set_reach(tx, offer_id, recipients, reach)
            audience_store.insert_release(
                tx, new_id("arl"), merchant.id, month, "reach", draft.audience, epsilon, reach, now, offer_id
            )
        return Offer(
            offer_id, merchant.id, draft.title, draft.body, draft.link, draft.valid_from, draft.valid_until,
            draft.audience, reach, 0, now,
        )  # fmt: skip

    def get(self, merchant_id: str, offer_id: str) -> Offer:
        """One of the merchant's offers (another merchant's is not found)."""
        with self._db.transaction(write=False) as tx:
            offer = offer_store.find_offer(tx, merchant_id, offer_id)
        if offer is None:
            raise OfferNotFound(f"no offer {offer_id}")
        return offer

    def list(self, merchant_id: str, *, limit: int, starting_after: str | None = None) -> list[Offer]:
        """The merchant's offers, newest first."""
        with self._db.transaction(write=False) as tx:
            return offer_store.list_offers(tx, merchant_id, limit=limit, starting_after=starting_after)


class Inbox:
    """A customer's offers: read them, open one, answer one."""

    def __init__(self, db: Database, consents: Consents, *, clock: Clock) -> None:
        self._db = db
        self._consents = consents
        self._clock = clock

    def offers(self, customer_id: str, *, limit: int, starting_after: str | None = None) -> list[InboxOffer]:
        """The customer's offers, newest first."""
        with self._db.transaction(write=False) as tx:
            return offer_store.inbox(tx, customer_id, self._clock(), limit=limit, starting_after=starting_after)

    def unread(self, customer_id: str) -> int:
        """How many valid offers the customer has not opened (the wallet's notification count)."""
        with self._db.transaction(write=False) as tx:
            return offer_store.unread_count(tx, customer_id, self._clock())

    def unread_read(self, customer_id: str) -> Read[int]:
        """``unread`` as a read of one row, for a page that counts it in the same statement as its own figures."""
        return offer_store.unread_count_read(customer_id, self._clock())

    def unread_of(self, customer_column: str) -> tuple[str, dict[str, Any]]:
        """``unread`` of the customer named by ``customer_column`` of another query, as a scalar subquery of its row
        and that subquery's parameters: a page's session reads the navigation's count in its own statement."""
        return offer_store.unread_count_of(customer_column, self._clock())

    def get(self, customer_id: str, offer_id: str) -> InboxOffer:
        """One offer of the customer's inbox."""
        with self._db.transaction(write=False) as tx:
            offer = offer_store.inbox_offer(tx, customer_id, offer_id, self._clock())
        if offer is None:
            raise OfferNotFound(f"no offer {offer_id}")
        return offer

    def read(self, customer_id: str, offer_id: str) -> InboxOffer:
        """Mark the offer read (the first opening counts)."""
        now = self._clock()
        with self._db.transaction() as tx:
            if offer_store.inbox_offer(tx, customer_id, offer_id, now) is None:
                raise OfferNotFound(f"no offer {offer_id}")
            offer_store.mark_read(tx, customer_id, offer_id, now)
            offer = offer_store.inbox_offer(tx, customer_id, offer_id, now)
        assert offer is not None
        return offer

    def answer(self, customer_id: str, offer_id: str, reply: str, *, language: str = "en") -> InboxOffer:
        """Answer the offer once; ``share_email`` grants the merchant the customer's email in the same transaction."""
        if reply not in ANSWERS:
            raise InvalidOffer(f"answer: one of {', '.join(ANSWERS)}", param="answer")
        now = self._clock()
        with self._db.transaction() as tx:
            found = offer_store.delivery_for_update(tx, customer_id, offer_id)
            offer = offer_store.inbox_offer(tx, customer_id, offer_id, now)
            if found is None or offer is None:
                raise OfferNotFound(f"no offer {offer_id}")
            given, valid_until = found
            if given == reply:
                return offer
            if given is not None:
                raise OfferAlreadyAnswered(f"offer {offer_id} was already answered {given}", param="answer")
            if _passed(valid_until, now):
                raise OfferExpired(f"offer {offer_id} ended on {from_epoch_us(valid_until):%Y-%m-%d}", param="answer")
            offer_store.answer(tx, customer_id, offer_id, reply, now)
            if reply == "share_email":
                self._consents.grant_in(
                    tx, customer_id, "share_email", merchant_scope(offer.merchant_id), channel="offer",
                    language=language,
                )  # fmt: skip
            answered = offer_store.inbox_offer(tx, customer_id, offer_id, now)
        assert answered is not None
        return answered


def _passed(valid_until: int, now: datetime) -> bool:
    return from_epoch_us(valid_until) <= now
