from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kleline.errors import ValidationError
from kleline.money import Money, UnknownCurrency, currency_exponent, round_half_up


def test_currency_exponents_come_from_iso_4217() -> None:
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("BHD") == 3


@pytest.mark.parametrize("code", ["eur", "EURO", "XXY", "XAU", "", 978])
def test_unknown_or_unbookable_currencies_are_refused(code: object) -> None:
    with pytest.raises(UnknownCurrency):
        currency_exponent(code)  # type: ignore[arg-type]


@pytest.mark.parametrize("code", ["XXX", "XTS", "ABC"])
def test_an_unbookable_currency_is_bad_input_naming_the_currency_wherever_it_is_met(code: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Money(100, code)
    assert (refused.value.code, refused.value.status, refused.value.param) == ("validation_error", 400, "currency")
    assert code in refused.value.detail
    with pytest.raises(ValueError, match=code):  # the file parsers report any unreadable amount as a ValueError
        Money.parse("1.00", code)


@pytest.mark.parametrize("amount", [12.5, Decimal("12.50"), True, "1250", None])
def test_an_amount_that_is_not_an_int_is_a_type_error(amount: object) -> None:
    with pytest.raises(TypeError, match="int count of minor units"):
        Money(amount, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(5, 10, 1), (4, 10, 0), (15, 10, 2), (-5, 10, -1), (-4, 10, 0), (43750, 10_000, 4), (0, 7, 0)],
)
def test_round_half_up_rounds_halves_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert round_half_up(numerator, denominator) == expected


def test_share_in_basis_points_rounds_once_half_up() -> None:
    assert Money(1250, "EUR").share_bps(350) == Money(44, "EUR")  # 43.75 cents
    assert Money(1000, "EUR").share_bps(350) == Money(35, "EUR")
    assert Money(10, "EUR").share_bps(350) == Money(0, "EUR")  # 0.35 cent
    assert Money(15, "EUR").share_bps(400) == Money(1, "EUR")  # 0.6 cent


def test_arithmetic_between_currencies_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot combine EUR with USD"):
        _ = Money(100, "EUR") + Money(100, "USD")
    with pytest.raises(TypeError):
        _ = Money(100, "EUR") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        _ = Money(100, "EUR") * 1.5  # type: ignore[operator]


def test_arithmetic_and_comparison_within_a_currency() -> None:
    assert Money(100, "EUR") + Money(25, "EUR") - Money(5, "EUR") == Money(120, "EUR")
    assert -Money(5, "EUR") == Money(-5, "EUR")
    assert Money(5, "EUR") * 3 == Money(15, "EUR")
    assert Money(1, "EUR") < Money(2, "EUR") <= Money(2, "EUR")


def test_formatting_follows_the_locale() -> None:
    assert Money(1250, "EUR").format("fr_FR") == "12,50\xa0€"
    assert Money(1250, "EUR").format("en_GB") == "€12.50"
    assert Money(1250, "JPY").format("ja_JP") == "￥1,250"
    assert str(Money(-5, "EUR")) == "-0.05 EUR"


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=8).filter(any))
def test_allocation_parts_add_up_exactly(minor: int, weights: list[int]) -> None:
    parts = Money(minor, "EUR").allocate(weights)
    assert sum(p.minor for p in parts) == minor
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(part.minor - minor * weight / total) < 1


@given(st.integers(-(10**15), 10**15), st.integers(300, 400))
def test_share_is_within_half_a_minor_unit_of_the_exact_share(minor: int, bps: int) -> None:
    share = Money(minor, "EUR").share_bps(bps).minor
    exact_twice = 2 * minor * bps  # compare 2 * 10_000 * share with 2 * minor * bps, in integers
    assert abs(2 * 10_000 * share - exact_twice) <= 10_000


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("-3", "EUR", -300),
        ("0.01", "EUR", 1),
        ("1500", "JPY", 1500),
        (" 7.000 ", "KWD", 7000),
        ("+4.20", "EUR", 420),
    ],
)
def test_parse_reads_a_decimal_amount_exactly(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["12.505", "1e3", "12,50", "", ".5", "5.", "NaN", "1_000"])
def test_parse_refuses_what_is_not_an_exact_amount(text: str) -> None:
    with pytest.raises(ValueError):
        Money.parse(text, "EUR")
