"""Prefix searches as index ranges: a string ``p`` begins every string of ``[p, prefix_successor(p))``, in code point
order (which is UTF-8 byte order: SQLite's binary collation, PostgreSQL's C collation)."""

from __future__ import annotations

from typing import Final

__all__ = ["ascii_lower", "prefix_successor"]

_LAST_CODE_POINT: Final = 0x10FFFF
_SURROGATES: Final = range(0xD800, 0xE000)
_ASCII_LOWER: Final = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text`` with A-Z lower-cased and every other character kept: how both databases compare text lowered in
    SQL (SQLite's ``lower`` and PostgreSQL's under the C collation change A-Z only)."""
    return text.translate(_ASCII_LOWER)


def prefix_successor(prefix: str) -> str | None:
    """The least string above every string that begins with ``prefix``, in code point order (which is UTF-8 byte
    order), or None when there is none (a prefix of U+10FFFF only)."""
    kept = list(prefix)
    while kept:
        following = ord(kept.pop()) + 1
        if following <= _LAST_CODE_POINT:
            if following in _SURROGATES:  # not characters: UTF-8 cannot hold them
                following = _SURROGATES.stop
            return "".join(kept) + chr(following)
    return None
