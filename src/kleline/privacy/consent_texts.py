"""The texts a customer agrees to, by purpose, each with a version that the consent ledger records.

A consent is only as good as the words it was given to: the ledger records the exact version shown (and its
language), so that a text changed later never stretches an old consent. Change a text, change its version.
The English here is the reference; the pages show its translation from the catalog under the same version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["ConsentText", "TEXTS", "text_version"]


@dataclass(frozen=True, slots=True)
class ConsentText:
    """One purpose's wording and its version (``{scope}`` names the mall, category or merchant concerned)."""

    version: str
    text: str


TEXTS: Final = {
    "offers": ConsentText(
        "offers-v1",
        "Send offers from the merchants of {scope} to my wallet's inbox. They do not learn who I am unless I answer.",
    ),
    "share_email": ConsentText(
        "share-email-v1",
        "Share my email address with {scope}, so that it can write to me about my purchases.",
    ),
    "audience_statistics": ConsentText(
        "audience-statistics-v1",
        "Let my purchases count, anonymously and only in noisy totals, in the audience sizes merchants estimate.",
    ),
}


def text_version(purpose: str, language: str) -> str:
    """What the ledger records for a text shown in ``language``: ``offers-v1/fr``."""
    return f"{TEXTS[purpose].version}/{language}"
