"""A settlement run that cannot proceed (one of Kleline's own accounts missing: a configuration fault) ends
``failed`` with its reason, is answered as a server-side ``configuration_error``, is left alone by the worker's sweep,
and, once the fault is fixed, the same period run again pays each merchant exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kleline.bootstrap import Kleline
from kleline.bootstrap.accounts import ensure_system_accounts
from kleline.merchants.model import balance_account
from kleline.sepa.model import OwnAccount
from kleline.settlement import Settlement, SettlementRunFailed

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from .conftest import IBANS, balance, balanced, fund, merchant

# Kleline's account at another bank than the one the books were opened for: its bank:<bic>:... accounts do not exist.
ELSEWHERE = OwnAccount("FR7630004000000000000000151", "BNPAFRPP", "Kleline SAS", "FR72ZZZ123456")


def settlement_at(kleline: Kleline, clock: FakeClock, own: OwnAccount, *, batch_size: int = 500) -> Settlement:
    return Settlement(kleline.db, kleline.ledger, own, clock=clock, minimum=1000, batch_size=batch_size)


def test_a_run_without_kleline_s_bank_accounts_fails_with_its_reason_and_pays_nobody(
    kleline: Kleline, clock: FakeClock
) -> None:
    shop = merchant(kleline, "Librairie")
    fund(kleline, shop, 5000)
    settlement = settlement_at(kleline, clock, ELSEWHERE)
    with pytest.raises(SettlementRunFailed) as failed:
        settlement.run(actor=OPERATOR)
    assert (failed.value.code, failed.value.status) == ("configuration_error", 500)
    assert "bank:BNPAFRPP:in-transit" in failed.value.detail
    run = settlement.find_run(clock().date())
    assert run is not None
    assert run.status == "failed"
    assert run.failure_reason is not None and "no account bank:BNPAFRPP:in-transit" in run.failure_reason
    assert settlement.get_run(run.id).status == "failed"
    assert settlement.run_payouts(run.id) == []
    assert balance(kleline, balance_account(shop)) == 5000
    # The worker's sweep does not retry a run that failed: the same fault would fail it again, every pass.
    clock.advance(hours=1)
    assert settlement.finish_interrupted(timedelta(minutes=5)) == []
    assert balanced(kleline)


def test_a_failed_run_run_again_once_fixed_pays_each_merchant_once(kleline: Kleline, clock: FakeClock) -> None:
    shops = [merchant(kleline, f"Shop {n}", iban=IBANS[n]) for n in range(3)]
    for n, shop in enumerate(shops):
        fund(kleline, shop, 2000 + n)
    settlement = settlement_at(kleline, clock, ELSEWHERE, batch_size=1)
    with pytest.raises(SettlementRunFailed):
        settlement.run(actor=OPERATOR)
    with pytest.raises(SettlementRunFailed):
        settlement.run(actor=OPERATOR)  # still broken: failed again, nothing paid
    ensure_system_accounts(kleline.ledger, ELSEWHERE)  # the fault fixed
    run = settlement.run(actor=OPERATOR)
    assert (run.status, run.failure_reason, run.payout_count, run.total) == ("complete", None, 3, 6003)
    assert sorted(p.merchant_id for p in settlement.run_payouts(run.id)) == sorted(shops)
    assert all(balance(kleline, balance_account(shop)) == 0 for shop in shops)
    assert balance(kleline, ELSEWHERE.in_transit_code) == -6003
    assert settlement.run(actor=OPERATOR) == run  # the same period again: the same run, nobody paid twice
    assert balanced(kleline)
