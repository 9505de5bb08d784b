"""What every ``kleline`` command shares: the consoles, building Kleline, and turning errors into an exit status.

Kleline's services, SQLAlchemy and the migrations are imported inside the functions that use them, not at the top:
``kleline bank serve``, ``kleline --help`` and the other commands that never open the books then start without
loading every service (the whole of ``kleline.bootstrap`` costs seconds on a busy machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.text import Text

from kleline.config import Settings, load_settings
from kleline.errors import KlelineError

if TYPE_CHECKING:
    from kleline.bootstrap import Kleline

__all__ = ["console", "errors", "fail", "kleline_for_command", "open_kleline", "prepare", "safe_url"]

console = Console()
errors = Console(stderr=True)


def fail(message: str, status: int = 1) -> typer.Exit:
    """Print an error line on stderr and return the exit to raise."""
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, however narrow the terminal
    return typer.Exit(status)


@contextmanager
def kleline_for_command() -> Iterator[Kleline]:
    """Kleline for the length of one command: a refusal (``KlelineError``) becomes a readable message and exit
    status 1, and the connections are closed whatever happens."""
    kleline = open_kleline()
    try:
        yield kleline
    except KlelineError as error:
        raise fail(Text(error.detail).markup) from None
    finally:
        kleline.close()


def open_kleline(settings: Settings | None = None) -> Kleline:
    """Kleline built from the environment, or a readable message and exit status 1."""
    from sqlalchemy.exc import SQLAlchemyError

    from kleline.bootstrap import build

    try:
        return build(settings or load_settings())
    except KlelineError as error:
        raise fail(error.detail) from None
    except (ValueError, SQLAlchemyError) as error:
        raise fail(f"cannot open the database {safe_url(settings)}: {error}") from None


def safe_url(settings: Settings | None) -> str:
    """The database URL with its password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    url = (settings or load_settings()).database_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def _check(settings: Settings) -> None:
    """Refuse unsafe or unusable settings (development keys in production, an unknown bank) before touching anything."""
    from kleline.bootstrap import check_settings

    try:
        check_settings(settings)
    except KlelineError as error:
        raise fail(error.detail) from None


def prepare(settings: Settings) -> None:
    """Migrate an empty database (the server's duty on start)."""
    from sqlalchemy.exc import SQLAlchemyError

    from kleline.db.engine import Database
    from kleline.db.migrate import current_revision, upgrade

    _check(settings)
    try:
        db = Database(settings.database_url)
        try:
            if current_revision(db) is None:
                upgrade(db)
        finally:
            db.dispose()
    except (ValueError, SQLAlchemyError) as error:
        raise fail(f"cannot open the database {safe_url(settings)}: {error}") from None
