import dataclasses

import pytest

from kleline.banks import Authorization, CardDetails, CvcResult, InvalidCardDetails
from kleline.money import Money


def test_a_card_number_typed_with_spaces_or_dashes_is_kept_as_bare_digits() -> None:
    assert CardDetails("4242 4242 4242 4242", 12, 2030).number == "4242424242424242"
    assert CardDetails("5555-5555-5555-4444", 12, 2030).number == "5555555555554444"


def test_repr_masks_the_number_and_hides_the_security_code() -> None:
    card = CardDetails("4242424242424242", 12, 2030, "9876")
    for text in (repr(card), str(card), f"{card}", repr([card]), repr({"card": card})):
        assert "424242******4242" in text
        assert "4242424242424242" not in text
        assert "9876" not in text
    assert "cvc=None" in repr(CardDetails("4242424242424242", 12, 2030))


@pytest.mark.parametrize(
    ("number", "month", "year", "cvc", "param"),
    [
        ("4242", 12, 2030, None, "number"),
        ("4242x24242424242", 12, 2030, None, "number"),
        ("42424242424242424242", 12, 2030, None, "number"),
        ("4242424242424242", 0, 2030, None, "exp_month"),
        ("4242424242424242", 13, 2030, None, "exp_month"),
        ("4242424242424242", 12, 30, None, "exp_year"),
        ("4242424242424242", True, 2030, None, "exp_month"),
        ("4242424242424242", 12, 2030, "12", "cvc"),
        ("4242424242424242", 12, 2030, "12a", "cvc"),
        ("4242424242424242", 12, 2030, "12345", "cvc"),
    ],
)
def test_card_details_of_the_wrong_shape_are_refused(
    number: str, month: int, year: int, cvc: str | None, param: str
) -> None:
    with pytest.raises(InvalidCardDetails) as caught:
        CardDetails(number, month, year, cvc)
    assert caught.value.param == param
    assert number not in str(caught.value)


def test_an_authorization_must_agree_with_its_response_code() -> None:
    euros = Money(100, "EUR")
    with pytest.raises(ValueError, match="contradicts"):
        Authorization(approved=True, code="05", authorization_id="A" * 12, requires_sca=False, amount=euros)
    with pytest.raises(ValueError, match="contradicts"):
        Authorization(approved=False, code="05", authorization_id=None, requires_sca=True, amount=euros)
    with pytest.raises(ValueError, match="has an id exactly when"):
        Authorization(approved=False, code="51", authorization_id="A" * 12, requires_sca=False, amount=euros)


def test_no_result_has_a_field_that_could_hold_a_security_code() -> None:
    names = {f.name for f in dataclasses.fields(Authorization)}
    assert "cvc" not in names
    assert "cvc_result" in names
    assert {r.value for r in CvcResult} == {"M", "N", "P"}
