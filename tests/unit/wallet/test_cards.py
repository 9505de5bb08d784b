from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from stdnum import luhn

from kleline.errors import ValidationError
from kleline.wallet.cards import (
    CardBrand,
    CardError,
    CardNumber,
    ExpiredCard,
    InvalidCardNumber,
    InvalidCvc,
    InvalidExpiryMonth,
    InvalidExpiryYear,
    UnsupportedCardBrand,
    check_cvc,
    check_expiry,
    parse_card_number,
)

VISA = "4242424242424242"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"


def with_check_digit(body: str) -> str:
    return body + luhn.calc_check_digit(body)


@pytest.mark.parametrize(
    ("text", "digits", "brand"),
    [
        ("4242 4242 4242 4242", VISA, CardBrand.VISA),
        ("5555-5555-5555-4444", MASTERCARD, CardBrand.MASTERCARD),
        ("3782 822463 10005", AMEX, CardBrand.AMEX),
        ("  4242424242424242\n", VISA, CardBrand.VISA),
        ("４２４２４２４２４２４２４２４２", VISA, CardBrand.VISA),  # full-width, from an East Asian input method
        ("4242–4242–4242–4242", VISA, CardBrand.VISA),  # typographic dashes, pasted from a document
        ("2223003122003222", "2223003122003222", CardBrand.MASTERCARD),
        ("6011111111111117", "6011111111111117", CardBrand.DISCOVER),
        ("3056930009020004", "3056930009020004", CardBrand.DINERS),
        ("3566002020360505", "3566002020360505", CardBrand.JCB),
        ("6200000000000005", "6200000000000005", CardBrand.UNIONPAY),
    ],
)
def test_public_test_cards_parse_with_their_brand(text: str, digits: str, brand: CardBrand) -> None:
    number = parse_card_number(text)
    assert number.digits == digits
    assert number.brand is brand


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("4242424242424241", "check digit"),
        ("4242 4242 abcd 4242", "only digits"),
        ("4242/4242/4242/4242", "only digits"),
        ("", "is required"),
        ("   ", "is required"),
        ("42424242424", "12 to 19 digits, got 11"),
        ("42424242424242424242", "12 to 19 digits, got 20"),
        (with_check_digit("42424242424242"), "visa card number has 13, 16, 19 digits, got 15"),
        (with_check_digit("378282246310000"), "amex card number has 15 digits, got 16"),
    ],
)
def test_a_malformed_number_is_refused_as_invalid_card_number(text: str, message: str) -> None:
    with pytest.raises(InvalidCardNumber, match=message) as caught:
        parse_card_number(text)
    assert caught.value.code == "invalid_card_number"
    assert caught.value.param == "number"


@pytest.mark.parametrize("body", ["900000000000000", "100000000000000", "700000000000000", "500000000000000"])
def test_a_valid_number_of_an_unknown_brand_is_refused(body: str) -> None:
    with pytest.raises(UnsupportedCardBrand, match="brand is not accepted") as caught:
        parse_card_number(with_check_digit(body))
    assert caught.value.code == "unsupported_card_brand"
    assert caught.value.param == "number"


def test_card_errors_are_validation_errors() -> None:
    for error in (InvalidCardNumber, UnsupportedCardBrand, InvalidExpiryMonth, InvalidExpiryYear, ExpiredCard):
        assert issubclass(error, CardError)
    assert issubclass(InvalidCvc, CardError)
    assert issubclass(CardError, ValidationError)
    assert CardError("x").status == 400


def test_a_non_string_number_is_refused() -> None:
    with pytest.raises(InvalidCardNumber):
        parse_card_number(4242424242424242)  # type: ignore[arg-type]


def test_masking_keeps_only_the_first_six_and_last_four_digits_and_the_length() -> None:
    visa, amex = parse_card_number(VISA), parse_card_number(AMEX)
    assert (visa.first6, visa.last4, visa.masked) == ("424242", "4242", "424242******4242")
    assert (amex.first6, amex.last4, amex.masked) == ("378282", "0005", "378282*****0005")
    assert len(amex.masked) == len(AMEX)


def test_repr_and_str_never_show_the_full_number() -> None:
    number = parse_card_number(MASTERCARD)
    for shown in (repr(number), str(number), f"{number}", repr([number]), repr({"card": number})):
        assert MASTERCARD not in shown
    assert repr(number) == "CardNumber(brand='mastercard', masked='555555******4444')"


@pytest.mark.parametrize(
    "text", ["4242424242424241", "4242 4242 abcd 4242", "42424242424242424242", with_check_digit("9" * 15)]
)
def test_error_messages_never_contain_the_number(text: str) -> None:
    with pytest.raises(CardError) as caught:
        parse_card_number(text)
    digits = text.replace(" ", "")
    assert digits not in str(caught.value)
    assert digits not in repr(caught.value)
    assert digits[:6] not in caught.value.detail


