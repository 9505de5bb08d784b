"""The ``kleline`` command line (Typer + Rich): serve, demo, migrations, operator keys, ledger audit, vault keys,
config."""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from kleline.bootstrap import Kleline, build, check_settings, receipt_signing_keys
from kleline.config import DEVELOPMENT_FINGERPRINT_KEY, DEVELOPMENT_MASTER_KEYS, Settings, load_settings
from kleline.db.engine import Database
from kleline.db.migrate import current_revision, upgrade
from kleline.errors import KlelineError
from kleline.ledger.audit import trial_balance, verify
from kleline.money import Money
from kleline.operators.service import create_key
from kleline.receipts import PublicKeys, ReceiptError, UnknownSigningKey, generate_signing_key, loads_strict
from kleline.receipts import verify as verify_receipt
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
receipt_app = typer.Typer(help="Signed receipts: verify them offline, publish the keys.", no_args_is_help=True)
app.add_typer(receipt_app, name="receipt")
idempotency_app = typer.Typer(help="Idempotency-Key records of POST requests.", no_args_is_help=True)
app.add_typer(idempotency_app, name="idempotency")

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


merchants_app = typer.Typer(help="Merchants: approval, suspension, secret keys.", no_args_is_help=True)
malls_app = typer.Typer(help="Malls: galleries of merchants.", no_args_is_help=True)
app.add_typer(merchants_app, name="merchants")
app.add_typer(malls_app, name="malls")


