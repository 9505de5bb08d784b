"""A lost answer never leaves money held: the network reverses an unanswered authorisation at once."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import pytest

from kleline.banks import (
    CardDetails,
    InProcessTransport,
    IsoBankNetwork,
    IssuerUnreachable,
    MalformedMessage,
    NoAnswer,
    SandboxIssuers,
    TcpTransport,
    UnexpectedResponse,
)
from kleline.banks.messages import (
    AuthorizationRequest,
    AuthorizationResponse,
    ReversalRequest,
    ReversalResponse,
    decode_response,
    encode_message,
)
from kleline.money import Money

from .harness import LossyIssuers, serving

VISA = "4242424242424242"
CARD = CardDetails(VISA, 12, 2030, "123")


def euros(minor: int) -> Money:
    return Money(minor, "EUR")


def test_an_authorisation_whose_answer_is_lost_is_reversed_at_once_and_nothing_stays_held() -> None:
    lossy = LossyIssuers()
    lossy.lose.add("0100")
    with serving(lossy) as server, TcpTransport(*server.server_address, timeout=0.5) as transport:
        with pytest.raises(NoAnswer):
            IsoBankNetwork(transport).authorize(CARD, euros(2500), "pay_lost")
    assert lossy.seen == ["0100", "0400"]
    assert lossy.issuers.balance(VISA, "EUR").held == euros(0)


def test_an_authorisation_lost_on_its_way_is_reversed_and_refused_if_it_arrives_after_its_reversal() -> None:
    issuers = SandboxIssuers()
    late = AuthorizationRequest("000001", "LATE00000001", "101010", CARD, euros(900), "KLELINE1", "KLELINE")
    reversal = ReversalRequest("000002", "LATE00000001", "101011", "KLELINE1", "KLELINE")
    # The reversal overtakes the authorisation it cancels: the issuer knows nothing of it yet...
    assert decode_response(issuers.handle(encode_message(reversal))) == ReversalResponse("000002", late.rrn, "25")
    # ...and refuses the authorisation when it finally comes, instead of holding funds nobody will release.
    answer = decode_response(issuers.handle(encode_message(late)))
    assert isinstance(answer, AuthorizationResponse) and answer.code == "12"
    assert issuers.balance(VISA, "EUR").held == euros(0)


def test_an_unreachable_network_is_told_apart_and_needs_no_reversal() -> None:
    lossy = LossyIssuers()
    with serving(lossy) as server:
        address = server.server_address
    with TcpTransport(*address, timeout=0.3) as transport, pytest.raises(IssuerUnreachable):
        IsoBankNetwork(transport).authorize(CARD, euros(100), "pay_unreachable")
    assert lossy.seen == []


def test_a_lost_answer_to_a_verification_needs_no_reversal_since_it_holds_nothing() -> None:
    lossy = LossyIssuers()
    lossy.lose.add("0100")
    with serving(lossy) as server, TcpTransport(*server.server_address, timeout=0.5) as transport:
        with pytest.raises(NoAnswer):
            IsoBankNetwork(transport).verify_card(CARD)
    assert lossy.seen == ["0100"]


def test_a_reversal_that_is_lost_too_is_logged_when_no_queue_takes_it(caplog: pytest.LogCaptureFixture) -> None:
    lossy = LossyIssuers()
    lossy.lose.add("0100")
    lossy.drop.add("0400")
    with serving(lossy) as server, TcpTransport(*server.server_address, timeout=0.5) as transport:
        with pytest.raises(NoAnswer):
            IsoBankNetwork(transport).authorize(CARD, euros(700), "pay_stuck")
    assert lossy.issuers.balance(VISA, "EUR").held == euros(700)  # what the queue exists for
    assert any(r.levelno == logging.ERROR and "nothing queues it" in r.getMessage() for r in caplog.records)


def test_the_in_process_sandbox_and_the_tcp_link_give_the_same_answers() -> None:
    with serving(LossyIssuers()) as server, TcpTransport(*server.server_address, timeout=1) as transport:
        over_tcp = IsoBankNetwork(transport).authorize(CARD, euros(1250), "pay_same")
    in_process = IsoBankNetwork(InProcessTransport(SandboxIssuers())).authorize(CARD, euros(1250), "pay_same")
    assert over_tcp.authorization_id == in_process.authorization_id
    assert (over_tcp.code, over_tcp.amount, over_tcp.cvc_result) == (
        in_process.code,
        in_process.amount,
        in_process.cvc_result,
    )


class _GarbledAuthorisations:
    """The sandbox issuers in process, whose authorisation answers arrive unreadable or as another request's."""

    def __init__(self, issuers: SandboxIssuers, garble: Callable[[bytes], bytes]) -> None:
        self.issuers = issuers
        self.garble = garble
        self.seen: list[str] = []

    def exchange(self, request: bytes) -> bytes:
        self.seen.append(request[:4].decode("ascii"))
        answer = self.issuers.handle(request)
        return self.garble(answer) if request.startswith(b"0100") else answer


def _another_trace_number(answer: bytes) -> bytes:
    response = decode_response(answer)
    assert isinstance(response, AuthorizationResponse)
    return encode_message(dataclasses.replace(response, stan="999999"))


@pytest.mark.parametrize(
    ("garble", "error"),
    [
        (lambda answer: answer[:7], MalformedMessage),  # cut short: not a message of our spec
        (_another_trace_number, UnexpectedResponse),  # the answer to another request: ours is lost
    ],
    ids=["unreadable", "crossed"],
)
def test_an_authorisation_whose_answer_cannot_be_read_is_reversed_like_a_lost_one(
    garble: Callable[[bytes], bytes], error: type[Exception]
) -> None:
    issuers = SandboxIssuers()
    transport = _GarbledAuthorisations(issuers, garble)
    with pytest.raises(error):
        IsoBankNetwork(transport).authorize(CARD, euros(3100), "pay_garbled")
    assert transport.seen == ["0100", "0400"]
    assert issuers.balance(VISA, "EUR").held == euros(0)


def test_an_authorisation_that_cannot_even_be_encoded_sends_no_reversal() -> None:
    issuers = SandboxIssuers()
    transport = _GarbledAuthorisations(issuers, lambda answer: answer)
    with pytest.raises(MalformedMessage):
        IsoBankNetwork(transport).authorize(CARD, Money(10**12, "EUR"), "pay_too_large")
    assert transport.seen == []
