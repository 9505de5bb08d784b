"""Offers: delivered to the audience's members only, in one transaction with the noisy reach and its budget; the
customer's inbox, reads and answers (given once; share_email grants the merchant the email through the offer)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.privacy import consent_store
from kleline.privacy.audience_model import (
    Audience,
    InvalidOffer,
    OfferAlreadyAnswered,
    OfferExpired,
    OfferNotFound,
    PrivacyBudgetExhausted,
)
from kleline.privacy.offer_model import OfferDraft

from ...conftest import FakeClock
from ..helpers import count_rows
from .audience_world import buy, customer, kleline_world, shop


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    with kleline_world(database_url, clock, audience_monthly_budget_milli=1000) as system:
        yield system


def draft(clock: FakeClock, audience: Audience | None = None, **changes: object) -> OfferDraft:
    fields: dict[str, object] = {
        "title": "Dix pour cent sur les romans",
        "body": "Jusqu'à dimanche, sur tout le rayon.",
        "link": "https://librairie.example/romans",
        "valid_from": clock(),
        "valid_until": clock() + timedelta(days=7),
        "audience": audience or Audience(),
    }
    fields.update(changes)
    return OfferDraft(**fields)  # type: ignore[arg-type]


def test_an_offer_reaches_only_the_members_and_the_merchant_learns_a_noisy_reach(
    kleline: Kleline, clock: FakeClock
) -> None:
    books = shop(kleline, "Librairie", category="books")
    fan, buyer, other, stranger = (customer(kleline, purse=10_000) for _ in range(4))
    for person in (fan, buyer):
        kleline.consents.grant(person, "offers", "category:books", channel="wallet")
    kleline.consents.grant(buyer, "audience_statistics", channel="wallet")
    kleline.consents.grant(other, "offers", "category:toys", channel="wallet")
    buy(kleline, books, buyer, 2_500)
    buy(kleline, books, stranger, 2_500)

    offer = kleline.offers.send(books, draft(clock))
    assert offer.reach is None and offer.answered == 0  # 2 recipients: "fewer than 50"
    with kleline.db.transaction(write=False) as tx:
        delivered = {row[0] for row in tx.fetchall("SELECT customer_id FROM offer_deliveries")}
        recipients = tx.fetchone("SELECT recipients FROM offers WHERE id = :id", {"id": offer.id})[0]
    assert delivered == {fan, buyer} and recipients == 2
    assert [o.id for o in kleline.inbox.offers(fan, limit=10)] == [offer.id]
    assert kleline.inbox.offers(other, limit=10) == [] == kleline.inbox.offers(stranger, limit=10)

    clock.advance(minutes=1)
    narrow = kleline.offers.send(books, draft(clock, Audience(category="books")))
    with kleline.db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT customer_id FROM offer_deliveries WHERE offer_id = :id", {"id": narrow.id})
    assert [row[0] for row in rows] == [buyer]
    assert kleline.audiences.budget(books).remaining_milli == 0
    assert [o.id for o in kleline.offers.list(books, limit=10)] == [narrow.id, offer.id]


def test_a_withdrawn_consent_is_not_reached(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    fan = customer(kleline)
    kleline.consents.grant(fan, "offers", "category:books", channel="wallet")
    kleline.consents.withdraw(fan, "offers", "category:books", channel="wallet")
    kleline.offers.send(books, draft(clock))
    assert count_rows(kleline.db, "offer_deliveries") == 0


def test_an_offer_without_budget_for_its_reach_is_not_sent(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    fan = customer(kleline)
    kleline.consents.grant(fan, "offers", "category:books", channel="wallet")
    kleline.audiences.estimate(books, Audience())
    kleline.audiences.estimate(books, Audience())
    with pytest.raises(PrivacyBudgetExhausted):
        kleline.offers.send(books, draft(clock))
    assert count_rows(kleline.db, "offers") == count_rows(kleline.db, "offer_deliveries") == 0


def test_an_offer_breaking_its_rules_is_refused(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    with pytest.raises(InvalidOffer, match="link: an https"):
        kleline.offers.send(books, draft(clock, link="http://librairie.example/"))
    with pytest.raises(InvalidOffer, match="valid_until: after valid_from"):
        kleline.offers.send(books, draft(clock, valid_until=clock()))
    with pytest.raises(InvalidOffer, match="title: required"):
        kleline.offers.send(books, draft(clock, title=" "))
    assert kleline.audiences.budget(books).spent_milli == 0


def test_the_inbox_reads_and_answers_once(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    fan, friend = customer(kleline), customer(kleline)
    for person in (fan, friend):
        kleline.consents.grant(person, "offers", "category:books", channel="wallet")
    offer = kleline.offers.send(books, draft(clock))
    assert kleline.inbox.unread(fan) == 1
    clock.advance(minutes=1)
    opened = kleline.inbox.read(fan, offer.id)
    assert opened.read_at == clock() and opened.merchant_name == "Librairie"
    assert kleline.inbox.unread(fan) == 0 and kleline.inbox.unread(friend) == 1

    answered = kleline.inbox.answer(fan, offer.id, "share_email", language="fr")
    assert answered.answer == "share_email"
    with kleline.db.transaction(write=False) as tx:
        assert consent_store.is_live(tx, fan, "share_email", f"merchant:{books}")
    assert [(e.purpose, e.channel, e.text_version) for e in kleline.consents.history(fan)][-1] == (
        "share_email",
        "offer",
        "share-email-v1/fr",
    )
    assert kleline.inbox.answer(fan, offer.id, "share_email").answered_at == answered.answered_at
    with pytest.raises(OfferAlreadyAnswered):
        kleline.inbox.answer(fan, offer.id, "not_interested")
    kleline.inbox.answer(friend, offer.id, "not_interested")
    assert kleline.offers.get(books, offer.id).answered == 1  # not_interested is not an answer the merchant hears
    assert kleline.inbox.unread(friend) == 0

    with pytest.raises(OfferNotFound):
        kleline.inbox.answer(customer(kleline), offer.id, "interested")
    with pytest.raises(OfferNotFound):
        kleline.offers.get(shop(kleline, "Autre", category="books"), offer.id)
    with pytest.raises(InvalidOffer, match="answer: one of"):
        kleline.inbox.answer(friend, offer.id, "maybe")


def test_an_expired_offer_cannot_be_answered(kleline: Kleline, clock: FakeClock) -> None:
    books = shop(kleline, "Librairie", category="books")
    fan = customer(kleline)
    kleline.consents.grant(fan, "offers", "category:books", channel="wallet")
    offer = kleline.offers.send(books, draft(clock))
    clock.advance(days=8)
    assert kleline.inbox.unread(fan) == 0
    with pytest.raises(OfferExpired):
        kleline.inbox.answer(fan, offer.id, "interested")
