"""Card refunds through the network: 0200 with processing code 20, credited once per reference."""

from __future__ import annotations

import pytest

from kleline.banks import (
    AuthorizationClosed,
    CardDetails,
    CardRefund,
    DuplicateReference,
    InvalidAmount,
    IsoBankNetwork,
    MalformedMessage,
    RefundRefused,
    SandboxIssuers,
    UnknownAuthorization,
)
from kleline.banks.messages import RefundRequest, RefundResponse, decode_message, decode_request, encode_message
from kleline.errors import ValidationError
from kleline.money import Money

VISA = "4242424242424242"


def euros(minor: int) -> Money:
    return Money(minor, "EUR")


def captured(network: IsoBankNetwork, amount: int, reference: str = "pay_1") -> str:
    authorization = network.authorize(CardDetails(VISA, 12, 2030, "123"), euros(amount), reference)
    assert authorization.authorization_id is not None
    network.capture(authorization.authorization_id, euros(amount))
    return authorization.authorization_id


def test_a_refund_message_carries_its_reference_and_reads_back_identically() -> None:
    request = RefundRequest("000042", "ABCDEF123456", "101010", euros(1250), "re_0123abcd", "KLELINE1", "KLELINE")
    data = encode_message(request)
    assert data[:4] == b"0200" and b"200000" in data and b"61" + b"11re_0123abcd" in data
    assert decode_request(data) == request
    response = RefundResponse("000042", "ABCDEF123456", euros(1250), "re_0123abcd", "00")
    assert decode_message(encode_message(response)) == response


def test_a_0200_message_that_is_not_a_refund_is_not_one_of_ours() -> None:
    request = RefundRequest("000042", "ABCDEF123456", "101010", euros(1250), "re_1", "KLELINE1", "KLELINE")
    data = encode_message(request).replace(b"200000", b"000000", 1)
    with pytest.raises(MalformedMessage, match="processing code 20"):
        decode_request(data)


def test_a_refund_credits_the_cardholder_and_a_repeat_of_its_reference_credits_nothing_more(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    authorization_id = captured(network, 4000)
    before = issuers.balance(VISA, "EUR").posted
    refund = network.refund(authorization_id, euros(1500), "re_first")
    assert refund == CardRefund(authorization_id, euros(1500), "re_first", "00")
    assert network.refund(authorization_id, euros(1500), "re_first") == refund
    assert issuers.balance(VISA, "EUR").posted == before + euros(1500)


def test_refunds_never_add_up_to_more_than_was_captured(network: IsoBankNetwork, issuers: SandboxIssuers) -> None:
    authorization_id = captured(network, 4000)
    network.refund(authorization_id, euros(3000), "re_1")
    with pytest.raises(RefundRefused) as refused:
        network.refund(authorization_id, euros(1001), "re_2")
    assert refused.value.param == "amount"
    network.refund(authorization_id, euros(1000), "re_3")
    with pytest.raises(RefundRefused):
        network.refund(authorization_id, Money(1, "USD"), "re_4")


def test_a_reference_reused_for_another_refund_is_refused(network: IsoBankNetwork) -> None:
    authorization_id = captured(network, 4000)
    network.refund(authorization_id, euros(100), "re_1")
    with pytest.raises(DuplicateReference):
        network.refund(authorization_id, euros(200), "re_1")


def test_only_a_captured_authorisation_can_be_refunded(network: IsoBankNetwork) -> None:
    authorization = network.authorize(CardDetails(VISA, 12, 2030, "123"), euros(500), "pay_open")
    assert authorization.authorization_id is not None
    with pytest.raises(AuthorizationClosed):
        network.refund(authorization.authorization_id, euros(100), "re_open")
    network.reverse(authorization.authorization_id)
    with pytest.raises(AuthorizationClosed):
        network.refund(authorization.authorization_id, euros(100), "re_reversed")
    with pytest.raises(UnknownAuthorization):
        network.refund("UNKNOWN00000", euros(100), "re_unknown")


def test_a_refund_is_checked_before_anything_is_sent(network: IsoBankNetwork) -> None:
    with pytest.raises(InvalidAmount):
        network.refund("ABCDEF123456", euros(0), "re_1")
    with pytest.raises(ValidationError):
        network.refund("ABCDEF123456", euros(1), "")
    with pytest.raises(ValidationError):
        network.refund("ABCDEF123456", euros(1), "r" * 100)
    with pytest.raises(UnknownAuthorization):
        network.refund("not an rrn", euros(1), "re_1")
