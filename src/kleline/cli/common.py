"""What every ``kleline`` command shares: the consoles, building Kleline, and turning errors into an exit status.

Kleline's services, SQLAlchemy and the migrations are imported inside the functions that use them, not at the top:
``kleline bank serve``, ``kleline --help`` and the other commands that never open the books then start without
loading every service (the whole of ``kleline.bootstrap`` costs seconds on a busy machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from kleline.config import Settings, load_settings
from kleline.errors import KlelineError

if TYPE_CHECKING:
    from kleline.bootstrap import Kleline

__all__ = [
    "console",
    "errors",
    "fail",
    "kleline_for_command",
    "missing_sqlite_file",
    "open_kleline",
    "prepare",
    "safe_url",
    "show",
]

console = Console()
errors = Console(stderr=True)


def show(table: Table) -> None:
    """Print ``table`` whole when the terminal is wide enough for it, else each of its rows as a record, one
    ``column  value`` line per cell, nothing cut.

    Why: Rich fits a wide table to the terminal by cutting its longest cells with "…", and on an 80-column terminal
    those are the ids an operator copies into the next command (``kleline merchants list`` showed ``mer_c906…``,
    which ``kleline merchants approve`` cannot take). A record per row keeps every value whole however narrow the
    terminal, as ``psql``'s expanded display does."""
    unbounded = console.options.update(width=1_000_000)
    if Measurement.get(console, unbounded, table).maximum <= console.width or not table.row_count:
        console.print(table)
        return
    if table.title:
        console.print(table.title, style="bold")
    headers = [column.header for column in table.columns]
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    for number, row in enumerate(rows, start=1):
        record = Table.grid(padding=(0, 2))
        record.add_column(style="bold", no_wrap=True)
        record.add_column(overflow="fold")
        for header, cell in zip(headers, row, strict=True):
            record.add_row(header, cell)
        console.print(f"({number})", style="dim")
        console.print(record)


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
    """Kleline built from the environment, or a readable message and exit status 1.

    Only ``serve``, ``demo`` and ``db upgrade`` make a database; every other command works on one that exists. On
    SQLite, opening a file that is not there would create it, empty: a command run in the wrong directory, or without
    the demo's ``KLELINE_DATABASE_URL``, would then leave a stray ``kleline.db`` behind and complain about its schema.
    A missing file is refused before anything is opened, naming the URL and how to point at the right database."""
    from sqlalchemy.exc import SQLAlchemyError

    from kleline.bootstrap import build

    settings = settings or load_settings()
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        _check(settings)  # unusable settings first, as ``build`` would have refused them
        raise fail(
            f"cannot open the database {escape(safe_url(settings))}: the file {escape(str(missing))} does not exist."
            " Set KLELINE_DATABASE_URL to the database to use (the demo prints its own, e.g."
            " KLELINE_DATABASE_URL=sqlite:///demo.db), or create this one with kleline db upgrade"
        )
    try:
        return build(settings)
    except KlelineError as error:
        raise fail(error.detail) from None
    except (ValueError, SQLAlchemyError) as error:
        raise fail(f"cannot open the database {safe_url(settings)}: {error}") from None


def missing_sqlite_file(url: str) -> Path | None:
    """The file an SQLite ``url`` names, if it does not exist; None for any other database, or a file that exists."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # an unusable URL: ``build`` says why
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    name = parsed.database
    if name.startswith("file:"):  # an SQLite URI (``?uri=true``): the path before its own query
        name = name.removeprefix("file:").split("?", 1)[0]
    if not name or name == ":memory:":
        return None
    path = Path(name)
    return None if path.exists() else path


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
