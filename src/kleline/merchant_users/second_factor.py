"""A merchant user's authenticator code: the rules every kind of back-office person shares
(``kleline.identity.second_factor``: ``check_code`` against the guard, the fifth wrong code in a row locking sign-in
for the lockout period), and the purpose a merchant user's secret is sealed under."""

from __future__ import annotations

from typing import Final

from kleline.identity.second_factor import CodeCheck, check_code, normalise_code

__all__ = ["PURPOSE", "CodeCheck", "check_code", "normalise_code"]

PURPOSE: Final = b"kleline-merchant-user-totp-v1"
"""The associated data of a sealed merchant user's secret: it can never be opened as a customer's or a card."""
