"""Card payments, refunds and top-ups through the ISO 8583 link, when every answer comes and when some are lost."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, credit, debit
from kleline.ledger.audit import trial_balance
from kleline.merchants.model import balance_account
from kleline.money import Money
from kleline.payments.errors import PaymentStateConflict, RefundFailed
from kleline.payments.model import PaymentRequest
from kleline.payments.postings import COMMISSION_ACCOUNT
from kleline.wallet.customers import purse_code
from kleline.worker.sweeps import SWEEPS, resume_card_refunds, resume_stalled

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers
from ..helpers import count_rows
from ..payments.conftest import balance, eur, merchant, shopper

VISA = "4242424242424242"
RECEIVABLE = "card:visa:receivable"


def cardholder(lossy: LossyIssuers) -> tuple[Money, Money]:
    """The cardholder's posted and held balance at the issuer."""
    found = lossy.issuers.balance(VISA, "EUR")
    return found.posted, found.held


def paid_by_card(kleline: Kleline, amount: int, *, fee_bps: int = 350) -> tuple[str, str]:
    """A merchant and a card payment of ``amount`` captured at once; their ids."""
    shop = merchant(kleline, fee_bps=fee_bps)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(amount)))
    paid = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert paid.status == "succeeded"
    return shop, payment.id


def test_a_card_payment_and_its_refund_go_through_the_network(kleline: Kleline, lossy: LossyIssuers) -> None:
    opening, _ = cardholder(lossy)
    shop, payment_id = paid_by_card(kleline, 2000)
    assert cardholder(lossy) == (opening - eur(2000), eur(0))
    refund = kleline.refunds.refund(shop, payment_id, eur(1000))
    assert (refund.status, refund.fee_returned) == ("succeeded", 35)
    assert cardholder(lossy) == (opening - eur(1000), eur(0))
    assert kleline.payments.get(payment_id).amount_refunded == 1000
    assert balance(kleline, RECEIVABLE) == 1000
    assert balance(kleline, balance_account(shop)) == 2000 - 70 - (1000 - 35)
    assert balance(kleline, COMMISSION_ACCOUNT) == 70 - 35
    assert kleline.refunds.get(refund.id) == refund
    assert lossy.seen.count("0200") == 1
    assert trial_balance(kleline.db).balanced


