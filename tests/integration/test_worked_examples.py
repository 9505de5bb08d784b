"""Accounting stories, checked to the cent on both backends."""

from kleline.ledger import EntryRequest, HoldRequest, Ledger, credit, debit
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money

from .helpers import eur, open_chart, transfer

PURSE = "customer:cus_1:purse"
MERCHANT = "merchant:mer_1:balance"
COMMISSION = "kleline:commission"
CARDS = "card:visa:receivable"


def test_top_up_pay_at_3_5_percent_then_partial_refund(ledger: Ledger) -> None:
    """A customer tops up 50 EUR, pays 12.50 to a merchant at 3.5 %, is refunded 5 EUR."""
    open_chart(ledger)
    ledger.post(transfer("ent_topup", CARDS, PURSE, 5000, "purse top-up by card"))

    price = eur(1250)
    fee = price.share_bps(350)  # 0.4375 -> 0.44
    ledger.post(
        EntryRequest(
            "ent_pay",
            (debit(PURSE, price), credit(MERCHANT, price - fee), credit(COMMISSION, fee)),
            "purse payment captured",
        )
    )
    # Refund 5 of 12.50: the commission on what stays captured is 350 bps of 7.50 = 0.2625 -> 0.26, so the
    # refund returns 0.44 - 0.26 = 0.18 of commission, and the merchant gives back the rest.
    refund = eur(500)
    fee_after = eur(750).share_bps(350)
    returned_fee = fee - fee_after
    ledger.post(
        EntryRequest(
            "ent_refund",
            (debit(MERCHANT, refund - returned_fee), debit(COMMISSION, returned_fee), credit(PURSE, refund)),
            "refund",
        )
    )

    assert ledger.balance(PURSE).posted == 5000 - 1250 + 500 == 4250
    assert ledger.balance(MERCHANT).posted == (1250 - 44) - (500 - 18) == 724
    assert ledger.balance(COMMISSION).posted == 44 - 18 == 26 == fee_after.minor
    assert ledger.balance(CARDS).posted == 5000
    books = trial_balance(ledger.db)
    assert books.balanced
    assert books.currencies["EUR"].debits == books.currencies["EUR"].credits == 5000
    assert verify(ledger.db).ok


def test_purse_payment_held_then_captured_in_part(ledger: Ledger, clock) -> None:  # type: ignore[no-untyped-def]
    """A 30 EUR purse payment is authorised (held), 20 EUR captured at 3 %, the other 10 released."""
    open_chart(ledger)
    ledger.post(transfer("ent_topup", CARDS, PURSE, 4000))
    ledger.hold(
        HoldRequest(
            "hold_pay1",
            (debit(PURSE, eur(3000)), credit(MERCHANT, eur(3000))),
            clock.now.replace(day=22),
            "purse payment authorised",
        )
    )
    held = ledger.balance(PURSE)
    assert (held.posted, held.held, held.available) == (4000, 3000, 1000)

    fee = eur(2000).share_bps(300)
    ledger.commit(
        "hold_pay1",
        postings=(debit(PURSE, eur(2000)), credit(MERCHANT, eur(2000) - fee), credit(COMMISSION, fee)),
    )
    after = ledger.balance(PURSE)
    assert (after.posted, after.held, after.available) == (2000, 0, 2000)
    assert ledger.balance(MERCHANT).posted == 1940
    assert ledger.balance(COMMISSION).posted == 60
    assert verify(ledger.db).ok


def test_history_shows_each_movement_with_its_running_balance(ledger: Ledger) -> None:
    open_chart(ledger)
    ledger.post(transfer("e1", CARDS, PURSE, 1000, "top-up"))
    ledger.post(transfer("e2", PURSE, MERCHANT, 300, "coffee"))
    ledger.post(transfer("e3", CARDS, PURSE, 50, "top-up"))
    lines = ledger.history(PURSE)
    assert [(h.entry_id, h.amount, h.balance_after, h.description) for h in lines] == [
        ("e3", 50, 750, "top-up"),
        ("e2", -300, 700, "coffee"),
        ("e1", 1000, 1000, "top-up"),
    ]
    older = ledger.history(PURSE, limit=1, before=lines[0].sequence)
    assert [h.entry_id for h in older] == ["e2"]


def test_entries_in_several_currencies_balance_per_currency(ledger: Ledger) -> None:
    from kleline.ledger import NormalSide

    ledger.open_account("fx:EUR", "EUR", NormalSide.DEBIT)
    ledger.open_account("fx:USD", "USD", NormalSide.DEBIT)
    ledger.open_account("customer:cus_1:eur", "EUR", NormalSide.CREDIT)
    ledger.open_account("customer:cus_1:usd", "USD", NormalSide.CREDIT)
    ledger.post(
        EntryRequest(
            "ent_fx",
            (
                debit("customer:cus_1:eur", Money(1000, "EUR")),
                credit("fx:EUR", Money(1000, "EUR")),
                debit("fx:USD", Money(1085, "USD")),
                credit("customer:cus_1:usd", Money(1085, "USD")),
            ),
        )
    )
    books = trial_balance(ledger.db)
    assert books.balanced
    assert set(books.currencies) == {"EUR", "USD"}
