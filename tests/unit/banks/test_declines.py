"""Issuers' response codes become a small, stable vocabulary of decline codes."""

from __future__ import annotations

import pytest

from kleline.banks import APPROVAL_CODES, DECLINE_CODES, GENERIC_DECLINE, ResponseCode, decline_code, decline_message


@pytest.mark.parametrize(
    ("response_code", "expected"),
    [
        ("05", "do_not_honor"),
        ("14", "invalid_card_number"),
        ("15", "unknown_issuer"),
        ("51", "insufficient_funds"),
        ("54", "expired_card"),
        ("N7", "incorrect_cvc"),
        ("1A", "authentication_required"),
        ("41", "do_not_honor"),
        ("43", "do_not_honor"),
        ("91", "issuer_unavailable"),
        ("Q1", GENERIC_DECLINE),
    ],
)
def test_a_response_code_maps_to_one_stable_decline_code(response_code: str, expected: str) -> None:
    assert decline_code(response_code) == expected


def test_every_decline_the_sandbox_answers_has_a_name_of_its_own() -> None:
    for code in (ResponseCode.DO_NOT_HONOUR, ResponseCode.INSUFFICIENT_FUNDS, ResponseCode.EXPIRED_CARD):
        assert code.value in DECLINE_CODES
    assert ResponseCode.CVC_FAILED.value in DECLINE_CODES


@pytest.mark.parametrize("approval", sorted(APPROVAL_CODES))
def test_an_approval_has_no_decline_code(approval: str) -> None:
    with pytest.raises(ValueError, match="approval"):
        decline_code(approval)


def test_every_decline_code_has_a_message_that_names_no_response_code() -> None:
    for name in {*DECLINE_CODES.values(), GENERIC_DECLINE}:
        message = decline_message(name)
        assert message
        assert not any(code in message for code in DECLINE_CODES)
