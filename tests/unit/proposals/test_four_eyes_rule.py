"""The four-eyes rule as a table: who may approve, reject or withdraw a proposal, in which state; and the powers each
act takes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.proposals import (
    POWERS,
    NotProposer,
    Proposal,
    ProposalDecided,
    ProposalKind,
    ProposalStatus,
    SameApprover,
    same_actor,
)
from kleline.proposals.errors import InvalidProposal
from kleline.proposals.model import Decision, check_decision, check_reason
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power, Role, allows

ALICE = StaffActor("key", "1", Role.FINANCE, "203.0.113.1")


def proposal(status: ProposalStatus = "pending") -> Proposal:
    return Proposal(
        id="prop_1",
        kind=ProposalKind.WRITE_OFF,
        subject_type="customer",
        subject_id="cus_1",
        parameters={"amount": 100, "currency": "EUR", "owed": 100},
        status=status,
        proposed_by=StaffActor("key", "1", Role.FINANCE),
        proposed_at=datetime(2026, 1, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("actor", "same"),
    [
        (StaffActor("key", "1", None, "198.51.100.1"), True),  # the same key, whatever its role or address
        (StaffActor("key", "2", Role.FINANCE), False),  # two keys are two people
        (StaffActor("cli", "1", None), False),  # another door with the same id is someone else
        (StaffActor("staff", "1", Role.FINANCE), False),
    ],
)
def test_the_same_person_is_the_same_door_and_id(actor: StaffActor, same: bool) -> None:
    assert same_actor(ALICE, actor) is same


@pytest.mark.parametrize(
    ("who", "decision", "refusal"),
    [
        (ALICE, "approved", SameApprover),
        (ALICE, "rejected", SameApprover),
        (ALICE, "withdrawn", None),
        (StaffActor("key", "2", Role.FINANCE), "approved", None),
        (StaffActor("key", "2", Role.FINANCE), "rejected", None),
        (StaffActor("key", "2", Role.FINANCE), "withdrawn", NotProposer),
    ],
)
def test_a_second_person_decides_and_the_proposer_withdraws(
    who: StaffActor, decision: Decision, refusal: type[Exception] | None
) -> None:
    if refusal is None:
        check_decision(proposal(), who, decision)
    else:
        with pytest.raises(refusal):
            check_decision(proposal(), who, decision)


@pytest.mark.parametrize("status", ["approved", "rejected", "withdrawn", "failed"])
@pytest.mark.parametrize("decision", ["approved", "rejected", "withdrawn"])
def test_nothing_decides_a_proposal_twice(status: ProposalStatus, decision: Decision) -> None:
    with pytest.raises(ProposalDecided) as decided:
        check_decision(proposal(status), StaffActor("key", "2", None), decision)
    assert decided.value.extensions() == {"proposal_status": status}


def test_each_act_takes_the_power_of_its_trade() -> None:
    assert POWERS == {
        ProposalKind.WRITE_OFF: Power.MANAGE_RECEIVABLES,
        ProposalKind.SUSPENSE_RESOLUTION: Power.RESOLVE_SUSPENSE,
        ProposalKind.COMMISSION_RATE: Power.DECIDE_MERCHANTS,
        ProposalKind.BANK_ACCOUNT: Power.DECIDE_MERCHANTS,
        ProposalKind.INTRO_FEE_RATE: Power.DECIDE_MERCHANTS,
    }
    assert [role for role in Role if allows(role, Power.MANAGE_RECEIVABLES)] == [Role.FINANCE]
    assert [role for role in Role if allows(role, Power.DECIDE_MERCHANTS)] == [Role.COMPLIANCE]


def test_a_rejection_s_reason_is_one_line_of_1_to_500_printable_characters() -> None:
    assert check_reason("  Not\nthis   month ") == "Not this month"
    for bad in ("", "   ", "x" * 501, "bell\x07"):
        with pytest.raises(InvalidProposal):
            check_reason(bad)
