"""A card capture the issuer refuses for good ends the payment ``failed``, books nothing, and is not retried.

The issuer refuses for good when it knows no such authorisation (25: never approved, or lapsed and forgotten) or
when the authorisation is closed (12: reversed). Both are produced here by the sandbox issuers themselves: their
retention forgets an authorisation 30 days after it was last named, and a reversal sent to them closes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import Ledger
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.payments.confirm import Confirmations
from kleline.payments.errors import PaymentStateConflict
from kleline.payments.model import Payment, PaymentRequest
from kleline.worker.sweeps import expire_authorizations, resume_stalled

from ...conftest import FakeClock
from .conftest import balance, eur, merchant, shopper

CARD = "4242424242424242"


class Crash(Exception):
    """The process died here."""


def _crash_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    real = getattr(owner, name)

    def crashing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Crash(name)

    monkeypatch.setattr(owner, name, crashing)


def _die_at(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Die as ``owner.name`` is about to run."""

    def dying(*_args: Any, **_kwargs: Any) -> Any:
        raise Crash(name)

    monkeypatch.setattr(owner, name, dying)


def _forgotten(kleline: Kleline, clock: FakeClock, payment: Payment) -> None:
    """The issuer forgets the authorisation: its retention (30 days) passes without a request naming it."""
    clock.advance(days=31)


def _reversed(kleline: Kleline, clock: FakeClock, payment: Payment) -> None:
    """The authorisation is closed at the issuer (reversed) behind the payment's back."""
    assert payment.authorization_id is not None
    kleline.bank.reverse(payment.authorization_id)
    clock.advance(minutes=5)


REFUSALS: dict[str, tuple[Callable[[Kleline, FakeClock, Payment], None], str]] = {
    "unknown": (_forgotten, "unknown_authorization"),
    "closed": (_reversed, "authorization_closed"),
}


def _assert_failed_cleanly(kleline: Kleline, shop: str, payment_id: str, code: str) -> None:
    failed = kleline.payments.get(payment_id)
    assert (failed.status, failed.failure_code, failed.amount_captured) == ("failed", code, 0)
    assert [event.type for event in kleline.events.list(shop, type="payment.failed")] == ["payment.failed"]
    assert kleline.events.list(shop, type="payment.failed")[0].data["failure_code"] == code
    assert balance(kleline, balance_account(shop)) == 0  # no merchant credited for money never captured
    assert balance(kleline, "kleline:commission") == 0
    assert trial_balance(kleline.db).balanced


@pytest.mark.parametrize("refusal", REFUSALS)
def test_an_automatic_capture_refused_for_good_fails_the_payment_and_the_sweep_stops(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    with monkeypatch.context() as patch:
        # Authorised at the issuer and recorded, then the process dies before the automatic capture.
        _die_at(patch, Confirmations, "capture_automatically")
        with pytest.raises(Crash):
            kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    authorized = kleline.payments.get(payment.id)
    assert authorized.status == "authorized"
    make_refusal, code = REFUSALS[refusal]
    make_refusal(kleline, clock, authorized)
    assert resume_stalled(kleline) == 1
    _assert_failed_cleanly(kleline, shop, payment.id, code)
    clock.advance(minutes=5)
    assert resume_stalled(kleline) == 0  # no longer retried
    assert expire_authorizations(kleline) == 0
    _assert_failed_cleanly(kleline, shop, payment.id, code)


@pytest.mark.parametrize("refusal", REFUSALS)
def test_a_manual_capture_refused_for_good_fails_the_payment_and_a_second_capture_is_a_conflict(
    kleline: Kleline, clock: FakeClock, refusal: str
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000), capture_method="manual"))
    authorized = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    make_refusal, code = REFUSALS[refusal]
    make_refusal(kleline, clock, authorized)
    answered = kleline.payments.capture(shop, payment.id)
    assert (answered.status, answered.failure_code) == ("failed", code)
    _assert_failed_cleanly(kleline, shop, payment.id, code)
    with pytest.raises(PaymentStateConflict):
        kleline.payments.capture(shop, payment.id)
    assert expire_authorizations(kleline) == 0


def test_an_expired_authorisation_the_issuer_forgot_is_expired_once_not_retried_for_ever(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    clock.advance(days=31)  # past the authorisation's 7 days, and past the issuer's memory of it
    assert expire_authorizations(kleline) == 1
    assert kleline.payments.get(payment.id).status == "expired"
    assert expire_authorizations(kleline) == 0
    assert trial_balance(kleline.db).balanced


def test_a_capture_booked_before_the_issuer_forgot_it_is_recorded_not_failed(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, CARD, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    with monkeypatch.context() as patch:
        # The issuer captured, the ledger booked it, and the process died before the payment was recorded.
        _crash_after(patch, Ledger, "post")
        with pytest.raises(Crash):
            kleline.payments.capture(shop, payment.id)
    clock.advance(days=31)  # the issuer forgets the authorisation meanwhile
    with pytest.raises(PaymentStateConflict):
        kleline.payments.cancel(shop, payment.id)  # its money was taken: it cannot be canceled
    done = kleline.payments.capture(shop, payment.id)
    assert (done.status, done.amount_captured) == ("succeeded", 2000)
    assert balance(kleline, balance_account(shop)) == 2000 - 70  # credited once
    assert trial_balance(kleline.db).balanced