def test_a_card_payment_whose_authorisation_is_unanswered_fails_and_leaves_nothing_held(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    opening, _ = cardholder(lossy)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    lossy.lose.add("0100")
    failed = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert (failed.status, failed.failure_code) == ("failed", "issuer_unavailable")
    assert cardholder(lossy) == (opening, eur(0))  # the issuer held it, the reversal released it
    assert lossy.seen[-2:] == ["0100", "0400"]
    assert balance(kleline, RECEIVABLE) == 0 and balance(kleline, balance_account(shop)) == 0


def test_an_unanswered_automatic_capture_leaves_the_payment_authorised_until_the_sweep_captures_it_once(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    opening, _ = cardholder(lossy)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    lossy.lose.add("0220")  # the issuer captures; both answers (first try and the one retry) are lost
    authorised = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert authorised.status == "authorized"
    assert lossy.seen[-2:] == ["0220", "0220"]
    assert balance(kleline, RECEIVABLE) == 0
    lossy.lose.clear()
    clock.advance(minutes=5)
    assert resume_stalled(kleline) == 1
    done = kleline.payments.get(payment.id)
    assert (done.status, done.amount_captured) == ("succeeded", 2000)
    assert cardholder(lossy) == (opening - eur(2000), eur(0))  # captured once at the issuer
    assert balance(kleline, RECEIVABLE) == 2000


def test_a_refund_the_issuer_refuses_records_nothing(kleline: Kleline, lossy: LossyIssuers) -> None:
    shop, payment_id = paid_by_card(kleline, 2000)
    payment = kleline.payments.get(payment_id)
    assert payment.authorization_id is not None
    # Refunded outside Kleline already: the issuer refuses to go above what it captured.
    kleline.bank.refund(payment.authorization_id, eur(2000), "re_elsewhere")
    merchant_before = balance(kleline, balance_account(shop))
    entries_before = count_rows(kleline.db, "ledger_entries")
    with pytest.raises(RefundFailed) as refused:
        kleline.refunds.refund(shop, payment_id, eur(500))
    assert refused.value.status == 502 and "captured" in refused.value.detail
    assert kleline.payments.get(payment_id).amount_refunded == 0
    assert kleline.refunds.list(payment_id=payment_id) == []
    assert count_rows(kleline.db, "card_refunds") == 0
    assert count_rows(kleline.db, "ledger_entries") == entries_before
    assert balance(kleline, balance_account(shop)) == merchant_before
    assert kleline.ledger.balance(balance_account(shop)).held == 0  # the reservation was released
    assert kleline.events.list(shop, type="refund.succeeded") == []


def test_an_unanswered_refund_is_pending_and_the_sweep_records_it_exactly_once(
    kleline: Kleline, lossy: LossyIssuers, clock: FakeClock
) -> None:
    shop, payment_id = paid_by_card(kleline, 2000)
    opening, _ = cardholder(lossy)
    lossy.lose.add("0200")  # the issuer credits the cardholder; the answer is lost
    pending = kleline.refunds.refund(shop, payment_id, eur(1000))
    assert pending.status == "pending"
    assert kleline.refunds.get(pending.id) == pending
    assert cardholder(lossy)[0] == opening + eur(1000)
    assert kleline.payments.get(payment_id).amount_refunded == 0
    assert kleline.ledger.balance(balance_account(shop)).held == 1000 - 35  # the merchant's share is reserved
    with pytest.raises(PaymentStateConflict):
        kleline.refunds.refund(shop, payment_id, eur(500))  # one refund of a payment waits at a time

    assert resume_card_refunds(kleline) == 0  # not due yet
    lossy.lose.clear()
    clock.advance(seconds=31)
    assert resume_card_refunds(kleline) == 1
    done = kleline.refunds.get(pending.id)
    assert (done.status, done.amount, done.fee_returned) == ("succeeded", eur(1000), 35)
    assert cardholder(lossy)[0] == opening + eur(1000)  # asked twice, credited once
    assert kleline.payments.get(payment_id).amount_refunded == 1000
    assert balance(kleline, RECEIVABLE) == 1000
    assert kleline.ledger.balance(balance_account(shop)).held == 0
    assert len(kleline.events.list(shop, type="refund.succeeded")) == 1
    clock.advance(hours=1)
    assert resume_card_refunds(kleline) == 0
    assert lossy.seen.count("0200") == 2
    assert kleline.refunds.refund(shop, payment_id, eur(500)).status == "succeeded"
    assert trial_balance(kleline.db).balanced


def test_a_refund_whose_merchant_cannot_cover_it_fails_before_the_issuer_hears_of_it(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    shop, payment_id = paid_by_card(kleline, 2000)
    # The merchant's balance was paid out meanwhile.
    paid_out = eur(2000 - 70)
    kleline.ledger.post(
        EntryRequest("payout-1", (debit(balance_account(shop), paid_out), credit("kleline:suspense", paid_out)))
    )
    refund = kleline.refunds.refund(shop, payment_id, eur(1000))
    assert (refund.status, refund.failure_code) == ("failed", "insufficient_merchant_balance")
    assert "0200" not in lossy.seen


def test_a_top_up_whose_authorisation_is_unanswered_fails_and_leaves_the_purse_and_the_card_as_they_were(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    opening, _ = cardholder(lossy)
    lossy.lose.add("0100")
    top_up = kleline.top_ups.top_up(ada.id, eur(2000), card)
    assert (top_up.status, top_up.failure_code) == ("failed", "issuer_unavailable")
    assert cardholder(lossy) == (opening, eur(0))
    assert balance(kleline, purse_code(ada.id)) == 0


def test_a_top_up_whose_capture_answers_are_lost_is_credited_once_the_reversal_shows_it_was_captured(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    opening, _ = cardholder(lossy)
    lossy.lose.add("0220")
    top_up = kleline.top_ups.top_up(ada.id, eur(2000), card)
    assert top_up.status == "succeeded"
    assert cardholder(lossy) == (opening - eur(2000), eur(0))
    assert balance(kleline, purse_code(ada.id)) == 2000


def test_a_top_up_whose_capture_never_arrives_fails_once_the_reversal_released_the_hold(
    kleline: Kleline, lossy: LossyIssuers
) -> None:
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, VISA, 12, 2030, "123", "Ada Lovelace").id
    opening, _ = cardholder(lossy)
    lossy.drop.add("0220")
    top_up = kleline.top_ups.top_up(ada.id, eur(2000), card)
    assert (top_up.status, top_up.failure_code) == ("failed", "issuer_unavailable")
    assert cardholder(lossy) == (opening, eur(0))
    assert balance(kleline, purse_code(ada.id)) == 0


def test_the_worker_resumes_card_refunds() -> None:
    assert "payments.resume_card_refunds" in {sweep.name for sweep in SWEEPS}
