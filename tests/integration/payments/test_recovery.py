"""A process that dies half-way through a payment or a refund: the worker's sweep finishes it, once."""

from __future__ import annotations

from typing import Any

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import Ledger
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest
from kleline.wallet.customers import purse_code
from kleline.worker.sweeps import resume_stalled

from ...conftest import FakeClock
from ..helpers import book_snapshot
from .conftest import balance, eur, merchant, shopper


class Crash(Exception):
    """The process died here."""


def _crash_after(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """Let ``owner.name`` do its work, then die before the caller can record the outcome."""
    real = getattr(owner, name)

    def crashing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise Crash(name)

    monkeypatch.setattr(owner, name, crashing)


def test_a_purse_payment_is_one_transaction_so_a_crash_inside_leaves_no_trace(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000)))
    before = book_snapshot(kleline.db)
    with monkeypatch.context() as patch:
        # The receipt is the last write of the transaction that also posts the capture and records the payment.
        _crash_after(patch, kleline.receipts, "issue")
        with pytest.raises(Crash):
            kleline.payments.confirm(payment.id, ada.id, "purse")
    assert kleline.payments.get(payment.id).status == "requires_confirmation"
    assert book_snapshot(kleline.db) == before
    assert balance(kleline, purse_code(ada.id)) == 5000
    paid = kleline.payments.confirm(payment.id, ada.id, "purse")
    assert (paid.status, paid.amount_captured) == ("succeeded", 1000)
    assert balance(kleline, purse_code(ada.id)) == 4000


def test_a_card_payment_authorised_before_a_crash_is_captured_once(
    kleline: Kleline, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, "4242424242424242", 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    with monkeypatch.context() as patch:
        _crash_after(patch, kleline.bank, "authorize")
        with pytest.raises(Crash):
            kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    clock.advance(minutes=5)
    assert resume_stalled(kleline) == 1
    done = kleline.payments.get(payment.id)
    assert (done.status, done.amount_captured) == ("succeeded", 2000)
    assert balance(kleline, "card:visa:receivable") == 2000
    assert balance(kleline, balance_account(shop)) == 2000 - 70


def test_a_capture_committed_before_a_crash_is_recorded_when_the_merchant_retries(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    with monkeypatch.context() as patch:
        _crash_after(patch, Ledger, "commit")
        with pytest.raises(Crash):
            kleline.payments.capture(shop, payment.id, eur(600))
    assert kleline.payments.get(payment.id).status == "authorized"
    captured = kleline.payments.capture(shop, payment.id, eur(600))
    assert (captured.status, captured.amount_captured) == ("succeeded", 600)
    assert balance(kleline, purse_code(ada.id)) == 4400  # taken once
    assert kleline.ledger.balance(purse_code(ada.id)).held == 0


def test_a_refund_is_one_transaction_so_a_crash_inside_leaves_no_trace(
    kleline: Kleline, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000)))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    before = book_snapshot(kleline.db)
    with monkeypatch.context() as patch:
        # The receipt is the refund transaction's last write, after its entry and the payment's new amounts.
        _crash_after(patch, kleline.receipts, "issue")
        with pytest.raises(Crash):
            kleline.refunds.refund(shop, payment.id, eur(400))
    assert book_snapshot(kleline.db) == before
    assert kleline.payments.get(payment.id).amount_refunded == 0
    assert kleline.refunds.list(payment_id=payment.id) == []
    refund = kleline.refunds.refund(shop, payment.id, eur(400))
    assert (refund.status, refund.fee_returned) == ("succeeded", 14)
    assert balance(kleline, purse_code(ada.id)) == 4400
    assert trial_balance(kleline.db).balanced
