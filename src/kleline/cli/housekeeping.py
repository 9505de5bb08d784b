"""Housekeeping by hand, when no worker runs: sweep old Idempotency-Key records, expire authorisations."""

from __future__ import annotations

import typer

from kleline.cli.common import console, kleline_for_command

__all__ = ["idempotency_app", "payments_app"]

idempotency_app = typer.Typer(help="Idempotency-Key records of POST requests.", no_args_is_help=True)
payments_app = typer.Typer(help="Payments' housekeeping (the worker does it too).", no_args_is_help=True)


@idempotency_app.command("sweep")
def idempotency_sweep() -> None:
    """Delete the Idempotency-Key records older than KLELINE_IDEMPOTENCY_RETENTION_HOURS (the worker does it too)."""
    with kleline_for_command() as kleline:
        removed = kleline.idempotency.sweep()
        hours = kleline.settings.idempotency_retention_hours
    console.print(f"removed {removed} idempotency record(s) older than {hours} h", highlight=False)


@payments_app.command("expire")
def payments_expire() -> None:
    """Release the authorisations older than KLELINE_AUTHORIZATION_TTL_HOURS, and list them."""
    with kleline_for_command() as kleline:
        expired = kleline.payments.expire_authorizations(limit=10_000)
    for payment_id in expired:
        console.print(f"expired {payment_id}", highlight=False)
    console.print(f"{len(expired)} authorisation(s) released", highlight=False)
