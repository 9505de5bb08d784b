"""``kleline bank``: the simulated banking network (``serve``) that Kleline's card traffic, SEPA files and
statements go to in development and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kleline.cli.common import console, fail
from kleline.config import load_settings
from kleline.errors import KlelineError

__all__ = ["bank_app", "serve_bank"]

bank_app = typer.Typer(help="The simulated banking network (development and tests).", no_args_is_help=True)


def _positive_seconds(value: float | None) -> float | None:
    if value is not None and not value > 0:  # also refuses NaN
        raise typer.BadParameter(f"{value} is not a positive number of seconds")
    return value


@bank_app.command("serve")
def serve_bank(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="ISO 8583 (card traffic) port; 0 picks a free one")
    ] = 8583,
    files_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="HTTP port for files, statements and set-up (default: port + 1)"),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            file_okay=False,
            help="directory keeping the journal, replayed at start (default: in memory); the key sealing the card"
            " numbers it journals is DIR.key, beside the directory: a restart needs both, a copy of the directory"
            " alone reveals no card number",
        ),
    ] = None,
    latency_ms: Annotated[int, typer.Option(min=0, help="delay every card answer by this much (after booking)")] = 0,
    acquirer_iban: Annotated[
        str | None,
        typer.Option(help="account credited with card settlements (default: KLELINE_SAFEGUARDING_IBAN)"),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(
            callback=_positive_seconds,
            show_default=False,
            help="seconds an ISO 8583 connection may stay quiet between messages before the bank closes it"
            " (default: 60)",
        ),
    ] = None,
    frame_timeout: Annotated[
        float | None,
        typer.Option(
            callback=_positive_seconds,
            show_default=False,
            help="seconds a peer has to finish an ISO 8583 message it began sending before the bank closes it"
            " (default: 10)",
        ),
    ] = None,
) -> None:
    """Run the simulated card issuers (ISO 8583 over TCP) and banks (SEPA files in, camt.053 statements out) until
    Ctrl-C or SIGTERM; prints where it listens."""
    from kleline.banksim.serve import BankServer, run_until_signalled
    from kleline.banksim.simulator import BankSimulator

    settings = load_settings()
    try:
        simulator = BankSimulator(
            acquirer_iban=acquirer_iban or settings.safeguarding_iban,
            acquirer_name=settings.safeguarding_name,
            state_dir=state,
            latency_seconds=latency_ms / 1000,
        )
    except KlelineError as error:
        raise fail(escape(error.detail)) from None
    except OSError as error:
        raise fail(escape(f"cannot use the state directory {state}: {error}")) from None
    try:
        try:
            # An unset timeout (None) is the ISO 8583 server's own default, so that the number lives in one place.
            server = BankServer(
                simulator,
                host=host,
                port=port,
                files_port=files_port,
                idle_timeout=idle_timeout,
                frame_timeout=frame_timeout,
            )
        except OSError as error:
            raise fail(escape(f"cannot listen on {host}: {error}")) from None
        addresses = server.addresses
        for line in (
            f"iso8583 listening on {addresses.bank_url}",
            f"http listening on {addresses.files_url}",
            f"acquirer account {simulator.acquirer_iban}; state {state or '(in memory)'}",
        ):
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        console.file.flush()
        run_until_signalled(server)
    finally:
        simulator.close()
