"""The bank account change's rules: which decision may follow which, and how long owners are told of one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kleline.merchant_users.model import ANNOUNCED_FOR, BankAccountChange, decision_refusal, is_announced

AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize("decision", ["approved", "rejected", "withdrawn"])
def test_a_pending_change_may_take_any_decision_and_the_same_one_again(decision: str) -> None:
    assert decision_refusal("pending", decision) is None  # type: ignore[arg-type]
    assert decision_refusal(decision, decision) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "decision"),
    [("approved", "rejected"), ("approved", "withdrawn"), ("rejected", "approved"), ("withdrawn", "approved")],
)
def test_a_decided_change_takes_no_other_decision(status: str, decision: str) -> None:
    assert decision_refusal(status, decision) == (  # type: ignore[arg-type]
        f"this bank account change is already {status}: it can no longer be {decision}"
    )


def test_a_change_is_announced_while_pending_and_for_fourteen_days_after_its_decision() -> None:
    pending = BankAccountChange("bac_1", "mer_1", "DE89370400440532013000", "COBADEFFXXX", "pending", "mu_1", AT)
    assert is_announced(pending, AT + timedelta(days=365))
    decided = BankAccountChange(
        "bac_1", "mer_1", "DE89370400440532013000", "COBADEFFXXX", "approved", "mu_1", AT, decided_at=AT
    )
    assert ANNOUNCED_FOR == timedelta(days=14)
    assert is_announced(decided, AT + ANNOUNCED_FOR - timedelta(microseconds=1))
    assert not is_announced(decided, AT + ANNOUNCED_FOR)
    assert (decided.masked_iban, decided.masked_previous_iban) == ("DE****************3000", None)
