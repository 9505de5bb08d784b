"""Fresh, migrated databases for the benchmarks, migrated once per run and cloned for each bench.

Running every migration takes seconds per database (Alembic's scripts, then each DDL statement), a dozen times per
``make bench``; the clone of a migrated, empty database is the same schema with the same (empty) tables for a
fraction of that: ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, SQLite's backup API on a file. The templates are
made on first use, checked to be at the code's head revision, and dropped when the process ends.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from kleline.db.engine import Database
from kleline.db.migrate import current_revision, head_revision, upgrade

__all__ = ["ADMIN_URL", "migrated_postgres", "migrated_sqlite", "new_postgres", "postgres_url"]

ADMIN_URL = os.environ.get("KLELINE_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")

_templates: dict[str, str] = {}


def postgres_url(name: str) -> str:
    """The URL of database ``name`` on the bench's PostgreSQL server."""
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(sql)


def _migrated(url: str) -> None:
    db = Database(url)
    try:
        upgrade(db)
        assert current_revision(db) == head_revision(), "the template is not at the head revision"
    finally:
        db.dispose()


def _postgres_template() -> str:
    name = _templates.get("postgres")
    if name is None:
        name = f"kleline_bench_template_{secrets.token_hex(4)}"
        _admin(f'CREATE DATABASE "{name}"')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _migrated(postgres_url(name))
        _templates["postgres"] = name
    return name


def new_postgres(name: str) -> str:
    """Create database ``name``, migrated (a clone of the run's template; no session may hold the template, and
    none does: each bench's connections are to its own clone); its URL."""
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"')
    return postgres_url(name)


@contextmanager
def migrated_postgres(prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh, migrated database on the bench's PostgreSQL server: (name, URL); dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        yield name, new_postgres(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_template() -> Path:
    path = _templates.get("sqlite")
    if path is None:
        folder = tempfile.mkdtemp(prefix="kleline-bench-template-")
        atexit.register(shutil.rmtree, folder, True)
        path = str(Path(folder) / "template.db")
        _migrated(f"sqlite:///{path}")
        _templates["sqlite"] = path
    return Path(path)


def migrated_sqlite(path: Path) -> str:
    """A migrated SQLite database at ``path`` (a copy of the run's template, through SQLite's backup API so that
    nothing left in a write-ahead log is missed); its URL."""
    source = sqlite3.connect(_sqlite_template())
    target = sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return f"sqlite:///{path}"
