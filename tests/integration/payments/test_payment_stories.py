"""Worked money stories, checked to the cent on both backends, as DESIGN.md's money flows say they book."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, credit, debit
from kleline.ledger.audit import trial_balance, verify
from kleline.merchants.model import balance_account
from kleline.payments.errors import (
    AuthorizationExpired,
    CaptureTooLarge,
    PaymentStateConflict,
    RefundTooLarge,
)
from kleline.payments.model import PaymentRequest
from kleline.wallet.customers import purse_code
from kleline.wallet.strong_auth import EnrolmentRequired

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import balance, eur, merchant, shopper

VISA = "4242424242424242"


def _balanced(kleline: Kleline) -> None:
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok


def _card(kleline: Kleline, customer_id: str, number: str = VISA) -> str:
    return kleline.cards.register(customer_id, number, 12, 2030, "123", "Ada Lovelace").id


def test_purse_payment_then_two_refunds_return_exactly_the_commission(kleline: Kleline) -> None:
    # A customer with 50 EUR pays 12.50 to a merchant at 3.5 %, is refunded 5 EUR, then the rest.
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1250), description="Two books"))
    assert payment.status == "requires_confirmation"
    assert payment.checkout_url.endswith(f"/checkout/{payment.id}")

    paid = kleline.payments.confirm(payment.id, ada.id, "purse")
    assert (paid.status, paid.amount_captured, paid.fee, paid.net) == ("succeeded", 1250, 44, 1206)
    assert balance(kleline, purse_code(ada.id)) == 3750
    assert balance(kleline, balance_account(shop)) == 1206
    assert balance(kleline, "kleline:commission") == 44

    first = kleline.refunds.refund(shop, payment.id, eur(500))
    assert (first.status, first.fee_returned) == ("succeeded", 18)  # 44 - round(750 * 3.5 %) = 44 - 26
    after = kleline.payments.get(payment.id)
    assert (after.amount_refunded, after.fee, after.net) == (500, 26, 724)
    assert balance(kleline, purse_code(ada.id)) == 4250
    assert balance(kleline, balance_account(shop)) == 724
    assert balance(kleline, "kleline:commission") == 26

    rest = kleline.refunds.refund(shop, payment.id)
    assert (rest.amount.minor, rest.fee_returned) == (750, 26)
    done = kleline.payments.get(payment.id)
    assert (done.amount_refunded, done.fee, done.net) == (1250, 0, 0)
    assert balance(kleline, purse_code(ada.id)) == 5000
    assert balance(kleline, balance_account(shop)) == 0
    assert balance(kleline, "kleline:commission") == 0
    with pytest.raises(RefundTooLarge):
        kleline.refunds.refund(shop, payment.id, eur(1))
    _balanced(kleline)


def test_card_payment_captured_in_part_releases_the_rest(kleline: Kleline) -> None:
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline)
    card = _card(kleline, ada.id)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000), capture_method="manual"))
    authorized = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert (authorized.status, authorized.amount_authorized, authorized.fee) == ("authorized", 2000, 0)
    assert kleline.payments.pending_balance(shop) == 2000
    with pytest.raises(CaptureTooLarge):
        kleline.payments.capture(shop, payment.id, eur(2001))

    captured = kleline.payments.capture(shop, payment.id, eur(1500))
    assert (captured.status, captured.amount_captured, captured.fee, captured.net) == ("succeeded", 1500, 60, 1440)
    assert balance(kleline, "card:visa:receivable") == 1500
    assert balance(kleline, balance_account(shop)) == 1440
    assert balance(kleline, "kleline:commission") == 60
    assert kleline.payments.pending_balance(shop) == 0
    # The same capture again is answered with the payment; another amount is refused.
    assert kleline.payments.capture(shop, payment.id, eur(1500)).amount_captured == 1500
    with pytest.raises(PaymentStateConflict):
        kleline.payments.capture(shop, payment.id, eur(1000))

    refund = kleline.refunds.refund(shop, payment.id, eur(1500))
    assert refund.fee_returned == 60
    assert balance(kleline, "card:visa:receivable") == 0
    assert balance(kleline, "kleline:commission") == 0
    _balanced(kleline)


def test_purse_authorisation_expires_and_the_purse_gets_its_money_back(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=3000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2500), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    purse = kleline.ledger.balance(purse_code(ada.id))
    assert (purse.posted, purse.held, purse.available) == (3000, 2500, 500)

    clock.advance(days=6, hours=23)
    assert kleline.payments.expire_authorizations() == []
    clock.advance(hours=2)
    assert kleline.payments.expire_authorizations() == [payment.id]
    assert kleline.payments.get(payment.id).status == "expired"
    purse = kleline.ledger.balance(purse_code(ada.id))
    assert (purse.posted, purse.held, purse.available) == (3000, 0, 3000)
    with pytest.raises(PaymentStateConflict):
        kleline.payments.capture(shop, payment.id)
    assert kleline.payments.expire_authorizations() == []
    _balanced(kleline)


def test_card_authorisation_expires_through_a_reversal(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "card", card_id=_card(kleline, ada.id))
    clock.advance(days=8)
    assert kleline.payments.expire_authorizations() == [payment.id]
    assert kleline.payments.get(payment.id).status == "expired"
    assert balance(kleline, balance_account(shop)) == 0


def test_an_empty_purse_fails_the_payment_and_moves_nothing(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=999)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000)))
    failed = kleline.payments.confirm(payment.id, ada.id, "purse")
    assert (failed.status, failed.failure_code, failed.fee, failed.net) == ("failed", "insufficient_funds", 0, 0)
    assert kleline.ledger.balance(purse_code(ada.id)).available == 999
    assert balance(kleline, balance_account(shop)) == 0
    with pytest.raises(PaymentStateConflict):
        kleline.payments.confirm(payment.id, ada.id, "purse")


def test_a_declined_card_fails_the_payment(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline)
    card = _card(kleline, ada.id, "4000000000009995")  # no funds
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000)))
    failed = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert failed.status == "failed"
    assert failed.failure_code == "insufficient_funds"
    assert balance(kleline, "card:visa:receivable") == 0


def test_cancel_releases_the_purse_hold(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=2000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1500), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    canceled = kleline.payments.cancel(shop, payment.id)
    assert canceled.status == "canceled"
    assert kleline.ledger.balance(purse_code(ada.id)).available == 2000
    assert kleline.payments.cancel(shop, payment.id).status == "canceled"
    with pytest.raises(PaymentStateConflict):
        kleline.payments.capture(shop, payment.id)
    with pytest.raises(PaymentStateConflict):
        kleline.refunds.refund(shop, payment.id)


def test_a_payment_above_the_exemption_needs_the_customers_code(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000, enrol=True)
    assert ada.totp is not None
    payment = kleline.payments.create(shop, PaymentRequest(eur(4000)))
    asked = kleline.payments.confirm(payment.id, ada.id, "purse")
    assert asked.status == "requires_action"
    assert asked.next_action is not None and asked.next_action["type"] == "sca"
    assert kleline.ledger.balance(purse_code(ada.id)).held == 0
    paid = kleline.payments.confirm(payment.id, ada.id, "purse", sca_code=ada.totp.at(clock()))
    assert (paid.status, paid.amount_captured, paid.fee) == ("succeeded", 4000, 140)


def test_another_customer_cannot_take_over_a_payment_in_strong_authentication(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000, enrol=True)
    bob = shopper(kleline, purse=10_000, email="bob@example.org")
    payment = kleline.payments.create(shop, PaymentRequest(eur(4000)))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    with pytest.raises(PaymentStateConflict):
        kleline.payments.confirm(payment.id, bob.id, "purse")


def test_a_refund_the_merchant_balance_cannot_cover_fails_and_releases_its_reservation(kleline: Kleline) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000)))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    # The merchant's balance was paid out meanwhile.
    kleline.ledger.post(
        EntryRequest(
            "payout-1", (debit(balance_account(shop), eur(1930)), credit("kleline:suspense", eur(1930))), "payout"
        )
    )
    refund = kleline.refunds.refund(shop, payment.id, eur(1000))
    assert (refund.status, refund.failure_code) == ("failed", "insufficient_merchant_balance")
    after = kleline.payments.get(payment.id)
    assert (after.amount_refunded, after.refundable, after.fee) == (0, 2000, 70)
    assert balance(kleline, purse_code(ada.id)) == 3000
    _balanced(kleline)


def test_a_suspended_merchant_cannot_take_payments(kleline: Kleline) -> None:
    shop = merchant(kleline)
    kleline.merchants.suspend(shop, actor=OPERATOR)
    with pytest.raises(Exception) as refused:
        kleline.payments.create(shop, PaymentRequest(eur(1000)))
    assert getattr(refused.value, "code", None) == "merchant_not_active"


def test_capture_after_expiry_is_refused_with_authorization_expired(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=3000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(1000), capture_method="manual"))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    clock.advance(days=9)
    # The ledger's own sweep released the hold before the payments sweep ran.
    kleline.ledger.expire_holds()
    with pytest.raises(AuthorizationExpired):
        kleline.payments.capture(shop, payment.id)


def test_a_card_whose_issuer_asks_for_authentication_is_challenged_then_authorised(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, enrol=True)
    assert ada.totp is not None
    card = _card(kleline, ada.id, "4000002500003155")  # the issuer answers 1A until the cardholder is authenticated
    payment = kleline.payments.create(shop, PaymentRequest(eur(1500)))  # under the exemption: Kleline would skip it
    asked = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert asked.status == "requires_action" and asked.next_action is not None
    assert balance(kleline, "card:visa:receivable") == 0
    paid = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card, sca_code=ada.totp.at(clock()))
    assert (paid.status, paid.amount_captured) == ("succeeded", 1500)
    assert balance(kleline, "card:visa:receivable") == 1500


def test_a_card_asking_for_authentication_from_a_customer_without_an_authenticator_frees_the_payment(
    kleline: Kleline,
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=2000)
    card = _card(kleline, ada.id, "4000002500003155")
    payment = kleline.payments.create(shop, PaymentRequest(eur(1500)))
    with pytest.raises(EnrolmentRequired):
        kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert kleline.payments.get(payment.id).status == "requires_confirmation"
    assert kleline.payments.confirm(payment.id, ada.id, "purse").status == "succeeded"


@pytest.mark.parametrize("capture_method", ["automatic", "manual"])
def test_concurrent_purse_payments_never_overdraw_the_purse(kleline: Kleline, capture_method: str) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=3500)
    payments = [
        kleline.payments.create(shop, PaymentRequest(eur(1000), capture_method=capture_method))  # type: ignore[arg-type]
        for _ in range(12)
    ]
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(lambda p: kleline.payments.confirm(p.id, ada.id, "purse").status, payments))
    paid = "succeeded" if capture_method == "automatic" else "authorized"
    # The purse covers 3 payments; the others fail, and a failed payment uses no exemption (its transaction,
    # exemption decision included, rolled back), so none of the 12 is asked for a challenge.
    assert outcomes.count(paid) == 3
    assert outcomes.count("failed") == 9
    assert kleline.ledger.balance(purse_code(ada.id)).available == 500
    assert trial_balance(kleline.db).balanced


def test_concurrent_partial_refunds_queue_on_the_payment_and_return_the_commission_exactly(kleline: Kleline) -> None:
    shop = merchant(kleline, fee_bps=375)
    ada = shopper(kleline, purse=5000)
    payment = kleline.payments.create(shop, PaymentRequest(eur(2997)))
    kleline.payments.confirm(payment.id, ada.id, "purse")
    taken = kleline.payments.get(payment.id).fee

    def refund(_: int) -> str:
        try:
            return kleline.refunds.refund(shop, payment.id, eur(333)).status
        except RefundTooLarge:
            return "nothing left"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(refund, range(12)))
    assert outcomes.count("succeeded") == 9  # 9 x 3.33 = 29.97
    assert outcomes.count("nothing left") == 3
    assert sum(r.fee_returned for r in kleline.refunds.list(payment_id=payment.id)) == taken
    done = kleline.payments.get(payment.id)
    assert (done.amount_refunded, done.fee, done.net) == (2997, 0, 0)
    assert balance(kleline, "kleline:commission") == 0
    assert balance(kleline, purse_code(ada.id)) == 5000
    assert trial_balance(kleline.db).balanced
