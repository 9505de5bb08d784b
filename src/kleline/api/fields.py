"""Field types shared by the API's request bodies and query parameters, so that one rule is checked the same way
wherever the same kind of value comes in."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from kleline.money import currency_exponent

__all__ = ["CurrencyCode"]


def _bookable(code: str) -> str:
    # UnknownCurrency is a ValueError: pydantic reports it as this field's validation error (400, ``param`` the
    # field), before any service sees a code that Money would refuse deeper down.
    currency_exponent(code)
    return code


CurrencyCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        examples=["EUR"],
        description="ISO 4217 code of a currency with minor units (codes without, such as XXX or XAU, are refused); "
        "Kleline holds EUR",
    ),
    AfterValidator(_bookable),
]
"""An upper-case ISO 4217 currency that can be booked (it has minor units)."""
