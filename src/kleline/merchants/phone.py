"""A contact's telephone number: a strict rule of our own, kept in international form (E.164).

No telephone library is installed (``phonenumbers`` would know each country's plans); so the rule is strict rather
than clever, and says exactly what it takes:

- the characters a person types around digits are allowed and dropped: spaces, ``.``, ``-``, ``(`` and ``)``;
  anything else (a letter, a ``/``, an extension) is refused;
- a number in international form starts with ``+`` or ``00``, then the country code (never starting with 0), and
  counts 8 to 15 digits in all (E.164 allows at most 15); a French one (``+33``) has exactly 9 digits after the 33,
  the first of them not 0 (``+33 1 23 45 67 89``, not ``+33 0 1 23 45 67 89``);
- a ``(0)`` after the country code, as many write it (``+33 (0)1 23 45 67 89``), is dropped with its brackets;
- a French number written the French way (``01 23 45 67 89``: 10 digits, a 0 then 1 to 9) is taken as ``+33``;
- any other number without a country code is refused: Kleline cannot guess the country.

The number is kept as ``+`` and its digits (``+33123456789``).
"""

from __future__ import annotations

import re
from typing import Final

from kleline.merchants.errors import InvalidMerchant

__all__ = ["check_phone", "format_phone"]

_SEPARATORS: Final = re.compile(r"[\s.()\-]")
_INTERNATIONAL: Final = re.compile(r"\+[1-9][0-9]{7,14}")
_FRENCH_INTERNATIONAL: Final = re.compile(r"\+33[1-9][0-9]{8}")
_FRENCH_NATIONAL: Final = re.compile(r"0[1-9][0-9]{8}")
_EXAMPLE: Final = "such as +33 1 23 45 67 89"


def check_phone(phone: str | None, *, param: str = "contact_phone") -> str | None:
    """A telephone number in E.164 form (``+33123456789``), or None when blank; ``InvalidMerchant`` naming
    ``param`` when it breaks the module's rule."""
    if phone is None or not phone.strip():
        return None
    typed = _SEPARATORS.sub("", phone.strip().replace("(0)", ""))
    if typed.startswith("00"):
        typed = "+" + typed[2:]
    if _FRENCH_NATIONAL.fullmatch(typed):
        typed = "+33" + typed[1:]
    if not typed.startswith("+"):
        raise InvalidMerchant(f"{param}: give the number with its country code, {_EXAMPLE}", param=param)
    if not typed[1:].isascii() or not typed[1:].isdigit():
        raise InvalidMerchant(
            f"{param}: only digits, spaces, dots, dashes and brackets after the +, {_EXAMPLE}", param=param
        )
    if typed.startswith("+33") and not _FRENCH_INTERNATIONAL.fullmatch(typed):
        raise InvalidMerchant(f"{param}: a French number has 9 digits after +33, {_EXAMPLE}", param=param)
    if not _INTERNATIONAL.fullmatch(typed):
        raise InvalidMerchant(
            f"{param}: an international number has 8 to 15 digits, the country code first, {_EXAMPLE}", param=param
        )
    return typed


def format_phone(phone: str) -> str:
    """A kept number as people read it: a French one in pairs (``+33 1 23 45 67 89``), any other as kept."""
    if _FRENCH_INTERNATIONAL.fullmatch(phone):
        rest = phone[4:]
        return f"+33 {phone[3]} " + " ".join(rest[i : i + 2] for i in range(0, len(rest), 2))
    return phone
