"""The ``kleline`` command line (Typer + Rich): serve, demo, migrations, operator keys, ledger audit, vault keys,
config."""

from __future__ import annotations

import os
import re
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kleline.bootstrap import Kleline, build, check_settings, open_system_accounts
from kleline.config import DEVELOPMENT_FINGERPRINT_KEY, DEVELOPMENT_MASTER_KEYS, Settings, load_settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, upgrade
from kleline.errors import KlelineError
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.operators.service import create_key
from kleline.wallet.vault import KEY_ID_PATTERN, generate_master_key

app = typer.Typer(help="Kleline: a payment intermediary for online shopping.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
operator_app = typer.Typer(help="Operators' access.", no_args_is_help=True)
ledger_app = typer.Typer(help="Audit the books.", no_args_is_help=True)
customers_app = typer.Typer(help="Customers' wallets.", no_args_is_help=True)
keys_app = typer.Typer(help="The card vault's master keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(operator_app, name="operator")
app.add_typer(ledger_app, name="ledger")
app.add_typer(customers_app, name="customers")
app.add_typer(keys_app, name="keys")

console = Console()
errors = Console(stderr=True)


def _fail(message: str, status: int = 1) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # one line, however narrow the terminal
    return typer.Exit(status)


def _kleline(settings: Settings | None = None) -> Kleline:
    """Kleline built from the environment, or a readable message and exit status 1."""
    try:
        return build(settings or load_settings())
    except KlelineError as error:
        raise _fail(error.detail) from None
    except (ValueError, SQLAlchemyError) as error:
        raise _fail(f"cannot open the database {_safe_url(settings)}: {error}") from None


def _safe_url(settings: Settings | None) -> str:
    url = (settings or load_settings()).database_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def _check(settings: Settings) -> None:
    """Refuse unsafe or unusable settings (development keys in production, an unknown bank) before touching anything."""
    try:
        check_settings(settings)
    except KlelineError as error:
        raise _fail(error.detail) from None


def _prepare(settings: Settings) -> None:
    """Migrate an empty database (the server's duty on start)."""
    _check(settings)
    try:
        db = Database(settings.database_url)
        try:
            if current_revision(db) is None:
                upgrade(db)
        finally:
            db.dispose()
    except (ValueError, SQLAlchemyError) as error:
        raise _fail(f"cannot open the database {_safe_url(settings)}: {error}") from None


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Migrate the database schema (to the newest revision by default)."""
    settings = load_settings()
    try:
        db = Database(settings.database_url)
        try:
            upgrade(db, revision)
            console.print(f"database at revision [bold]{current_revision(db)}[/]")
        finally:
            db.dispose()
    except (ValueError, SQLAlchemyError) as error:
        raise _fail(f"cannot migrate {_safe_url(settings)}: {error}") from None


@operator_app.command("create-key")
def operator_create_key(label: Annotated[str, typer.Option(help="who or what the key is for")] = "operator") -> None:
    """Create an operator API key and print it (it is shown only this once)."""
    kleline = _kleline()
    try:
        key = create_key(kleline.db, label)
    finally:
        kleline.close()
    typer.echo(key.secret)


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute every hash chain and balance; exit 1 and name each entry or account that was tampered with."""
    kleline = _kleline()
    try:
        report = verify(kleline.db)
    finally:
        kleline.close()
    if report.ok:
        console.print(
            f"[green]ok[/]: {report.entries} entries in {report.chains} chains and {report.accounts} accounts verified"
        )
        return
    for problem in report.problems:
        errors.print(f"[red]✗[/] {problem}", highlight=False)
    raise _fail(f"{len(report.problems)} problem(s) found in {report.entries} entries")


@ledger_app.command("trial-balance")
def ledger_trial_balance(
    accounts: Annotated[bool, typer.Option("--accounts/--no-accounts", help="list every account")] = True,
) -> None:
    """Print every account's balance and the debit and credit totals per currency."""
    kleline = _kleline()
    try:
        result = trial_balance(kleline.db)
    finally:
        kleline.close()
    if accounts:
        table = Table("account", "side", "balance", title="Accounts")
        for line in result.accounts:
            table.add_row(line.code, line.normal_side.name.lower(), str(Money(line.balance, line.currency)))
        console.print(table)
    totals = Table("currency", "debits", "credits", "balanced", title="Trial balance")
    for currency, t in result.currencies.items():
        mark = "[green]yes[/]" if t.debits == t.credits else "[red]NO[/]"
        totals.add_row(currency, str(Money(t.debits, currency)), str(Money(t.credits, currency)), mark)
    console.print(totals)
    if not result.balanced:
        raise _fail("the books do not balance")


@customers_app.command("verify")
def customers_verify(customer: Annotated[str, typer.Argument(help="customer id (cus_...) or email")]) -> None:
    """Raise a customer to the verified level (identity checked), which lifts the purse's limits."""
    kleline = _kleline()
    try:
        verified = kleline.customers.verify(customer)
    except KlelineError as error:
        raise _fail(error.detail) from None
    finally:
        kleline.close()
    console.print(f"{verified.id} ({verified.email}) is now [bold]{verified.kyc_level}[/]", highlight=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every sealed record (cards, authenticator secrets) under the active (first) master key; resumable,
    run it after adding a key and before dropping an old one."""
    kleline = _kleline()
    try:
        cards = kleline.cards.rotate_keys()
        secrets = kleline.strong_auth.rotate_keys()
        active = kleline.cards.active_key_id
    except KlelineError as error:
        raise _fail(error.detail) from None
    finally:
        kleline.close()
    console.print(
        f"re-wrapped {cards} card record(s) and {secrets} authenticator secret(s) under master key [bold]{active}[/]",
        highlight=False,
    )


@keys_app.command("generate")
def keys_generate(key_id: Annotated[str, typer.Argument(help="the new key's id, such as k2")]) -> None:
    """Print a new random master key entry, ``<id>:<base64>``, to put first in KLELINE_MASTER_KEYS."""
    try:
        typer.echo(generate_master_key(key_id))
    except KlelineError as error:
        raise _fail(error.detail) from None


def _masked_keys(text: str) -> str:
    """Key ids only, the secrets starred: ``k2:***,k1:***`` (the first is the active one)."""
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
        return _safe_url(settings)
    if name == "master_keys":
        return _masked_keys(settings.master_keys.get_secret_value())
    if name == "fingerprint_key":
        return (
            "(development key)" if settings.fingerprint_key.get_secret_value() == DEVELOPMENT_FINGERPRINT_KEY else "***"
        )
    if name == "bank_url":
        return re.sub(r"//[^/@]*@", "//***@", settings.bank_url)  # a link's URL may carry credentials
    return str(getattr(settings, name))


@app.command("config")
def show_config() -> None:
    """List every KLELINE_* setting, its value here and what it is for."""
    settings = load_settings()
    table = Table("variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        table.add_row(f"KLELINE_{name.upper()}", _shown(settings, name), field.description or "")
    console.print(table)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API and pages (migrating an empty database first)."""
    import uvicorn

    settings = load_settings()
    _prepare(settings)
    _kleline(settings).close()  # fail here, with a clear message, rather than in every worker
    uvicorn.run(
        "kleline.api.main:app_from_environment",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


@app.command("demo")
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Prepare a demo database (Kleline's own accounts, an operator key), then serve it."""
    settings = load_settings()
    _prepare(settings)
    kleline = _kleline(settings)
    try:
        open_system_accounts(kleline)
        key = create_key(kleline.db, "demo")
    finally:
        kleline.close()
    address = f"http://{host or settings.host}:{port or settings.port}"
    lines = [
        f"[bold]Kleline demo[/] on {address}  (database {_safe_url(settings)})",
        f"  API docs:       {address}/docs",
        f"  operator key:   {key.secret}",
        f"  trial balance:  curl -H 'Authorization: Bearer {key.secret}' {address}/v1/ledger/trial-balance",
    ]
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)  # whole lines, so that they can be copied
    os.environ.setdefault("KLELINE_DATABASE_URL", settings.database_url)
    serve(host=host, port=port, workers=1)
