"""A merchant's month, read from the books: the figures, the movements and the balances, on both backends."""

from __future__ import annotations

import pytest

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, credit, debit
from kleline.merchants import UnknownMerchant
from kleline.merchants.model import balance_account
from kleline.payments.model import PaymentRequest
from kleline.reports import InvalidMonth, Month, StatementPeriodOpen, UnknownFormat

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..payments.conftest import IBAN, eur, merchant, shopper
from .conftest import pay, pay_out_on_statement, return_payout, send_payout


def _january(kleline: Kleline, clock: FakeClock) -> tuple[str, str, str]:
    """12.50 and 25.00 paid at 3.5 %, 5.00 of the first refunded, 20.00 paid out: the shop, both payments."""
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=50_000)
    first = pay(kleline, shop, ada.id, 1250, reference="CMD-1")
    clock.advance(hours=1)
    second = pay(kleline, shop, ada.id, 2500)
    clock.advance(hours=1)
    kleline.refunds.refund(shop, first, eur(500))
    clock.advance(days=1)
    send_payout(kleline, shop, 2000, "po_jan")
    pay_out_on_statement(kleline, shop, 2000, "po_jan")  # moves Kleline's bank accounts, not the merchant's balance
    return shop, first, second


def test_a_month_of_payments_a_refund_and_a_payout_reads_as_the_books_say(kleline: Kleline, clock: FakeClock) -> None:
    shop, first, second = _january(kleline, clock)
    statement = kleline.reports.statement(shop, "2026-01")

    assert (statement.opening_balance, statement.turnover, statement.refunds) == (0, 3750, 500)
    assert (statement.commission_charged, statement.commission_returned, statement.commission) == (132, 18, 114)
    assert (statement.payouts, statement.payouts_returned, statement.adjustments) == (2000, 0, 0)
    assert statement.closing_balance == 3750 - 500 - 114 - 2000 == 1136
    assert statement.closing_balance == kleline.ledger.balance(balance_account(shop)).posted
    assert statement.currency == "EUR" and not statement.closed

    lines = [(m.kind, m.object_id, m.gross, m.commission, m.net, m.balance_after) for m in statement.movements]
    refund = statement.movements[2].object_id
    assert lines == [
        ("payment", first, 1250, -44, 1206, 1206),
        ("payment", second, 2500, -88, 2412, 3618),
        ("refund", refund, -500, 18, -482, 3136),
        ("payout", "po_jan", -2000, 0, -2000, 1136),
    ]
    assert refund.startswith("re_") and statement.movements[2].payment_id == first
    assert statement.movements[0].reference == "CMD-1" and statement.movements[2].reference == "CMD-1"
    assert statement.movements[0].description == "Books"
    assert statement.movements[0].fee_bps == 350
    assert statement.movements[3].entry_id == "po_jan:sent"


def test_february_opens_where_january_closed_and_january_stays_as_it_was(kleline: Kleline, clock: FakeClock) -> None:
    shop, _, _ = _january(kleline, clock)
    clock.now = clock.now.replace(month=2, day=3)
    january = kleline.reports.statement(shop, Month(2026, 1))
    assert january.closed

    ada = shopper(kleline, purse=10_000, email="bob@example.org")
    pay(kleline, shop, ada.id, 2000)
    return_payout(kleline, shop, 2000, "po_jan")  # the merchant's bank sent January's payout back

    assert kleline.reports.statement(shop, "2026-01") == january
    february = kleline.reports.statement(shop, "2026-02")
    assert february.opening_balance == january.closing_balance == 1136
    assert (february.turnover, february.commission, february.payouts_returned) == (2000, 70, 2000)
    assert [m.kind for m in february.movements] == ["payment", "payout_returned"]
    assert february.movements[1].object_id == "po_jan"
    assert february.closing_balance == 1136 + 1930 + 2000
    assert february.closing_balance == kleline.ledger.balance(balance_account(shop)).posted


