"""The ISO 8583 codec: pure functions between message values and bytes, strict about what it reads."""

import dataclasses

import iso8583
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.banks import CardDetails, CvcResult, MalformedMessage
from kleline.banks.messages import (
    SPEC,
    AuthorizationRequest,
    AuthorizationResponse,
    CaptureAdvice,
    CaptureResponse,
    EchoRequest,
    EchoResponse,
    Message,
    ReversalRequest,
    ReversalResponse,
    decode_message,
    decode_request,
    decode_response,
    encode_message,
)
from kleline.money import Money

CARD = CardDetails("4242424242424242", 12, 2030, "123")
AUTHORIZATION = AuthorizationRequest("000001", "RRN000000001", "123000", CARD, Money(1250, "EUR"), "KLELINE1", "KL")

MESSAGES: list[Message] = [
    AUTHORIZATION,
    AuthorizationRequest(
        "000002", "RRN000000002", "000000", CardDetails("5555555555554444", 1, 2099), Money(0, "JPY"), "T1", "M1"
    ),
    AuthorizationResponse("000001", "RRN000000001", Money(1250, "EUR"), "00", "AB12CD", CvcResult.MATCH),
    AuthorizationResponse("000001", "RRN000000001", Money(1250, "EUR"), "N7", None, CvcResult.NO_MATCH),
    AuthorizationResponse("000003", "RRN000000003", Money(1, "BHD"), "51"),
    CaptureAdvice("000004", "RRN000000001", "235959", Money(1000, "EUR"), "KLELINE1", "KLELINE"),
    CaptureResponse("000004", "RRN000000001", Money(1000, "EUR"), "00"),
    ReversalRequest("000005", "RRN000000001", "080000", "KLELINE1", "KLELINE"),
    ReversalResponse("000005", "RRN000000001", "25"),
    EchoRequest("999999", "120000"),
    EchoResponse("999999", "00"),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_through_its_bytes(message: Message) -> None:
    assert decode_message(encode_message(message)) == message


@given(
    number=st.from_regex(r"\A[0-9]{12,19}\Z"),
    month=st.integers(1, 12),
    year=st.integers(2000, 2099),
    cvc=st.none() | st.from_regex(r"\A[0-9]{3,4}\Z"),
    minor=st.integers(0, 10**12 - 1),
    currency=st.sampled_from(["EUR", "USD", "JPY", "BHD", "GBP"]),
)
def test_any_authorisation_request_round_trips(
    number: str, month: int, year: int, cvc: str | None, minor: int, currency: str
) -> None:
    request = AuthorizationRequest(
        "000001", "ABC123DEF456", "235959", CardDetails(number, month, year, cvc), Money(minor, currency), "T", "M"
    )
    assert decode_request(encode_message(request)) == request


def test_the_wire_format_is_an_mti_a_binary_bitmap_and_the_fields_in_order() -> None:
    # Fields 11 and 12 are bits 3 and 4 of the bitmap's second byte: 0x20 | 0x10.
    bitmap = bytes([0, 0x30, 0, 0, 0, 0, 0, 0])
    assert encode_message(EchoRequest("000042", "093000")) == b"0800" + bitmap + b"000042093000"


def test_amount_and_currency_travel_as_minor_units_and_iso_4217_numbers() -> None:
    fields, _ = iso8583.decode(encode_message(AUTHORIZATION), SPEC)
    assert fields["4"] == "000000001250"
    assert fields["49"] == "978"
    assert fields["14"] == "3012"
    assert fields["41"] == "KLELINE1"
    assert fields["42"] == "KL".ljust(15)


def test_the_security_code_travels_in_field_48_only_when_there_is_one() -> None:
    with_cvc, _ = iso8583.decode(encode_message(AUTHORIZATION), SPEC)
    assert with_cvc["48"] == "9203123" + "420207"
    without = dataclasses.replace(AUTHORIZATION, card=CardDetails("4242424242424242", 12, 2030))
    assert iso8583.decode(encode_message(without), SPEC)[0]["48"] == "420207"


def test_strong_authentication_travels_as_the_electronic_commerce_indicator() -> None:
    authenticated = dataclasses.replace(AUTHORIZATION, authenticated=True)
    fields, _ = iso8583.decode(encode_message(authenticated), SPEC)
    assert fields["48"].endswith("420205")
    assert decode_message(encode_message(authenticated)) == authenticated
    assert decode_message(encode_message(AUTHORIZATION)) == AUTHORIZATION


def test_a_response_carries_a_security_code_result_only_when_one_was_checked() -> None:
    checked = AuthorizationResponse("000001", "RRN000000001", Money(1, "EUR"), "00", "AB12CD", CvcResult.MATCH)
    unchecked = AuthorizationResponse("000001", "RRN000000001", Money(1, "EUR"), "00", "AB12CD")
    assert iso8583.decode(encode_message(checked), SPEC)[0]["48"] == "8701M"
    assert "48" not in iso8583.decode(encode_message(unchecked), SPEC)[0]


def test_the_request_repr_masks_the_card() -> None:
    text = repr(AUTHORIZATION)
    assert "4242424242424242" not in text
    assert "cvc='***'" in text


def test_a_message_truncated_anywhere_is_malformed() -> None:
    raw = encode_message(AUTHORIZATION)
    for length in range(len(raw)):
        with pytest.raises(MalformedMessage):
            decode_message(raw[:length])


def _with_field(raw: bytes, key: str, value: str) -> bytes:
    fields, _ = iso8583.decode(raw, SPEC)
    fields[key] = value
    return bytes(iso8583.encode(fields, SPEC)[0])


@pytest.mark.parametrize(
    "garbled",
    [
        encode_message(AUTHORIZATION) + b"0",
        b"0999" + encode_message(AUTHORIZATION)[4:],
        b"hello, bank",
        bytes(range(256)),
        b"0800" + bytes([0, 0x30, 0, 0, 0, 0, 0, 1]) + b"000042093000",  # announces field 64, unknown to the spec
        _with_field(encode_message(AUTHORIZATION), "4", "00000000012A"),
        _with_field(encode_message(AUTHORIZATION), "49", "000"),
        _with_field(encode_message(AUTHORIZATION), "49", "959"),  # gold has no minor unit
        _with_field(encode_message(AUTHORIZATION), "14", "3013"),
        _with_field(encode_message(AUTHORIZATION), "12", "250000"),
        _with_field(encode_message(AUTHORIZATION), "48", "920"),
        _with_field(encode_message(AUTHORIZATION), "48", "9205123"),
        _with_field(encode_message(AUTHORIZATION), "48", "9212"),  # a two-digit security code
        _with_field(encode_message(EchoResponse("000001", "00")), "t", "0110"),  # lacks amount, reference
        _with_field(encode_message(MESSAGES[2]), "48", "8701X"),
    ],
)
def test_garbled_bytes_are_malformed(garbled: bytes) -> None:
    with pytest.raises(MalformedMessage):
        decode_message(garbled)


def test_what_is_not_bytes_is_malformed() -> None:
    with pytest.raises(MalformedMessage):
        decode_message("0800")  # type: ignore[arg-type]


def test_a_request_is_not_a_response_nor_the_reverse() -> None:
    with pytest.raises(MalformedMessage, match="expected a response"):
        decode_response(encode_message(AUTHORIZATION))
    with pytest.raises(MalformedMessage, match="expected a request"):
        decode_request(encode_message(EchoResponse("000001", "00")))


@pytest.mark.parametrize(
    "message",
    [
        CaptureAdvice("000004", "RRN000000001", "235959", Money(-1, "EUR"), "T", "M"),
        CaptureAdvice("000004", "RRN000000001", "235959", Money(10**12, "EUR"), "T", "M"),
        ReversalRequest("000005", "RRN000000001", "080000", "TERMINAL9", "M"),
        ReversalRequest("00005", "RRN000000001", "080000", "T", "M"),
        ReversalRequest("000005", "rrn000000001", "080000", "T", "M"),
        EchoRequest("000001", "12:00"),
    ],
)
def test_values_that_do_not_fit_the_spec_cannot_be_encoded(message: Message) -> None:
    with pytest.raises(MalformedMessage):
        encode_message(message)


@pytest.mark.parametrize(
    "garbled",
    [
        _with_field(encode_message(AUTHORIZATION), "14", "3013"),
        encode_message(AUTHORIZATION)[:-1],
        encode_message(AUTHORIZATION).replace(b"4242424242424242", b"42424242424242x2"),
    ],
)
def test_decoding_errors_show_neither_the_card_number_nor_the_library_error(garbled: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode_message(garbled)
    assert "4242" not in str(caught.value)
    # pyiso8583's errors carry the decoded fields (PAN, CVC): they must not be chained into a logged traceback.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
