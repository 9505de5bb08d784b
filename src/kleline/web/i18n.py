"""The pages' languages, French and English: gettext catalogs, and which one a request is shown in.

Texts are written in English in the templates (``{% trans %}``) and in the Python that words page messages
(``gettext``, or ``N_`` for a module's constant, translated when shown). Babel extracts them into
``locale/messages.pot`` with ``locale/babel.cfg``; ``locale/fr/LC_MESSAGES/messages.po`` holds the French::

    .venv/bin/pybabel extract -F src/kleline/web/locale/babel.cfg --no-location --sort-output \\
        -o src/kleline/web/locale/messages.pot src/kleline/web
    .venv/bin/pybabel update --no-fuzzy-matching -i src/kleline/web/locale/messages.pot \\
        -d src/kleline/web/locale -l fr

Why the ``.po`` is compiled in memory at start-up (``read_po`` then ``write_mo``) rather than a ``.mo`` committed
beside it: the ``.po`` stays the one source, so a stale binary can never be served, a fresh clone or an editable
install needs no build step, and no binary lands in review. It costs a few milliseconds once per process, and a
broken ``.po`` fails at import (in every test run), not on a customer's page.

Which language: a ``lang`` query parameter, else the ``kleline_lang`` cookie that the footer's switch sets, else the
browser's ``Accept-Language`` (negotiated with Babel), else English: a visitor whose browser asks for neither
language more likely reads English than French. A page opened with ``?lang=`` sets the cookie too (``remember``):
the forms it shows post to addresses without the query, and their answers and redirects must stay in the language
the visitor chose.
"""

from __future__ import annotations

import functools
import gettext
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Final

from babel.core import negotiate_locale
from babel.dates import format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request
from starlette.responses import Response

from kleline.money import Money

__all__ = [
    "COOKIE",
    "ENGLISH",
    "FRENCH",
    "LANGUAGES",
    "N_",
    "Language",
    "accepted_languages",
    "catalog_path",
    "chosen",
    "language_of",
    "remember",
    "requested",
]

COOKIE: Final = "kleline_lang"
"""The cookie that remembers the language chosen with the footer's switch (a preference, not a secret)."""
DOMAIN: Final = "messages"
_YEAR: Final = 365 * 24 * 3600


def N_(message: str) -> str:  # noqa: N802 (gettext's conventional name, which Babel's extractor looks for)
    """Mark ``message`` for extraction without translating it now: it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Language:
    """A language of the pages: ``code`` for ``<html lang>``, the query and the cookie; ``locale`` for Babel's
    formats of amounts and times; ``name`` as written in the language itself, for the switch."""

    code: str
    locale: str
    name: str
    translations: gettext.NullTranslations = field(repr=False, compare=False)

    def gettext(self, message: str) -> str:
        """``message`` in this language."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural of a message for ``count``, in this language."""
        return self.translations.ngettext(singular, plural, count)

    def money(self, amount: Money) -> str:
        """An amount as people of this language write it (``12,50 €`` in French, ``€12.50`` in English)."""
        return _formatted(self.locale, amount.minor, amount.currency)

    def time(self, moment: datetime) -> str:
        """The time of day of an aware ``moment``, in UTC, as this language writes it."""
        return str(format_time(moment, "short", tzinfo=UTC, locale=self.locale))


# Babel formats an amount in some 15 µs; a page shows a dozen, most of them met before (the same prices, the same
# balances), so each is formatted once per process.
@functools.lru_cache(maxsize=4096)
def _formatted(locale: str, minor: int, currency: str) -> str:
    return Money(minor, currency).format(locale)


def catalog_path(code: str) -> str:
    """Where the ``.po`` of language ``code`` lives, inside the package."""
    return f"locale/{code}/LC_MESSAGES/{DOMAIN}.po"


def _compiled(code: str) -> gettext.GNUTranslations:
    source = resources.files("kleline.web").joinpath(catalog_path(code))
    with source.open("rb") as po:
        catalog = read_po(po, locale=code, domain=DOMAIN, abort_invalid=True)
    mo = io.BytesIO()
    write_mo(mo, catalog)  # fuzzy entries are left out: an unchecked guess is not shown to customers
    mo.seek(0)
    return gettext.GNUTranslations(mo)


ENGLISH: Final = Language("en", "en_GB", "English", gettext.NullTranslations())
FRENCH: Final = Language("fr", "fr_FR", "Français", _compiled("fr"))
LANGUAGES: Final = {language.code: language for language in (ENGLISH, FRENCH)}


def accepted_languages(header: str | None) -> list[str]:
    """The language tags of an ``Accept-Language`` header, most wanted first (``q=0`` and ``*`` left out)."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.strip().partition(";")
        tag = tag.strip()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and tag != "*" and 0 < quality <= 1:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def chosen(query: str | None, cookie: str | None, accept_language: str | None) -> Language:
    """The language of a page: the query's, else the cookie's, else the best match of the browser's, else English."""
    for explicit in (query, cookie):
        if explicit and explicit.lower() in LANGUAGES:
            return LANGUAGES[explicit.lower()]
    match = negotiate_locale(accepted_languages(accept_language), list(LANGUAGES), sep="-")
    return LANGUAGES.get((match or "").lower(), ENGLISH)


def language_of(request: Request) -> Language:
    """The language ``request``'s page is shown in (see ``chosen``)."""
    return chosen(request.query_params.get("lang"), request.cookies.get(COOKIE), request.headers.get("accept-language"))


def requested(request: Request) -> Language | None:
    """The language ``request``'s ``lang`` query asks for, if it is one of the pages' (else None)."""
    wanted = request.query_params.get("lang")
    return LANGUAGES.get(wanted.lower()) if wanted else None


def remember(response: Response, language: Language, *, secure: bool) -> None:
    """Have the browser keep ``language`` for the next pages (HTTPS-only when the session's cookie is)."""
    response.set_cookie(COOKIE, language.code, max_age=_YEAR, path="/", secure=secure, httponly=True, samesite="lax")
