"""Running the demo: Kleline's API and pages, the webhook worker and the demo shop, until Ctrl-C.

Kleline's server and its worker run in this process over one ``Kleline``, so that they share one card connector
(an authorisation the API makes is one the worker's expiry sweep can release). The shop is a separate process
(``python -m demo_shop`` in ``examples/shop``) that knows Kleline only by its URL, its secret key and its webhook
secret; the simulated bank (``kleline.demo.bank``) is another, reached over ISO 8583. Ctrl-C (or SIGTERM) stops the
server; the worker and the shop are stopped after it, and the bank last, once nothing of Kleline can call it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy.engine import make_url

from kleline.api.app import create_app
from kleline.bootstrap import Kleline
from kleline.demo.bank import BankProcess, DemoBank, die_with
from kleline.demo.data import DemoData
from kleline.worker.runner import Worker

__all__ = ["Addresses", "banner", "beside_the_demo", "run", "shop_directory", "start_shop"]

log = logging.getLogger(__name__)

STARTUP_SECONDS = 30.0


# Kleline listening on one of these is reached at http://localhost:PORT: IPv4 loopback, or every address (IPv6's
# wildcard takes IPv4 too, as Linux binds it by default). An IPv6-only ``::1`` keeps its literal: ``localhost`` may
# name 127.0.0.1 alone (it does in many containers).
_LOCALHOST = frozenset({"127.0.0.1", "0.0.0.0", "::", "localhost"})


@dataclass(frozen=True, slots=True)
class Addresses:
    """Where Kleline and the shop listen, as a browser on this machine reaches them."""

    kleline: str
    shop: str

    @classmethod
    def on_this_machine(cls, host: str, port: int, shop_port: int) -> Addresses:
        """Kleline listening on ``host``:``port``, the shop on loopback at ``shop_port``. Kleline on loopback (or on
        every address) is named ``localhost``, not 127.0.0.1: browsers refuse passkeys (WebAuthn) for an IP address,
        and the demo's public address, its passkeys' relying party, is this one."""
        browser_host = "localhost" if host in _LOCALHOST else host
        if ":" in browser_host:
            browser_host = f"[{browser_host}]"  # an IPv6 literal, as a URL writes it
        return cls(kleline=f"http://{browser_host}:{port}", shop=f"http://127.0.0.1:{shop_port}")


def shop_directory() -> Path | None:
    """``examples/shop`` of this checkout: under the working directory, else beside the source tree; None if absent."""
    candidates = [Path.cwd() / "examples" / "shop", Path(__file__).resolve().parents[3] / "examples" / "shop"]
    return next((path for path in candidates if (path / "demo_shop" / "__init__.py").is_file()), None)


def start_shop(directory: Path, data: DemoData, addresses: Addresses, host: str, port: int) -> subprocess.Popen[bytes]:
    """Start the shop process, handing it the Kleline URL and its two secrets through its environment; it is told to
    stop if the demo dies (call from the thread that stays alive: Linux ties the signal to the forking thread)."""
    # The shop is another party: it gets none of Kleline's own settings (master keys, signing keys, database).
    inherited = {name: value for name, value in os.environ.items() if not name.startswith("KLELINE_")}
    environment = dict(
        inherited,
        SHOP_KLELINE_URL=addresses.kleline,
        SHOP_PUBLIC_URL=addresses.shop,
        SHOP_SECRET_KEY=data.shop.secret_key,
        SHOP_WEBHOOK_SECRET=data.shop.webhook_secret,
        SHOP_HOST=host,
        SHOP_PORT=str(port),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "demo_shop"], cwd=directory, env=environment, preexec_fn=die_with(os.getpid())
    )


def beside_the_demo(database_url: str, bank: DemoBank | None = None) -> list[str]:
    """The banner's lines that point ``kleline`` commands in other terminals at the demo's database (and bank).

    Without them, a command in another terminal reads its own default, ``sqlite:///kleline.db`` in whatever directory
    it runs in: not the demo's books. The SQLite path is made absolute, so the line works from any directory; a
    password in a PostgreSQL URL is masked (type it in), never printed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not url.database.startswith("file:"):
        url = url.set(database=str(Path(url.database).resolve()))
    variables = [f"KLELINE_DATABASE_URL={shlex.quote(url.render_as_string(hide_password=True))}"]
    if bank is not None:
        variables.append(f"KLELINE_BANK_URL={shlex.quote(bank.url)}")
    return [
        f"Other terminals: export {' '.join(variables)}",
        "  then e.g.      .venv/bin/kleline ledger trial-balance   (the same KLELINE_* settings as this demo)",
    ]


