"""The dashboard's list of payments worded without a database: each line's strings, the form's errors by field,
and the date and time in Paris in each language."""

from __future__ import annotations

from datetime import UTC, datetime

from kleline.money import Money
from kleline.payments.search import PaymentListing
from kleline.web import history
from kleline.web.dashboard.payments import _invalid, _line, _method_names
from kleline.web.i18n import ENGLISH, FRENCH
from kleline.web.refusals import PageError

AT = datetime(2026, 12, 6, 13, 5, 7, 123456, tzinfo=UTC)  # 14:05 in Paris


def _listing(**changes: object) -> PaymentListing:
    fields: dict[str, object] = {
        "id": "pay_1",
        "amount": Money(4200, "EUR"),
        "status": "succeeded",
        "method": "purse",
        "amount_captured": 4200,
        "amount_refunded": 0,
        "description": "Order 7: books",
        "reference": "order-7",
        "created_at": AT,
    }
    fields.update(changes)
    return PaymentListing(**fields)  # type: ignore[arg-type]


def test_a_moment_is_the_day_and_the_time_in_paris_as_each_language_writes_them() -> None:
    assert history.moment(ENGLISH, AT) == "6 Dec 2026, 14:05"
    assert history.moment(FRENCH, AT) == "6 déc. 2026, 14:05"


def test_a_line_carries_every_string_the_list_shows() -> None:
    line = _line(_listing(), ENGLISH, _method_names(ENGLISH))
    assert (line.id, line.title, line.detail, line.state) == ("pay_1", "order-7", "Order 7: books", "succeeded")
    assert (line.status, line.method, line.amount, line.refunded) == ("Paid", "Kleline purse", "€42.00", "")
    assert (line.when, line.iso) == ("6 Dec 2026, 14:05", "2026-12-06T13:05:07.123456Z")


def test_a_line_is_titled_by_the_reference_else_the_description_else_the_id() -> None:
    names = _method_names(ENGLISH)
    described = _line(_listing(reference=None), ENGLISH, names)
    assert (described.title, described.detail) == ("Order 7: books", "")
    bare = _line(
        _listing(reference=None, description=None, method=None, status="requires_confirmation"), ENGLISH, names
    )
    assert (bare.title, bare.detail, bare.method, bare.status) == ("pay_1", "", "", "Awaiting the customer")


def test_a_refunded_line_says_how_much_in_the_pages_language() -> None:
    part = _line(_listing(amount_refunded=450), FRENCH, _method_names(FRENCH))
    assert part.status == "Partiellement remboursé"
    assert part.refunded.startswith("4,50\u00a0€")
    whole = _line(_listing(amount_refunded=4200), ENGLISH, _method_names(ENGLISH))
    assert (whole.status, whole.refunded) == ("Refunded", "€42.00 refunded")


def test_the_form_shows_the_first_error_of_each_field_and_none_of_those_without_one() -> None:
    errors = [
        PageError("Choose a status", "validation_error", "status"),
        PageError("Something else", "validation_error", None),
        PageError("Second about the status", "validation_error", "status"),
        PageError("Enter a date", "validation_error", "created_to"),
    ]
    assert _invalid(errors) == {"status": "Choose a status", "created_to": "Enter a date"}
    assert _invalid([]) == {}