def test_a_number_cannot_be_built_directly_with_another_brand_or_bad_digits() -> None:
    assert CardNumber(VISA, CardBrand.VISA) == parse_card_number(VISA)
    with pytest.raises(InvalidCardNumber):
        CardNumber(VISA, CardBrand.AMEX)
    with pytest.raises(InvalidCardNumber):
        CardNumber("4242424242424241", CardBrand.VISA)


def test_a_card_number_is_immutable() -> None:
    number = parse_card_number(VISA)
    with pytest.raises(AttributeError):
        number.digits = MASTERCARD  # type: ignore[misc]


def test_a_card_is_valid_through_the_last_day_of_its_expiry_month() -> None:
    check_expiry(2, 2028, date(2028, 2, 29))
    check_expiry(12, 2027, date(2027, 12, 31))
    check_expiry(1, 2028, date(2027, 12, 31))


def test_a_card_is_expired_from_the_first_day_of_the_next_month() -> None:
    with pytest.raises(ExpiredCard, match="expired at the end of 2028-02") as caught:
        check_expiry(2, 2028, date(2028, 3, 1))
    assert (caught.value.code, caught.value.param) == ("expired_card", "exp_month")
    with pytest.raises(ExpiredCard) as caught:
        check_expiry(12, 2027, date(2028, 1, 1))
    assert caught.value.param == "exp_year"


def test_an_aware_datetime_is_read_in_utc_and_a_naive_one_is_refused() -> None:
    paris = timezone(timedelta(hours=1))
    # 1 March 00:30 in Paris is still 28 February in UTC.
    check_expiry(2, 2027, datetime(2027, 3, 1, 0, 30, tzinfo=paris))
    with pytest.raises(ExpiredCard):
        check_expiry(2, 2027, datetime(2027, 3, 1, 0, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="naive"):
        check_expiry(2, 2027, datetime(2027, 2, 1))


@pytest.mark.parametrize(
    ("month", "year", "error", "param"),
    [
        (0, 2030, InvalidExpiryMonth, "exp_month"),
        (13, 2030, InvalidExpiryMonth, "exp_month"),
        (True, 2030, InvalidExpiryMonth, "exp_month"),
        ("12", 2030, InvalidExpiryMonth, "exp_month"),
        (12, 30, InvalidExpiryYear, "exp_year"),
        (12, 99, InvalidExpiryYear, "exp_year"),
        (12, 20300, InvalidExpiryYear, "exp_year"),
        (12, "2030", InvalidExpiryYear, "exp_year"),
        (12, 2047, InvalidExpiryYear, "exp_year"),
    ],
)
def test_a_malformed_expiry_is_refused_naming_its_field(
    month: object, year: object, error: type[CardError], param: str
) -> None:
    with pytest.raises(error) as caught:
        check_expiry(month, year, date(2026, 11, 27))  # type: ignore[arg-type]
    assert caught.value.param == param


def test_a_two_digit_year_is_refused_rather_than_guessed() -> None:
    with pytest.raises(InvalidExpiryYear, match="four digits") as caught:
        check_expiry(12, 30, date(2026, 11, 27))
    assert caught.value.code == "invalid_expiry_year"


def test_an_expiry_twenty_years_ahead_is_accepted() -> None:
    check_expiry(12, 2046, date(2026, 11, 27))


@pytest.mark.parametrize(
    ("cvc", "brand"), [("123", CardBrand.VISA), ("000", CardBrand.MASTERCARD), ("1234", CardBrand.AMEX)]
)
def test_a_well_formed_security_code_passes(cvc: str, brand: CardBrand) -> None:
    check_cvc(cvc, brand)


@pytest.mark.parametrize(
    ("cvc", "brand"),
    [
        ("1234", CardBrand.VISA),
        ("12", CardBrand.MASTERCARD),
        ("123", CardBrand.AMEX),
        ("12a", CardBrand.VISA),
        (" 123", CardBrand.VISA),
        ("١٢٣", CardBrand.VISA),
        (123, CardBrand.VISA),
        ("", CardBrand.DISCOVER),
    ],
)
def test_a_malformed_security_code_is_refused_without_echoing_it(cvc: object, brand: CardBrand) -> None:
    with pytest.raises(InvalidCvc) as caught:
        check_cvc(cvc, brand)  # type: ignore[arg-type]
    assert (caught.value.code, caught.value.param) == ("invalid_cvc", "cvc")
    if isinstance(cvc, str) and cvc.strip():
        assert cvc.strip() not in str(caught.value)