def banner(
    data: DemoData,
    addresses: Addresses,
    *,
    shop_running: bool,
    bank: DemoBank | None = None,
    database_url: str | None = None,
) -> list[str]:
    """Where to click, and the keys and passwords of the demo (plain text, one line each, to be copied); ``bank``:
    where its card traffic goes; ``database_url``: the demo's database, for commands run in other terminals."""
    kleline, key = addresses.kleline, data.operator_key
    passkeys = _names_a_host(kleline)
    lines = ["", "Kleline demo is ready."]
    if shop_running:
        lines += [
            f"  1. Open the demo shop:  {addresses.shop}  and click 'Buy with Kleline'.",
            "  2. On Kleline's checkout, sign in as a demo customer below, pay by purse or card.",
            "  3. Back at the shop, watch the order turn 'paid' when the worker delivers the webhook.",
        ]
    else:
        lines.append("  (the demo shop is not running: examples/shop was not found)")
    lines += [
        f"  Browse the malls at {kleline}/malls (every demo merchant's shop link opens the demo shop),",
        f"  and sign in at {kleline}/sign-in as a demo customer to see the wallet, its history and receipts,",
        f"  their privacy choices at {kleline}/wallet/privacy and offers at {kleline}/wallet/inbox (Alice has one).",
        *([f"  Add a passkey at {kleline}/wallet/security, then sign in, pay and top up with it."] if passkeys else []),
        "",
        f"Demo customers (sign in with the email, password '{data.customers[0].password}' for all):",
    ]
    for customer in data.customers:
        cards = ", ".join(f"{card.brand} ..{card.last4}" for card in customer.cards)
        lines.append(f"  {customer.email:<20} {customer.name:<14} purse {customer.purse}  cards: {cards}")
        if customer.totp_secret:
            lines.append(f"  {'':<20} authenticator secret {customer.totp_secret} (shown once)")
    if any(customer.totp_secret for customer in data.customers):
        lines.append(
            "  A strong-authentication code (asked above 30 EUR):  "
            ".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\""
        )
    else:
        lines.append("  Their authenticator secrets were shown by the first run (delete demo.db to start afresh).")
    lines += _owner_lines(data, kleline)
    lines += _staff_lines(data, kleline)
    lines += [
        "",
        f"Kleline:        {kleline}   malls: {kleline}/malls   API docs: {kleline}/docs",
        f"Operator key:   {key}   (support: reads everything; shown once)",
        f"  curl -H 'Authorization: Bearer {key}' {kleline}/v1/ledger/trial-balance",
        *(f"  {role.value + ' key:':<16}{secret}" for role, secret in data.operator_keys.items() if secret != key),
        f"Shop merchant:  {data.shop.name} ({data.shop.merchant_id}), webhooks to {data.shop.webhook_url}",
        *(bank.lines() if bank is not None else []),
        *(beside_the_demo(database_url, bank) if database_url is not None else []),
        f"Demo data:      {len(data.malls)} malls, {len(data.merchants)} merchants, {len(data.customers)} customers",
        "Stop everything with Ctrl-C.",
    ]
    return lines


def _names_a_host(url: str) -> bool:
    """Whether ``url`` names a host rather than an IP address: browsers allow passkeys only there."""
    try:
        ipaddress.ip_address(urlsplit(url).hostname or "")
    except ValueError:
        return True
    return False


