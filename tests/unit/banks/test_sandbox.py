"""The public test cards and the issuers' bookkeeping, through IsoBankNetwork, ISO 8583 bytes and SandboxIssuers."""

import threading

import pytest

from kleline.banks import (
    AuthorizationClosed,
    CaptureExceedsAuthorization,
    CardDetails,
    CvcResult,
    DuplicateReference,
    InProcessTransport,
    InvalidAmount,
    InvalidCardDetails,
    IsoBankNetwork,
    MalformedMessage,
    SandboxIssuers,
    UnexpectedResponse,
    UnknownAuthorization,
)
from kleline.banks.messages import EchoResponse, decode_request, encode_message
from kleline.errors import KlelineError
from kleline.money import Money
from tests.unit.banks.conftest import fixed_clock

EUR = "EUR"
VISA = "4242424242424242"


def card(number: str, cvc: str | None = "123", month: int = 12, year: int = 2030) -> CardDetails:
    return CardDetails(number, month, year, cvc)


def euros(minor: int) -> Money:
    return Money(minor, EUR)


@pytest.mark.parametrize("number", ["4242 4242 4242 4242", "5555 5555 5555 4444"])
def test_the_approving_test_cards_are_approved_and_hold_the_amount(
    network: IsoBankNetwork, issuers: SandboxIssuers, number: str
) -> None:
    result = network.authorize(card(number), euros(1250), "pay_1")
    assert result.approved and result.code == "00" and not result.requires_sca
    assert result.authorization_id is not None and result.approval_code is not None
    assert result.amount == euros(1250) and result.cvc_result is CvcResult.MATCH
    balance = issuers.balance(number.replace(" ", ""), EUR)
    assert balance.held == euros(1250)
    assert balance.available == balance.posted - euros(1250)


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("4000 0000 0000 0002", "05"),
        ("4000 0000 0000 9995", "51"),
        ("4000 0000 0000 0069", "54"),
        ("4000 0000 0000 0127", "N7"),
        ("4000 0025 0000 3155", "1A"),
    ],
)
def test_the_declining_test_cards_decline_with_their_code_as_a_value(
    network: IsoBankNetwork, number: str, code: str
) -> None:
    result = network.authorize(card(number), euros(1250), "pay_1")
    assert not result.approved
    assert result.code == code
    assert result.authorization_id is None and result.approval_code is None
    assert result.requires_sca == (code == "1A")


def test_the_security_code_check_is_reported_and_skipped_without_a_code(network: IsoBankNetwork) -> None:
    assert network.authorize(card("4000000000000127"), euros(100), "a").cvc_result is CvcResult.NO_MATCH
    skipped = network.authorize(card("4000000000000127", cvc=None), euros(100), "b")
    assert skipped.approved and skipped.cvc_result is CvcResult.NOT_CHECKED


def test_a_card_is_valid_to_the_end_of_its_expiry_month(network: IsoBankNetwork) -> None:
    # The fixed clock says 15 June 2026.
    assert network.authorize(card(VISA, month=6, year=2026), euros(100), "a").approved
    assert network.authorize(card(VISA, month=5, year=2026), euros(100), "b").code == "54"
    assert network.authorize(card("4000000000000069", year=2099), euros(100), "c").code == "54"