def test_an_operators_correction_on_the_balance_is_an_adjustment(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    kleline.ledger.post(
        EntryRequest(
            "fix-1",
            (debit("kleline:suspense", eur(100)), credit(balance_account(shop), eur(100))),
            "unidentified transfer credited to the merchant",
        )
    )
    statement = kleline.reports.statement(shop, "2026-01")
    assert [(m.kind, m.object_id, m.net) for m in statement.movements] == [("adjustment", "fix-1", 100)]
    assert (statement.adjustments, statement.closing_balance) == (100, 100)
    assert statement.movements[0].description == "unidentified transfer credited to the merchant"


def test_a_refund_paid_entirely_out_of_the_commission_is_on_the_statement(kleline: Kleline, clock: FakeClock) -> None:
    # 0.13 at 4 % costs 0.01 (0.52 rounded up); refunding 0.01 leaves 0.12, whose fee is 0 (0.48 rounded down):
    # the refund returns exactly its own amount of commission and never touches the merchant's balance.
    shop = merchant(kleline, fee_bps=400)
    ada = shopper(kleline, purse=1000)
    payment = pay(kleline, shop, ada.id, 13)
    refund = kleline.refunds.refund(shop, payment, eur(1))
    assert refund.fee_returned == 1

    statement = kleline.reports.statement(shop, "2026-01")
    assert [(m.kind, m.gross, m.commission, m.net) for m in statement.movements] == [
        ("payment", 13, -1, 12),
        ("refund", -1, 1, 0),
    ]
    assert (statement.turnover, statement.refunds, statement.commission, statement.closing_balance) == (13, 1, 0, 12)
    assert statement.movements[1].object_id == refund.id


def test_a_card_payment_reads_as_a_purse_payment_does(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline, fee_bps=300)
    ada = shopper(kleline)
    card = kleline.cards.register(ada.id, "4242424242424242", 12, 2030, "123", "Ada Lovelace").id
    payment = kleline.payments.create(shop, PaymentRequest(eur(2500)))
    assert kleline.payments.confirm(payment.id, ada.id, "card", card_id=card).status == "succeeded"
    statement = kleline.reports.statement(shop, "2026-01")
    assert [(m.kind, m.gross, m.commission, m.net) for m in statement.movements] == [("payment", 2500, -75, 2425)]


def test_a_merchant_awaiting_approval_has_an_empty_statement(kleline: Kleline) -> None:
    pending, _ = kleline.merchants.register(name="Atelier Nord", email="a@example.fr", iban=IBAN)
    statement = kleline.reports.statement(pending.id, "2026-01")
    assert (statement.opening_balance, statement.closing_balance, statement.movements) == (0, 0, ())
    assert statement.merchant.name == "Atelier Nord"


def test_months_outside_the_books_are_refused(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    for month in ("2026-13", "2026-1", "26-01", "january", ""):
        with pytest.raises(InvalidMonth) as refused:
            kleline.reports.statement(shop, month)
        assert refused.value.param == "month"
    with pytest.raises(InvalidMonth, match="has not begun"):
        kleline.reports.statement(shop, "2026-02")
    with pytest.raises(UnknownMerchant):
        kleline.reports.statement("mer_nobody", "2026-01")
    with pytest.raises(UnknownFormat):
        kleline.reports.statement_document(shop, "2026-01", "xlsx")
    assert kleline.reports.statement(shop, "1999-12").movements == ()


def test_the_invoice_waits_for_the_end_of_the_month(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    pay(kleline, shop, shopper(kleline, purse=5000).id, 1250)
    with pytest.raises(StatementPeriodOpen) as refused:
        kleline.reports.statement_document(shop, "2026-01", "pdf")
    assert (refused.value.status, refused.value.code) == (409, "statement_period_open")
    clock.now = clock.now.replace(month=2, day=1, hour=0, minute=5)  # the month closes 5 minutes after its end
    assert kleline.reports.statement_document(shop, "2026-01", "pdf").content.startswith(b"%PDF-")


def test_a_payout_of_the_settlement_run_is_named_on_the_statement(kleline: Kleline, clock: FakeClock) -> None:
    shop = merchant(kleline)
    ada = shopper(kleline, purse=50_000)
    pay(kleline, shop, ada.id, 2500)
    clock.advance(days=1)
    run = kleline.settlement.run(actor=OPERATOR)
    (payout,) = kleline.settlement.run_payouts(run.id)
    statement = kleline.reports.statement(shop, "2026-01")
    assert [(m.kind, m.object_id, m.net) for m in statement.movements] == [
        ("payment", statement.movements[0].object_id, 2412),
        ("payout", payout.id, -2412),
    ]
    assert (statement.payouts, statement.closing_balance) == (payout.amount.minor, 0)