@merchants_app.command("list")
def merchants_list(
    status: Annotated[str | None, typer.Option(help="only this status: pending, active or suspended")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="at most this many, newest first")] = 100,
) -> None:
    """List merchants, newest first (``--status pending`` is the queue awaiting approval)."""
    kleline = _kleline()
    try:
        merchants = kleline.merchants.list(limit=limit, status=status)
    except KlelineError as error:
        raise _fail(Text(error.detail).markup) from None
    finally:
        kleline.close()
    table = Table("id", "name", "status", "fee (bps)", "email", "created", title="Merchants")
    for merchant in merchants:
        row = (merchant.id, merchant.name, merchant.status, str(merchant.fee_bps), merchant.email)
        table.add_row(*(Text(cell) for cell in row), merchant.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


def _merchant_status(action: str, merchant_id: str) -> None:
    kleline = _kleline()
    try:
        merchants = kleline.merchants
        merchant = merchants.approve(merchant_id) if action == "approve" else merchants.suspend(merchant_id)
    except KlelineError as error:
        raise _fail(Text(error.detail).markup) from None
    finally:
        kleline.close()
    typer.echo(f"{merchant.id} ({merchant.name}) is now {merchant.status}")


@merchants_app.command("approve")
def merchants_approve(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Approve a pending merchant, or reactivate a suspended one: it may take payments."""
    _merchant_status("approve", merchant_id)


@merchants_app.command("suspend")
def merchants_suspend(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Suspend an active merchant: it can no longer take payments."""
    _merchant_status("suspend", merchant_id)


@merchants_app.command("create-key")
def merchants_create_key(merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")]) -> None:
    """Create a secret key for a merchant and print it (it is shown only this once)."""
    kleline = _kleline()
    try:
        key = kleline.merchants.create_key(merchant_id)
    except KlelineError as error:
        raise _fail(Text(error.detail).markup) from None
    finally:
        kleline.close()
    typer.echo(key.secret)


@malls_app.command("create")
def malls_create(
    name: Annotated[str, typer.Argument(help="the mall's name")],
    slug: Annotated[str, typer.Argument(help="its public page's slug: lower-case letters, digits, hyphens")],
) -> None:
    """Open an empty mall and print its id."""
    kleline = _kleline()
    try:
        mall = kleline.malls.create(name, slug)
    except KlelineError as error:
        raise _fail(Text(error.detail).markup) from None
    finally:
        kleline.close()
    typer.echo(mall.id)


@malls_app.command("add-merchant")
def malls_add_merchant(
    mall_id: Annotated[str, typer.Argument(help="mall id (mall_...)")],
    merchant_id: Annotated[str, typer.Argument(help="merchant id (mer_...)")],
) -> None:
    """Place a merchant in a mall."""
    kleline = _kleline()
    try:
        mall = kleline.malls.add_merchant(mall_id, merchant_id)
    except KlelineError as error:
        raise _fail(Text(error.detail).markup) from None
    finally:
        kleline.close()
    typer.echo(f"{mall.name} ({mall.slug}) now has {len(mall.members)} merchant(s)")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every sealed record (cards, authenticator and webhook secrets) under the active (first) master key;
    resumable, run it after adding a key and before dropping an old one."""
    kleline = _kleline()
    try:
        cards = kleline.cards.rotate_keys()
        secrets = kleline.strong_auth.rotate_keys()
        webhook_secrets = kleline.webhook_endpoints.rotate_keys()
        active = kleline.cards.active_key_id
    except KlelineError as error:
        raise _fail(error.detail) from None
    finally:
        kleline.close()
    console.print(
        f"re-wrapped {cards} card record(s) and {secrets} authenticator secret(s) under master key [bold]{active}[/]",
        highlight=False,
    )
    console.print(f"re-wrapped {webhook_secrets} webhook endpoint secret(s) under master key [bold]{active}[/]")


@keys_app.command("generate")
def keys_generate(key_id: Annotated[str, typer.Argument(help="the new key's id, such as k2")]) -> None:
    """Print a new random master key entry, ``<id>:<base64>``, to put first in KLELINE_MASTER_KEYS."""
    try:
        typer.echo(generate_master_key(key_id))
    except KlelineError as error:
        raise _fail(error.detail) from None


_KEYS_SIZE_LIMIT = 1 << 20


def _public_keys(source: str | None) -> PublicKeys:
    """The keys to verify against: a file or http(s) URL holding the JSON of GET /v1/keys, or the configuration's."""
    try:
        if source is None:
            return receipt_signing_keys(load_settings()).public_keys()
        if source.startswith(("http://", "https://")):
            with urllib.request.urlopen(source, timeout=10) as response:  # only http(s): the scheme is checked above
                text = response.read(_KEYS_SIZE_LIMIT)
        else:
            text = Path(source).read_bytes()
        return PublicKeys.from_json(loads_strict(text))
    except KlelineError as error:
        raise _fail(escape(f"keys from {source or 'the configuration'}: {error.detail}"), 2) from None
    except (OSError, ValueError) as error:  # unreadable file, unreachable URL
        raise _fail(escape(f"cannot read the keys from {source}: {error}"), 2) from None


@receipt_app.command("verify")
def receipt_verify(
    file: Annotated[Path, typer.Argument(help="a signed receipt (the JSON of GET /v1/receipts/{id})")],
    keys: Annotated[
        str | None,
        typer.Option(help="file or http(s) URL of the JSON of GET /v1/keys; default: this configuration's keys"),
    ] = None,
) -> None:
    """Check a receipt's Ed25519 signature offline: exit 0 and a summary if valid, 1 if not, 2 if unreadable."""
    public_keys = _public_keys(keys)
    try:
        document = loads_strict(file.read_bytes())
    except OSError as error:
        raise _fail(escape(f"cannot read {file}: {error.strerror or error}"), 2) from None
    except ReceiptError as error:
        raise _fail(escape(f"{file}: not a receipt: {error.detail}")) from None
    try:
        receipt = verify_receipt(document, public_keys)
    except UnknownSigningKey as error:
        hint = "" if keys else " (pass --keys with the JSON of GET /v1/keys of the Kleline that issued it)"
        raise _fail(escape(f"{file}: INVALID receipt: {error.detail}{hint}")) from None
    except ReceiptError as error:
        raise _fail(escape(f"{file}: INVALID receipt: {error.detail}")) from None
    key_id = document["signature"]["key_id"]
    state = "active" if public_keys.get(key_id).active else "retired, still valid for verification"
    what = "payment" if receipt.kind == "payment" else f"refund {receipt.object_id} of payment"
    lines = [
        f"valid receipt {receipt.receipt_id}, signed by Kleline with key {key_id} (Ed25519, {state})",
        f"  {what} {receipt.payment_id}",
        f"  merchant:    {receipt.merchant_name} ({receipt.merchant_id})",
        f"  customer:    {receipt.customer_id}",
        f"  amount:      {receipt.amount}" + (" refunded" if receipt.kind == "refund" else ""),
        f"  commission:  {receipt.commission}" + (" returned" if receipt.kind == "refund" else ""),
        f"  issued at:   {document['issued_at']}",
    ]
    typer.echo("\n".join(lines))  # plain text: a merchant's name must not be read as markup


@receipt_app.command("keys")
def receipt_keys() -> None:
    """Print the public keys of this configuration, as GET /v1/keys serves them (for --keys FILE)."""
    typer.echo(json.dumps(_public_keys(None).to_json(), indent=2))


@receipt_app.command("generate-key")
def receipt_generate_key(key_id: Annotated[str, typer.Argument(help="the new key's id, such as k2")]) -> None:
    """Print a new random signing key entry, ``<id>:<base64 seed>``, to put first in KLELINE_RECEIPT_SIGNING_KEYS."""
    try:
        typer.echo(generate_signing_key(key_id))
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
    if name == "receipt_signing_keys":
        return _masked_keys(settings.receipt_signing_keys.get_secret_value())
    if name == "bank_url":
        return re.sub(r"//[^/@]*@", "//***@", settings.bank_url)  # a link's URL may carry credentials
    return str(getattr(settings, name))


@idempotency_app.command("sweep")
def idempotency_sweep() -> None:
    """Delete the Idempotency-Key records older than KLELINE_IDEMPOTENCY_RETENTION_HOURS (the worker does it too)."""
    kleline = _kleline()
    try:
        removed = kleline.idempotency.sweep()
        hours = kleline.settings.idempotency_retention_hours
    finally:
        kleline.close()
    console.print(f"removed {removed} idempotency record(s) older than {hours} h", highlight=False)


payments_app = typer.Typer(help="Payments' housekeeping (the worker does it too).", no_args_is_help=True)
app.add_typer(payments_app, name="payments")


@payments_app.command("expire")
def payments_expire() -> None:
    """Release the authorisations older than KLELINE_AUTHORIZATION_TTL_HOURS, and list them."""
    kleline = _kleline()
    try:
        expired = kleline.payments.expire_authorizations(limit=10_000)
    finally:
        kleline.close()
    for payment_id in expired:
        console.print(f"expired {payment_id}", highlight=False)
    console.print(f"{len(expired)} authorisation(s) released", highlight=False)


@app.command("config")
def show_config() -> None:
    """List every KLELINE_* setting, its value here and what it is for."""
    settings = load_settings()
    table = Table("variable", "value", "meaning")
    for name, field in Settings.model_fields.items():
        table.add_row(f"KLELINE_{name.upper()}", _shown(settings, name), field.description or "")
    console.print(table)


@app.command("worker")
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
    kleline = _kleline()
    try:
        runner = Worker(kleline, interval=interval or kleline.settings.worker_interval_seconds)
        if once:
            report = runner.run_once()
            typer.echo(report.summary())
            if report.errors:
                raise _fail(f"sweep(s) failed: {', '.join(report.errors)}")
            return
        stop = threading.Event()
        stop_on_signals(stop)
        runner.run(stop)
    finally:
        kleline.close()


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
) -> None:
    """Serve the API and pages (migrating an empty database first)."""
    from kleline.api.main import run_server

    settings = load_settings()
    _prepare(settings)
    _kleline(settings).close()  # fail here, with a clear message, rather than in every worker
    run_server(host or settings.host, port or settings.port, workers)


@app.command("demo")
def demo(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    shop_port: Annotated[int, typer.Option(help="port the demo shop listens on (127.0.0.1)")] = 8001,
) -> None:
    """Seed demo data (malls, merchants, customers with cards and purses; idempotent), then run Kleline, its worker
    and the demo shop of examples/shop until Ctrl-C, printing where to click."""
    from kleline.demo import Addresses, run, seed, shop_directory, start_shop

    environment = load_settings()
    bind_host, bind_port = host or environment.host, port or environment.port
    browser_host = "127.0.0.1" if bind_host in ("0.0.0.0", "::") else bind_host
    addresses = Addresses(kleline=f"http://{browser_host}:{bind_port}", shop=f"http://127.0.0.1:{shop_port}")
    # The shop listens on loopback, so its webhook endpoint must be allowed there; checkout links follow the port.
    overrides: dict[str, object] = {"webhooks_allow_loopback": True}
    if "KLELINE_PUBLIC_URL" not in os.environ:
        overrides["public_url"] = addresses.kleline
    settings = load_settings(**overrides)
    _prepare(settings)
    kleline = _kleline(settings)
    try:
        data = seed(kleline, shop_url=addresses.shop)
    except KlelineError as error:
        kleline.close()
        raise _fail(escape(error.detail)) from None
    directory = shop_directory()
    shop = start_shop(directory, data, addresses, "127.0.0.1", shop_port) if directory is not None else None
    console.print(f"[bold]Kleline demo[/] (database {escape(_safe_url(settings))}): starting…", highlight=False)

    def say(lines: list[str]) -> None:
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)  # whole lines, to be copied

    run(kleline, data, addresses, host=bind_host, port=bind_port, shop=shop, say=say)
