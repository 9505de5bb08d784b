"""A merchant's payment search without a database: amounts typed as people type them, days and instants, filters,
the page cursor's token, and the reference's prefix range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kleline.errors import ValidationError
from kleline.money import Money
from kleline.payments.search import (
    PageCursor,
    amount_minor,
    ascii_lower,
    created_range,
    parse_amount,
    parse_search,
    text_terms,
)
from kleline.payments.search_store import prefix_successor


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12.50", 1250),
        ("12,50", 1250),
        ("12", 1200),
        ("12.5", 1250),
        ("12,5", 1250),
        ("12.", 1200),
        ("12.500", 1250),
        (" 0.01 ", 1),
        ("007", 700),
        ("9999999999.99", 999_999_999_999),
    ],
)
def test_an_amount_typed_as_people_type_it_is_read_exactly_in_minor_units(text: str, minor: int) -> None:
    assert amount_minor(text, "EUR") == minor


@pytest.mark.parametrize(
    "text",
    ["12.505", "0", "0.00", "-12", "+12", "1e3", "12.50.1", "12,50,1", "1 250", ".5", "", "douze", "１２", "NaN"],
)
def test_anything_else_is_no_amount(text: str) -> None:
    assert amount_minor(text, "EUR") is None


def test_the_currencys_exponent_decides_the_minor_units() -> None:
    assert amount_minor("12", "JPY") == 12
    assert amount_minor("12.5", "JPY") is None
    assert amount_minor("12.0", "JPY") == 12
    assert amount_minor("1.234", "BHD") == 1234


def test_an_amount_filter_that_is_no_amount_is_a_precise_error() -> None:
    assert parse_amount("12,50") == (Money(1250, "EUR"),)
    with pytest.raises(ValidationError) as refused:
        parse_amount("12.505")
    assert refused.value.param == "amount"
    with pytest.raises(ValidationError) as refused:
        parse_search(amount="twelve")
    assert refused.value.param == "amount"


def test_the_search_box_reads_a_text_every_way_it_can() -> None:
    terms = text_terms("12,50")
    assert (terms.payment_id, terms.reference_prefix, terms.amounts, terms.email) == (
        "12,50",
        "12,50",
        (Money(1250, "EUR"),),
        None,
    )
    assert text_terms("ORD-Été").reference_prefix == "ord-Été"  # A-Z only, as both databases lower-case
    assert text_terms("ada@example.org").email == "ada@example.org"
    assert text_terms("pay_abc").amounts == ()


def test_ascii_lower_changes_a_to_z_only() -> None:
    assert ascii_lower("ABC-xyz-ÉÇ-ß") == "abc-xyz-ÉÇ-ß"


@pytest.mark.parametrize(
    ("prefix", "successor"),
    [("ab", "ac"), ("a", "b"), ("a\U0010ffff", "b"), ("\U0010ffff", None), ("x\ud7ff", "x\ue000"), ("é", "ê")],
)
def test_a_prefix_is_the_range_up_to_its_successor(prefix: str, successor: str | None) -> None:
    assert prefix_successor(prefix) == successor


def test_every_string_with_a_prefix_lies_below_its_successor_in_utf8_byte_order() -> None:
    prefix = "ord-1\U0001f600"
    upper = prefix_successor(prefix)
    assert upper is not None
    for text in (prefix, prefix + "\U0010ffff", prefix + "zzz"):
        assert prefix.encode() <= text.encode() < upper.encode()


# --- days and instants --------------------------------------------------------------------------------------------


def test_days_are_whole_utc_days_with_both_ends_included() -> None:
    since, until = created_range("2026-01-15", "2026-01-15")
    assert since == datetime(2026, 1, 15, tzinfo=UTC)
    assert until == datetime(2026, 1, 16, tzinfo=UTC)


def test_instants_keep_their_offset_and_the_end_is_included() -> None:
    since, until = created_range("2026-01-15T10:30:00+01:00", "2026-01-15T09:30:00.5Z")
    assert since == datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
    assert until == datetime(2026, 1, 15, 9, 30, 0, 500_001, tzinfo=UTC)
    assert created_range(None, None) == (None, None)
    assert created_range("2026-01-15", None) == (datetime(2026, 1, 15, tzinfo=UTC), None)
    assert created_range(None, "9999-12-31") == (None, None)  # no day after the last


def test_a_range_that_ends_before_it_begins_is_refused_on_created_to() -> None:
    with pytest.raises(ValidationError) as refused:
        created_range("2026-01-16", "2026-01-15")
    assert refused.value.param == "created_to"
    with pytest.raises(ValidationError):
        created_range("2026-01-15T09:30:00Z", "2026-01-15T09:29:59Z")


@pytest.mark.parametrize(
    ("created_from", "created_to", "param"),
    [
        ("2026-02-30", None, "created_from"),
        ("15/01/2026", None, "created_from"),
        ("2026-01-15T09:30:00", None, "created_from"),  # no offset: which day would it be?
        (None, "yesterday", "created_to"),
        (None, "2026-01-15T25:00:00Z", "created_to"),
    ],
)
def test_neither_a_day_nor_an_instant_is_a_precise_error(
    created_from: str | None, created_to: str | None, param: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        created_range(created_from, created_to)
    assert refused.value.param == param


# --- filters ------------------------------------------------------------------------------------------------------


def test_statuses_and_methods_may_be_repeated_or_separated_by_commas() -> None:
    search = parse_search(status=["succeeded,authorized", "canceled"], method=["card"], q="  ORD-1 ")
    assert search.statuses == {"succeeded", "authorized", "canceled"}
    assert search.methods == {"card"}
    assert search.text == "ORD-1"
    assert parse_search(q="   ").text is None


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"status": ["succeeded", "refunded"]}, "status"),
        ({"method": ["cash"]}, "method"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ord\x00"}, "q"),
    ],
)
def test_a_bad_filter_is_a_precise_error(kwargs: dict[str, object], param: str) -> None:
    with pytest.raises(ValidationError) as refused:
        parse_search(**kwargs)  # type: ignore[arg-type]
    assert refused.value.param == param


# --- cursors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        PageCursor("next", 1768469400000000, "pay_abc"),
        PageCursor("previous", 0, "pay_A-b_9"),
        PageCursor("next", 999_999_999_999_999_999, "pay_" + "x" * 64),
    ],
)
def test_a_cursor_reads_back_as_it_was_written(cursor: PageCursor) -> None:
    token = cursor.encode()
    assert PageCursor.parse(token) == cursor
    assert cursor.payment_id not in token  # opaque: nothing to build one from by hand


@pytest.mark.parametrize(
    "token",
    [
        "",
        "nonsense",
        "pay_abc",
        "bjE3Njg0Njk0MDAwMDAwMDB-cGF5X2FiYw==",  # padded
        PageCursor("next", 1, "pay_abc").encode()[:-1] + "d",  # not the canonical spelling
        "eDEyfnBheV9hYmM",  # direction x
        "bi0xfnBheV9hYmM",  # negative time
        "bjF-cGF5X2EgYg",  # a space in the id
        "bjF-",
        "/" * 12,
        "A" * 121,
    ],
)
def test_anything_else_is_refused_as_a_cursor(token: str) -> None:
    with pytest.raises(ValidationError) as refused:
        PageCursor.parse(token)
    assert refused.value.param == "cursor"
