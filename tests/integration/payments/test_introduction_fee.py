"""The introduction fee (issue 15), worked to the cent on both backends: a customer an offer of the merchant
introduced pays, the fee is booked on its own line (``kleline:introductions``) at the commission's rule, and refunds
give it back pro rata, never more than was taken.

The numbers: a merchant at 3.5 % commission and 5 % introduction fee. 12.50 EUR paid: commission
round_half_up(43.75) = 44, introduction fee round_half_up(62.5) = 63, the merchant keeps 11.43. A refund of 5.00
leaves 7.50: commission 26 (18 back), fee 38 (25 back), the merchant gives 4.57. A refund of 3.33 leaves 4.17:
commission 15 (11 back), fee 21 (17 back), the merchant gives 3.05. The last 4.17 returns 15 and 21.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger.audit import trial_balance, verify
from kleline.merchants import store as merchant_store
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest
from kleline.payments.views import payment_json, refund_json
from kleline.wallet.customers import purse_code

from ...conftest import FakeClock
from .conftest import balance, eur, merchant, shopper
from .offer_rows import deliver_offer_with_sql

INTRODUCTIONS = "kleline:introductions"
COMMISSION = "kleline:commission"


def _books_hold(kleline: Kleline) -> None:
    """The trial balance balances, the hash chains verify, and the safeguarding report explains every cent."""
    assert trial_balance(kleline.db).balanced
    assert verify(kleline.db).ok
    assert all(currency.unexplained == 0 for currency in kleline.safeguarding.report().currencies)


def _paid(kleline: Kleline, shop: str, customer: str, minor: int) -> str:
    payment = kleline.payments.create(shop, PaymentRequest(eur(minor), description="Poetry"))
    assert kleline.payments.confirm(payment.id, customer, "purse").status == "succeeded"
    return payment.id


def test_an_introduced_customer_pays_the_fee_and_three_refunds_return_exactly_what_was_taken(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=5000)
    offer = deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock() - timedelta(days=3), answer="interested")

    payment_id = _paid(kleline, shop, ada.id, 1250)
    paid = kleline.payments.get(payment_id)
    assert (paid.intro_fee_bps, paid.introduction_offer_id) == (500, offer)
    assert (paid.fee, paid.introduction_fee, paid.net) == (44, 63, 1143)
    shown = payment_json(paid)
    assert (shown["fee"], shown["introduction_fee"], shown["introduction_offer_id"], shown["net"]) == (
        44,
        63,
        offer,
        1143,
    )
    assert balance(kleline, purse_code(ada.id)) == 3750
    assert balance(kleline, balance_account(shop)) == 1143
    assert (balance(kleline, COMMISSION), balance(kleline, INTRODUCTIONS)) == (44, 63)
    _books_hold(kleline)

    first = kleline.refunds.refund(shop, payment_id, eur(500))
    assert (first.fee_returned, first.intro_fee_returned) == (18, 25)
    assert refund_json(first)["intro_fee_returned"] == 25
    after = kleline.payments.get(payment_id)
    assert (after.amount_refunded, after.fee, after.introduction_fee, after.net) == (500, 26, 38, 686)
    assert balance(kleline, balance_account(shop)) == 686
    assert (balance(kleline, COMMISSION), balance(kleline, INTRODUCTIONS)) == (26, 38)

    second = kleline.refunds.refund(shop, payment_id, eur(333))
    assert (second.fee_returned, second.intro_fee_returned) == (11, 17)
    assert balance(kleline, balance_account(shop)) == 381
    assert (balance(kleline, COMMISSION), balance(kleline, INTRODUCTIONS)) == (15, 21)
    _books_hold(kleline)

    last = kleline.refunds.refund(shop, payment_id, eur(417))
    assert (last.fee_returned, last.intro_fee_returned) == (15, 21)
    assert first.intro_fee_returned + second.intro_fee_returned + last.intro_fee_returned == 63
    done = kleline.payments.get(payment_id)
    assert (done.amount_refunded, done.fee, done.introduction_fee, done.net) == (1250, 0, 0, 0)
    assert balance(kleline, purse_code(ada.id)) == 5000
    assert balance(kleline, balance_account(shop)) == 0
    assert (balance(kleline, COMMISSION), balance(kleline, INTRODUCTIONS)) == (0, 0)
    stored = {r.id: r.intro_fee_returned for r in kleline.refunds.list(payment_id=payment_id)}
    assert stored == {first.id: 25, second.id: 17, last.id: 21}
    _books_hold(kleline)


def test_a_card_payment_captured_in_part_and_refunded_through_the_issuer_returns_the_fee_pro_rata(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, "4242424242424242", 12, 2030, "123", "Ada Lovelace").id
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock() - timedelta(days=1), answer="share_email")
    payment = kleline.payments.create(shop, PaymentRequest(eur(2000), capture_method="manual"))
    authorized = kleline.payments.confirm(payment.id, ada.id, "card", card_id=card)
    assert (authorized.status, authorized.intro_fee_bps) == ("authorized", 500)

    # 15.00 taken: commission 60, introduction fee 75, the merchant keeps 13.65.
    captured = kleline.payments.capture(shop, payment.id, eur(1500))
    assert (captured.fee, captured.introduction_fee, captured.net) == (60, 75, 1365)
    assert (balance(kleline, balance_account(shop)), balance(kleline, INTRODUCTIONS)) == (1365, 75)

    # 4.99 back leaves 10.01: commission 40 (20 back), fee 50 (25 back).
    first = kleline.refunds.refund(shop, payment.id, eur(499))
    assert (first.status, first.fee_returned, first.intro_fee_returned) == ("succeeded", 20, 25)
    assert (balance(kleline, balance_account(shop)), balance(kleline, INTRODUCTIONS)) == (911, 50)
    rest = kleline.refunds.refund(shop, payment.id, eur(1001))
    assert (rest.fee_returned, rest.intro_fee_returned) == (40, 50)
    assert kleline.refunds.get(rest.id).intro_fee_returned == 50
    assert balance(kleline, "card:visa:receivable") == 0
    assert (balance(kleline, balance_account(shop)), balance(kleline, COMMISSION), balance(kleline, INTRODUCTIONS)) == (
        0,
        0,
        0,
    )
    _books_hold(kleline)


def test_the_introduction_lasts_thirty_days_from_the_delivery(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=10_000)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock(), answer="interested")
    clock.advance(days=29, hours=23, minutes=59)  # the last minute of the thirtieth day
    on_day_30 = kleline.payments.get(_paid(kleline, shop, ada.id, 1000))
    assert (on_day_30.intro_fee_bps, on_day_30.introduction_fee) == (500, 50)
    clock.advance(minutes=1)  # day 31
    on_day_31 = kleline.payments.get(_paid(kleline, shop, ada.id, 1000))
    assert (on_day_31.intro_fee_bps, on_day_31.introduction_offer_id, on_day_31.introduction_fee) == (0, None, 0)
    assert balance(kleline, INTRODUCTIONS) == 50
    _books_hold(kleline)


@pytest.mark.parametrize("answer", [None, "not_interested"])
def test_a_customer_who_did_not_answer_yes_carries_no_fee(
    kleline: Kleline, clock: FakeClock, answer: str | None
) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=5000)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock() - timedelta(days=1), answer=answer)
    paid = kleline.payments.get(_paid(kleline, shop, ada.id, 1250))
    assert (paid.intro_fee_bps, paid.introduction_offer_id, paid.introduction_fee, paid.net) == (0, None, 0, 1206)
    assert balance(kleline, INTRODUCTIONS) == 0


def test_an_introduction_to_one_merchant_carries_no_fee_at_another(kleline: Kleline, clock: FakeClock) -> None:
    introduced_to = merchant(kleline, name="Librairie Kléber")
    elsewhere = merchant(kleline, name="Fromagerie Gutenberg")
    ada = shopper(kleline, purse=5000)
    bob = shopper(kleline, purse=5000, email="bob@example.org")
    deliver_offer_with_sql(kleline, introduced_to, ada.id, delivered_at=clock(), answer="interested")
    assert kleline.payments.get(_paid(kleline, elsewhere, ada.id, 1250)).intro_fee_bps == 0
    assert kleline.payments.get(_paid(kleline, introduced_to, bob.id, 1250)).intro_fee_bps == 0  # another customer
    assert kleline.payments.get(_paid(kleline, introduced_to, ada.id, 1250)).intro_fee_bps == 500
    assert balance(kleline, INTRODUCTIONS) == 63
    _books_hold(kleline)


def test_a_cent_refunded_that_returns_a_cent_of_each_fee_credits_the_merchant_the_difference(
    kleline: Kleline, clock: FakeClock
) -> None:
    # 13 cents at 4 % and 20 %: fees 1 (0.52) and 3 (2.6), the merchant keeps 9. One cent back leaves 12: fees 0
    # (0.48) and 2 (2.4). Kleline gives back 2 cents for the customer's 1: the merchant's net is 10, one more.
    shop = merchant(kleline, fee_bps=400)
    with kleline.db.transaction() as tx:
        merchant_store.set_intro_fee(tx, shop, 2000)  # the highest rate (operators set it by four eyes)
    ada = shopper(kleline, purse=100)
    deliver_offer_with_sql(kleline, shop, ada.id, delivered_at=clock(), answer="interested")
    payment_id = _paid(kleline, shop, ada.id, 13)
    assert balance(kleline, balance_account(shop)) == 9
    refund = kleline.refunds.refund(shop, payment_id, eur(1))
    assert (refund.fee_returned, refund.intro_fee_returned) == (1, 1)
    assert kleline.payments.get(payment_id).net == 10
    assert balance(kleline, balance_account(shop)) == 10
    assert balance(kleline, purse_code(ada.id)) == 88
    _books_hold(kleline)
    rest = kleline.refunds.refund(shop, payment_id, eur(12))
    assert (rest.fee_returned, rest.intro_fee_returned) == (0, 2)
    assert (balance(kleline, balance_account(shop)), balance(kleline, INTRODUCTIONS)) == (0, 0)
    statement = kleline.reports.statement(shop, "2026-01")
    lines = [(m.kind, m.gross, m.commission, m.introduction, m.net) for m in statement.movements]
    assert lines == [("payment", 13, -1, -3, 9), ("refund", -1, 1, 1, 1), ("refund", -12, 0, 2, -10)]
    today = kleline.overview.of(shop).today
    assert (today.gross, today.refunds, today.commission, today.net) == (13, 13, 0, 0)
    _books_hold(kleline)
