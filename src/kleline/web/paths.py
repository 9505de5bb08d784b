"""Where a page may send the browser next: only ever a path on this site, never another site's address.

A ``next`` parameter (where to go once signed in, or back to after switching language) comes from a link anyone can
write: a link to our pages must not become a way to send customers elsewhere (an open redirect).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HOME", "WALLET", "after_sign_in", "return_path", "safe_next"]

HOME: Final = "/sign-in"
WALLET: Final = "/wallet"
_SIGNING_IN: Final = ("/sign-in", "/sign-up")


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else the home page (no ``//host``, no scheme, no backslash)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return HOME
    return value


def after_sign_in(value: str | None) -> str:
    """Where signing in or opening a wallet leads: ``value`` if it is a path on this site (a checkout that sent the
    shopper to sign in), else the wallet. Signing in from the home page or the header's link, with nowhere else to
    go, a shopper wants their wallet, not the sign-in page again saying that they are signed in."""
    path = safe_next(value)
    if path.partition("?")[0].rstrip("/") in _SIGNING_IN:
        return WALLET
    return path


def return_path(value: str | None) -> str | None:
    """Where to go back to once a wallet form is done, when the customer came from a page that sent them there (a
    checkout's refusal links to the top-up or the security page with ``?next=``): a path on this site only, else
    None (the form's own page)."""
    return value if value and safe_next(value) == value else None
