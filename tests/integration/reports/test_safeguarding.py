"""Safeguarding as an accounting story, on both backends: a top-up by card, a payment, a settlement run whose
payout is in transit, a card settlement received in part, an unmatched bank line in suspense; the safeguarding
account against purses and merchants' balances, and the difference explained line by line."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.ledger import EntryRequest, credit, debit
from kleline.reconciliation import postings as reconciliation_postings
from kleline.reports.safeguarding import SUSPENSE_ACCOUNT, SafeguardingLine

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..payments.conftest import eur, merchant, shopper
from .conftest import pay


def _effects(lines: tuple[SafeguardingLine, ...]) -> dict[str, int]:
    return {line.code: line.effect for line in lines}


def test_the_difference_is_explained_line_by_line(kleline: Kleline, clock: FakeClock) -> None:
    own = kleline.own_account
    shop = merchant(kleline, fee_bps=350)
    ada = shopper(kleline, purse=10_000).id  # a top-up by card: card receivable Dr / purse Cr
    pay(kleline, shop, ada, 2000)  # purse Dr 2000; merchant Cr 1930; commission Cr 70
    run = kleline.settlement.run(
        actor=OPERATOR
    )  # the merchant's 1930 sent: merchant Dr / in-transit Cr, not yet on a statement
    assert run.payout_count == 1 and run.total == 1930
    kleline.ledger.post(  # the card network settles 6000 of the 10,000 top-up into the safeguarding account
        EntryRequest(
            "card-settlement-1",
            (debit(own.safeguarding_code, eur(6000)), credit("card:visa:receivable", eur(6000))),
            "card settlement received",
        )
    )
    kleline.ledger.post(  # a transfer nobody claims yet
        EntryRequest(
            "unmatched-line-1",
            (debit(own.safeguarding_code, eur(500)), credit(SUSPENSE_ACCOUNT, eur(500))),
            "unmatched statement line",
        )
    )

    (report,) = kleline.safeguarding.report().currencies
    assert report.currency == "EUR" and report.balanced
    assert [(line.code, line.balance) for line in report.safeguarding] == [(own.safeguarding_code, 6500)]
    assert [(line.kind, line.accounts, line.balance) for line in report.owed] == [
        ("purses", 1, 8000),
        ("merchant_balances", 1, 0),
    ]
    assert (report.safeguarded, report.owed_total, report.difference) == (6500, 8000, -1500)
    effects = _effects(report.explanation)
    assert {code: effect for code, effect in effects.items() if effect} == {
        "kleline:commission": 70,  # earned, still in the account
        "kleline:suspense": 500,  # received, nobody's yet
        own.in_transit_code: 1930,  # sent, not yet left the account
        "card:visa:receivable": -4000,  # owed by the network, not yet in the account
    }
    assert {"kleline:bad-debt", "card:mastercard:receivable"} <= effects.keys()  # every account has its line
    assert [line.kind for line in report.explanation][:4] == ["commission", "introductions", "suspense", "in_transit"]
    assert report.unexplained == 0


def test_the_bank_statement_closes_the_in_transit_line(kleline: Kleline, clock: FakeClock) -> None:
    own = kleline.own_account
    shop = merchant(kleline)
    ada = shopper(kleline, purse=3000).id
    pay(kleline, shop, ada, 3000)  # under the strong-authentication threshold: fee 105, the merchant's 2895
    kleline.settlement.run(actor=OPERATOR)
    kleline.ledger.post(
        EntryRequest(
            "settled", (debit(own.safeguarding_code, eur(3000)), credit("card:visa:receivable", eur(3000))), "x"
        )
    )
    kleline.ledger.post(  # the statement shows the payout leaving
        EntryRequest("paid", (debit(own.in_transit_code, eur(2895)), credit(own.safeguarding_code, eur(2895))), "x")
    )
    (report,) = kleline.safeguarding.report().currencies
    assert (report.safeguarded, report.owed_total, report.difference) == (105, 0, 105)
    assert {code: e for code, e in _effects(report.explanation).items() if e} == {"kleline:commission": 105}


def test_the_suspense_account_is_the_reconciliations() -> None:
    assert SUSPENSE_ACCOUNT == reconciliation_postings.SUSPENSE_ACCOUNT