def test_card_verification_is_a_zero_amount_authorisation_that_holds_nothing(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    verified = network.verify_card(card(VISA))
    assert verified.approved and verified.amount == euros(0)
    assert issuers.balance(VISA, EUR).held == euros(0)
    assert network.verify_card(card("4000000000009995"), currency="USD").approved  # nothing to hold, nothing lacking
    assert network.verify_card(card("4000000000000002")).code == "05"
    assert network.verify_card(card("4000002500003155")).requires_sca


def test_numbers_outside_the_test_set_follow_the_luhn_check_and_the_card_ranges(network: IsoBankNetwork) -> None:
    assert network.authorize(card("4111111111111111"), euros(500_000), "visa").approved
    assert network.authorize(card("2223003122003222"), euros(500_000), "mastercard-2-series").approved
    assert network.authorize(card("4242424242424241"), euros(100), "luhn").code == "14"
    assert network.authorize(card("378282246310005"), euros(100), "amex").code == "15"


def test_insufficient_funds_comes_from_earlier_holds_and_goes_after_a_reversal(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    issuers.set_balance(VISA, euros(10_000))
    first = network.authorize(card(VISA), euros(6_000), "pay_1")
    second = network.authorize(card(VISA), euros(4_000), "pay_2")
    assert first.approved and second.approved
    assert issuers.balance(VISA, EUR).available == euros(0)
    assert network.authorize(card(VISA), euros(1), "pay_3").code == "51"
    assert network.authorize(card(VISA), Money(1, "USD"), "pay_3_usd").approved  # another currency, another balance

    assert first.authorization_id is not None
    network.reverse(first.authorization_id)
    assert issuers.balance(VISA, EUR).available == euros(6_000)
    assert network.authorize(card(VISA), euros(6_000), "pay_4").approved
    assert network.authorize(card(VISA), euros(1), "pay_5").code == "51"


def _authorized(network: IsoBankNetwork, issuers: SandboxIssuers, minor: int = 10_000) -> str:
    issuers.set_balance(VISA, euros(50_000))
    result = network.authorize(card(VISA), euros(minor), "pay_1")
    assert result.authorization_id is not None
    return result.authorization_id


def test_a_partial_capture_takes_its_amount_and_releases_the_rest(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    authorization_id = _authorized(network, issuers)
    captured = network.capture(authorization_id, euros(7_500))
    assert (captured.authorization_id, captured.amount, captured.code) == (authorization_id, euros(7_500), "00")
    balance = issuers.balance(VISA, EUR)
    assert (balance.posted, balance.held, balance.available) == (euros(42_500), euros(0), euros(42_500))


def test_capture_above_the_authorised_amount_is_refused_and_changes_nothing(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    authorization_id = _authorized(network, issuers)
    with pytest.raises(CaptureExceedsAuthorization):
        network.capture(authorization_id, euros(10_001))
    with pytest.raises(CaptureExceedsAuthorization):
        network.capture(authorization_id, Money(5_000, "USD"))
    assert issuers.balance(VISA, EUR).held == euros(10_000)
    assert network.capture(authorization_id, euros(10_000)).amount == euros(10_000)


def test_the_same_capture_again_is_harmless_but_another_is_refused(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    authorization_id = _authorized(network, issuers)
    network.capture(authorization_id, euros(3_000))
    network.capture(authorization_id, euros(3_000))
    assert issuers.balance(VISA, EUR).posted == euros(47_000)
    with pytest.raises(AuthorizationClosed):
        network.capture(authorization_id, euros(1_000))


def test_reversing_twice_is_harmless(network: IsoBankNetwork, issuers: SandboxIssuers) -> None:
    authorization_id = _authorized(network, issuers)
    assert network.reverse(authorization_id).code == "00"
    assert network.reverse(authorization_id).code == "00"
    balance = issuers.balance(VISA, EUR)
    assert (balance.posted, balance.held) == (euros(50_000), euros(0))


def test_a_closed_authorisation_is_neither_captured_after_reversal_nor_reversed_after_capture(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    reversed_id = _authorized(network, issuers)
    network.reverse(reversed_id)
    with pytest.raises(AuthorizationClosed):
        network.capture(reversed_id, euros(100))
    captured_id = network.authorize(card(VISA), euros(100), "pay_2").authorization_id
    assert captured_id is not None
    network.capture(captured_id, euros(100))
    with pytest.raises(AuthorizationClosed):
        network.reverse(captured_id)


@pytest.mark.parametrize("authorization_id", ["ZZZZZZZZZZZZ", "not an id", ""])
def test_an_unknown_authorisation_id_is_refused(network: IsoBankNetwork, authorization_id: str) -> None:
    with pytest.raises(UnknownAuthorization):
        network.capture(authorization_id, euros(100))
    with pytest.raises(UnknownAuthorization):
        network.reverse(authorization_id)


def test_a_verification_holds_nothing_so_there_is_nothing_to_capture(network: IsoBankNetwork) -> None:
    verification_id = network.verify_card(card(VISA)).authorization_id
    assert verification_id is not None
    with pytest.raises(CaptureExceedsAuthorization):
        network.capture(verification_id, euros(1))
    assert network.reverse(verification_id).code == "00"


def test_a_retry_with_the_same_reference_gets_the_first_answer_and_holds_once(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    first = network.authorize(card(VISA), euros(2_500), "pay_retry")
    again = network.authorize(card(VISA), euros(2_500), "pay_retry")
    assert again == first
    assert issuers.balance(VISA, EUR).held == euros(2_500)
    with pytest.raises(DuplicateReference):
        network.authorize(card(VISA), euros(2_600), "pay_retry")


def test_amounts_that_are_not_positive_are_refused_before_anything_is_sent(network: IsoBankNetwork) -> None:
    with pytest.raises(InvalidAmount):
        network.authorize(card(VISA), euros(0), "pay_1")
    with pytest.raises(InvalidAmount):
        network.capture("ZZZZZZZZZZZZ", euros(-1))


def test_the_network_answers_an_echo(network: IsoBankNetwork) -> None:
    assert network.echo()


def test_the_security_code_is_in_no_result_and_not_kept_by_the_issuers(
    network: IsoBankNetwork, issuers: SandboxIssuers
) -> None:
    secret = "9876"
    details = card(VISA, cvc=secret)
    authorized = network.authorize(details, euros(700), "pay_1")
    assert authorized.authorization_id is not None
    results: list[object] = [
        network.verify_card(details),
        authorized,
        network.capture(authorized.authorization_id, euros(500)),
        network.authorize(card("4000000000000127", cvc=secret), euros(1), "pay_2"),
        network.reverse(network.verify_card(details).authorization_id or ""),
    ]
    for result in results:
        assert secret not in repr(result)
    assert secret not in repr(vars(issuers))


def test_twenty_threads_never_overdraw_one_cardholder(network: IsoBankNetwork, issuers: SandboxIssuers) -> None:
    issuers.set_balance(VISA, euros(1_000))
    start = threading.Barrier(20)
    approved: list[bool] = []

    def pay(index: int) -> None:
        start.wait()
        approved.append(network.authorize(card(VISA), euros(150), f"pay_{index}").approved)

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(approved) == 20
    assert approved.count(True) == 6  # 6 x 1.50 fits in 10.00; a seventh would overdraw
    assert issuers.balance(VISA, EUR).available == euros(100)


class _Replying:
    """A transport that answers every request with fixed bytes: a confused or broken link."""

    def __init__(self, response: bytes) -> None:
        self.response = response

    def exchange(self, request: bytes) -> bytes:
        decode_request(request)
        return self.response


def test_a_response_to_another_request_is_refused() -> None:
    network = IsoBankNetwork(_Replying(encode_message(EchoResponse("999999", "00"))), clock=fixed_clock)
    with pytest.raises(UnexpectedResponse, match="trace number"):
        network.echo()
    with pytest.raises(UnexpectedResponse, match="expected a AuthorizationResponse"):
        network.authorize(card(VISA), euros(100), "pay_1")


def test_garbage_from_the_link_is_a_malformed_message() -> None:
    network = IsoBankNetwork(_Replying(b"\x00garbage"), clock=fixed_clock)
    with pytest.raises(MalformedMessage):
        network.echo()


def test_the_sandbox_refuses_malformed_bytes_with_an_error_rooted_in_kleline(issuers: SandboxIssuers) -> None:
    with pytest.raises(MalformedMessage) as caught:
        InProcessTransport(issuers).exchange(b"0100")
    assert isinstance(caught.value, KlelineError)


def test_the_sandbox_books_are_only_for_its_cardholders(issuers: SandboxIssuers) -> None:
    with pytest.raises(InvalidCardDetails):
        issuers.balance("378282246310005", EUR)
    with pytest.raises(InvalidCardDetails):
        issuers.balance("4242424242424241", EUR)
    assert issuers.balance("4111111111111111", "JPY").available == Money(10_000_000, "JPY")
