"""Where a page may send the browser next: only ever a path on this site, never another site's address.

A ``next`` parameter (where to go once signed in, or back to after switching language) comes from a link anyone can
write: a link to our pages must not become a way to send customers elsewhere (an open redirect).
"""

from __future__ import annotations

from typing import Final

__all__ = ["HOME", "safe_next"]

HOME: Final = "/sign-in"


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else the home page (no ``//host``, no scheme, no backslash)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return HOME
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return HOME
    return value
