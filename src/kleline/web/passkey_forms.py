"""What the pages' passkey forms share, the dashboard's (``kleline.web.dashboard.passkeys``) and the console's
(``kleline.web.console.passkeys``): what is missing from a form, all at once, one sentence for a passkey that did not
verify, whatever went wrong (as a wrong password gets), its code beside it."""

from __future__ import annotations

from typing import Final

from kleline.errors import KlelineError
from kleline.wallet.passkey import check_name
from kleline.web.i18n import N_, Language
from kleline.web.refusals import PageError

__all__ = ["passkey_problems", "passkey_refused"]

_REFUSED: Final = N_("This passkey was not accepted: try again, or use another way to confirm it is you")
_NO_SCRIPT: Final = N_("Your browser did not use a passkey: it needs JavaScript, and a passkey-capable device")
_NAME: Final = N_("Give the passkey a name (1 to 64 characters), such as “My phone”")


def passkey_refused(error: KlelineError, language: Language) -> PageError:
    """A passkey that did not verify: one sentence whatever went wrong, its code beside it."""
    code = error.code if error.code.startswith("passkey_") else "passkey_response_invalid"
    return PageError(language.gettext(_REFUSED), code, None)


def passkey_problems(form: dict[str, str], language: Language, *, named: bool) -> list[PageError]:
    """What is missing from a passkey form, all at once: its name (``named``: a new passkey's), and the
    authenticator's response (missing when the page's script did not run)."""
    problems: list[PageError] = []
    if named:
        try:
            check_name(form.get("name", ""))
        except KlelineError as error:
            problems.append(PageError(language.gettext(_NAME), error.code, "name"))
    if not form.get("credential"):
        problems.append(PageError(language.gettext(_NO_SCRIPT), "passkey_response_missing", "name" if named else None))
    return problems
