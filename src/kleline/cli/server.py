"""Running Kleline: the server, the demo, the worker, the schema's migrations and the configuration they read."""

from __future__ import annotations

import os
import re
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from kleline.cli.common import console, fail, missing_sqlite_file, open_kleline, prepare, safe_url
from kleline.cli.serving import HEALTHCHECK_TIMEOUT
from kleline.config import (
    DEVELOPMENT_CUSTOMER_INDEX_KEY,
    DEVELOPMENT_FINGERPRINT_KEY,
    DEVELOPMENT_MASTER_KEYS,
    DEVELOPMENT_PSEUDONYM_KEY,
    Settings,
    load_settings,
)
from kleline.errors import KlelineError

__all__ = ["db_app", "demo", "serve", "show_config", "worker"]

db_app = typer.Typer(help="The database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Migrate the database schema (to the newest revision by default)."""
    from sqlalchemy.exc import SQLAlchemyError

    from kleline.db.engine import Database
    from kleline.db.migrate import current_revision, upgrade

    settings = load_settings()
    try:
        db = Database(settings.database_url)
        try:
            upgrade(db, revision)
            console.print(f"database at revision [bold]{current_revision(db)}[/]")
        finally:
            db.dispose()
    except (ValueError, SQLAlchemyError) as error:
        raise fail(f"cannot migrate {safe_url(settings)}: {error}") from None


def _masked_keys(text: str) -> str:
    """Key ids only, the secrets starred: ``k2:***,k1:***`` (the first is the active one)."""
    from kleline.wallet.vault import KEY_ID_PATTERN

    if text == DEVELOPMENT_MASTER_KEYS:
        return "(development keys)"
    shown = []
    for entry in text.split(","):
        key_id, colon, _secret = entry.strip().partition(":")
        # A malformed entry may be a bare key: show an id only when it looks like one.
        shown.append(f"{key_id}:***" if colon and KEY_ID_PATTERN.match(key_id) else "(malformed):***")
    return ",".join(shown)


def _shown(settings: Settings, name: str) -> str:
    """A setting's value as ``kleline config`` may print it: never a key, never a password."""
    if name == "database_url":
        return safe_url(settings)
    if name == "master_keys":
        return _masked_keys(settings.master_keys.get_secret_value())
    if name == "fingerprint_key":
        return (
            "(development key)" if settings.fingerprint_key.get_secret_value() == DEVELOPMENT_FINGERPRINT_KEY else "***"
        )
    if name == "pseudonym_key":
        return "(development key)" if settings.pseudonym_key.get_secret_value() == DEVELOPMENT_PSEUDONYM_KEY else "***"
    if name == "customer_index_key":
        development = settings.customer_index_key.get_secret_value() == DEVELOPMENT_CUSTOMER_INDEX_KEY
        return "(development key)" if development else "***"
    if name == "receipt_signing_keys":
        return _masked_keys(settings.receipt_signing_keys.get_secret_value())
    if name == "bank_url":
        return re.sub(r"//[^/@]*@", "//***@", settings.bank_url)  # a link's URL may carry credentials
    return str(getattr(settings, name))


def show_config() -> None:
    """List every KLELINE_* setting, its value here and what it is for."""
    settings = load_settings()
    rows = [
        (f"KLELINE_{name.upper()}", _shown(settings, name), field.description or "")
        for name, field in Settings.model_fields.items()
    ]
    # A value is copied as it is: it keeps its whole width (up to half the terminal's) and the meaning wraps instead.
    widest = min(max(len(value) for _, value, _ in rows), console.width // 2)
    table = Table(Column("variable", no_wrap=True), Column("value", min_width=widest, overflow="fold"), "meaning")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    legacy = _legacy_keys(settings)
    if legacy:
        console.print(
            f"[yellow]warning:[/] {legacy} operator key{'s' if legacy > 1 else ''} made before roles keep every power;"
            " revoke them (kleline operator list-keys, kleline operator revoke-key ID) and create keys with --role",
            highlight=False,
        )


def _legacy_keys(settings: Settings) -> int:
    """How many live operator keys have no role, if the database can be read; 0 when it cannot (``config`` lists
    the settings, which must not depend on the database being there: nothing is created or migrated here)."""
    from sqlalchemy.exc import SQLAlchemyError

    from kleline.db.engine import Database
    from kleline.errors import KlelineError
    from kleline.operators.service import legacy_keys

    if missing_sqlite_file(settings.database_url) is not None:
        return 0
    try:
        db = Database(settings.database_url)
        try:
            return legacy_keys(db)
        finally:
            db.dispose()
    except (ValueError, SQLAlchemyError, KlelineError):
        return 0  # unreachable or busy, or a schema from before roles: nothing to say about keys here


def worker(
    once: Annotated[bool, typer.Option("--once", help="one pass (every due delivery, every sweep), then exit")] = False,
    interval: Annotated[
        float | None, typer.Option(min=0.01, help="seconds between passes when idle (KLELINE_WORKER_INTERVAL_SECONDS)")
    ] = None,
) -> None:
    """Deliver webhooks and run the periodic sweeps until Ctrl-C or SIGTERM; ``--once`` prints what one pass did."""
    import logging
    import threading

    from kleline.worker.runner import Worker, stop_on_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    kleline = open_kleline()
    try:
        runner = Worker(kleline, interval=interval or kleline.settings.worker_interval_seconds)
        if once:
            report = runner.run_once()
            typer.echo(report.summary())
            if report.errors:
                raise fail(f"sweep(s) failed: {', '.join(report.errors)}")
            return
        stop = threading.Event()
        stop_on_signals(stop)
        runner.run(stop)
    finally:
        kleline.close()


def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    healthcheck_timeout: Annotated[
        int,
        typer.Option(
            min=1,
            help="seconds a worker may go without answering the supervisor before it is killed and replaced "
            "(with --workers above 1); a busy worker's requests wait meanwhile",
        ),
    ] = HEALTHCHECK_TIMEOUT,
) -> None:
    """Serve the API and pages (migrating an empty database first)."""
    from kleline.cli.serving import run_server

    settings = load_settings()
    prepare(settings)
    open_kleline(settings).close()  # fail here, with a clear message, rather than in every worker
    run_server(
        host or settings.host,
        port or settings.port,
        workers,
        healthcheck_timeout=healthcheck_timeout,
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    shop_port: Annotated[int, typer.Option(help="port the demo shop listens on (127.0.0.1)")] = 8001,
    bank_port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="ISO 8583 port of the demo's bank (its HTTP side on the next); 0 picks free ones"
        ),
    ] = 0,
) -> None:
    """Seed demo data (malls, merchants, customers with cards and purses; idempotent), then run Kleline, its worker
    and the demo shop of examples/shop until Ctrl-C, printing where to click. Card traffic goes to a simulated bank
    (kleline bank serve) that the demo runs beside them, unless KLELINE_BANK_URL names one."""
    from kleline.demo import Addresses, BankProcess, DemoBank, run, seed, shop_directory, start_shop
    from kleline.demo.bank import forget_stale_state, is_fresh, state_directory

    environment = load_settings()
    bind_host, bind_port = host or environment.host, port or environment.port
    addresses = Addresses.on_this_machine(bind_host, bind_port, shop_port)
    # The shop listens on loopback, so its webhook endpoint must be allowed there; checkout links follow the port.
    overrides: dict[str, object] = {"webhooks_allow_loopback": True}
    if "KLELINE_PUBLIC_URL" not in os.environ:
        overrides["public_url"] = addresses.kleline
    settings = load_settings(**overrides)
    bank_process, bank = None, DemoBank(settings.bank_url)
    try:
        if "bank_url" not in settings.model_fields_set:  # the demo's own bank, started while the schema migrates
            state = state_directory(settings.database_url)
            if is_fresh(settings.database_url) and forget_stale_state(state):
                console.print(f"the bank state {escape(str(state))} belonged to an earlier demo database: forgotten")
            bank_process = BankProcess(port=bank_port, state=state, settings=settings)
        prepare(settings)
        if bank_process is not None:
            bank = bank_process.wait_until_listening()
            settings = load_settings(**overrides, bank_url=bank.url)
        kleline = open_kleline(settings)
        try:
            data = seed(kleline, shop_url=addresses.shop)
            directory = shop_directory()
            shop = start_shop(directory, data, addresses, "127.0.0.1", shop_port) if directory is not None else None
        except BaseException:
            kleline.close()
            raise
    except BaseException as error:
        if bank_process is not None:
            bank_process.stop()
        if isinstance(error, KlelineError):
            raise fail(escape(error.detail)) from None
        raise
    console.print(f"[bold]Kleline demo[/] (database {escape(safe_url(settings))}): starting…", highlight=False)

    def say(lines: list[str]) -> None:
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)  # whole lines, to be copied

    run(
        kleline,
        data,
        addresses,
        host=bind_host,
        port=bind_port,
        shop=shop,
        say=say,
        bank=bank,
        bank_process=bank_process,
    )
