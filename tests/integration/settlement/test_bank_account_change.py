"""A shop that changes its bank account: settlement pays into the account the merchant has when a run makes its
payouts, so a new IBAN is paid only once an operator approved it, and a payout made before keeps the old one."""

from __future__ import annotations

from kleline.bootstrap import Kleline
from kleline.merchant_users import Actor
from kleline.sepa import read_credit_transfers

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import IBANS, fund, merchant


def _transfers(kleline: Kleline, run_id: str) -> list[str]:
    return [transfer.iban for transfer in read_credit_transfers(kleline.settlement.run_file(run_id))[1]]


def test_payouts_go_to_the_new_account_only_after_its_approval_and_earlier_ones_keep_the_old(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline, "Librairie Kléber", iban=IBANS[0])
    token = kleline.merchant_users.invite(shop, "owner@example.org", "owner", by=OPERATOR).url.rsplit("/", 1)[1]
    owner = kleline.merchant_users.accept(token, "Ada", "correct horse battery staple")
    fund(kleline, shop, 5_000, entry_id="day-1")
    first = kleline.settlement.run(actor=OPERATOR)

    change = kleline.bank_account_changes.request(Actor(owner), IBANS[1])
    clock.advance(days=1)
    fund(kleline, shop, 6_000, entry_id="day-2")
    second = kleline.settlement.run(actor=OPERATOR)  # the change is still pending: the old account is paid

    kleline.bank_account_changes.approve(shop, change.id, by="operator key 1", actor=OPERATOR)
    clock.advance(days=1)
    fund(kleline, shop, 7_000, entry_id="day-3")
    third = kleline.settlement.run(actor=OPERATOR)

    assert [_transfers(kleline, run.id) for run in (first, second, third)] == [[IBANS[0]], [IBANS[0]], [IBANS[1]]]
    paid_to = {run.id: [p.creditor.iban for p in kleline.settlement.run_payouts(run.id)] for run in (first, third)}
    assert paid_to == {first.id: [IBANS[0]], third.id: [IBANS[1]]}  # each payout keeps the account it was sent to