def _owner_lines(data: DemoData, kleline: str) -> list[str]:
    """How the demo shop's owner signs in to its dashboard."""
    owner = data.owner
    if owner is None:
        return []
    lines = [
        "",
        f"Shop dashboard: sign in at {kleline}/dashboard/sign-in as {owner.email}, password '{owner.password}'",
        f"  ({owner.name}, owner of {data.shop.name}); its offers at {kleline}/dashboard/offers, audiences beside them",
    ]
    if owner.totp_secret:
        lines += [
            f"  authenticator secret {owner.totp_secret} (shown once); a code:",
            f"  .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{owner.totp_secret}').now())\"",
        ]
    else:
        lines.append("  Its authenticator secret was shown by the first run (delete demo.db to start afresh).")
    return lines


def _staff_lines(data: DemoData, kleline: str) -> list[str]:
    """How Kleline's demo staff sign in to the console, one person per role."""
    if not data.staff:
        return []
    lines = ["", f"Console: sign in at {kleline}/console/sign-in, password '{data.staff[0].password}' for all:"]
    for person in data.staff:
        secret = f"authenticator secret {person.totp_secret} (shown once)" if person.totp_secret else ""
        lines.append(f"  {person.email:<28} {person.role.value:<11} {secret}".rstrip())
    if any(person.totp_secret for person in data.staff):
        lines.append("  A code: .venv/bin/python -c \"import pyotp; print(pyotp.TOTP('SECRET').now())\"")
    else:
        lines.append("  Their authenticator secrets were shown by the first run (delete demo.db to start afresh).")
    return lines


def _banner(
    data: DemoData, addresses: Addresses, shop_running: bool, bank: DemoBank | None, database_url: str
) -> list[str]:
    return banner(data, addresses, shop_running=shop_running, bank=bank, database_url=database_url)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # a loopback address this process chose
            return bool(200 <= response.status < 300)
    except (OSError, urllib.error.URLError):
        return False


def _announce(urls: Sequence[str], lines: Callable[[], list[str]], say: Callable[[list[str]], None]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        waiting = [url for url in waiting if not _answers(url)]
        if waiting:
            time.sleep(0.2)
    if waiting:
        say([f"not answering after {STARTUP_SECONDS:g} s: {', '.join(waiting)}"])
        return
    say(lines())


def run(
    kleline: Kleline,
    data: DemoData,
    addresses: Addresses,
    *,
    host: str,
    port: int,
    shop: subprocess.Popen[bytes] | None,
    say: Callable[[list[str]], None],
    bank: DemoBank | None = None,
    bank_process: BankProcess | None = None,
) -> None:
    """Serve Kleline with its worker until Ctrl-C, print where to click once everything answers, then stop all
    (``bank_process`` last: Kleline's card traffic goes to ``bank``)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    stop = threading.Event()
    worker = Worker(kleline, interval=kleline.settings.worker_interval_seconds)
    worker_thread = threading.Thread(target=worker.run, args=(stop,), name="kleline-worker", daemon=True)
    worker_thread.start()
    urls = [f"{addresses.kleline}/health"] + ([f"{addresses.shop}/health"] if shop is not None else [])
    announcer = threading.Thread(
        target=_announce,
        args=(urls, lambda: _banner(data, addresses, shop is not None, bank, kleline.settings.database_url), say),
        name="demo-announcer",
        daemon=True,
    )
    announcer.start()
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again: with the default action the process
    # would die there, before stopping the worker and the shop. An exception unwinds through ``finally`` instead.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        trusted = kleline.settings.forwarded_allow_ips  # as kleline serve: no X-Forwarded-For unless set
        uvicorn.run(
            create_app(kleline),
            host=host,
            port=port,
            log_level="info",
            proxy_headers=bool(trusted),
            forwarded_allow_ips=trusted or None,
        )
    finally:
        try:
            signal.signal(signal.SIGTERM, previous)
            stop.set()
            worker_thread.join(timeout=15)
            if shop is not None:
                _stop_process(shop)
            kleline.close()
        finally:
            if bank_process is not None:
                bank_process.stop()


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
