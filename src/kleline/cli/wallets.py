"""Customers' wallets from the operator's desk: raise a customer's level, rotate the card vault's master keys."""

from __future__ import annotations

from typing import Annotated

import typer

from kleline.cli.common import console, fail, open_kleline
from kleline.errors import KlelineError
from kleline.staff.actor import command_line

__all__ = ["customers_app", "keys_app"]

customers_app = typer.Typer(help="Customers' wallets.", no_args_is_help=True)
keys_app = typer.Typer(help="The card vault's master keys.", no_args_is_help=True)


@customers_app.command("verify")
def customers_verify(customer: Annotated[str, typer.Argument(help="customer id (cus_...) or email")]) -> None:
    """Raise a customer to the verified level (identity checked), which lifts the purse's limits."""
    kleline = open_kleline()
    try:
        verified = kleline.customers.verify(customer, actor=command_line())
    except KlelineError as error:
        raise fail(error.detail) from None
    finally:
        kleline.close()
    console.print(f"{verified.id} ({verified.email}) is now [bold]{verified.kyc_level}[/]", highlight=False)


@customers_app.command("shred")
def customers_shred(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list who is due, destroy nothing")] = False,
) -> None:
    """Destroy the data keys of erased customers whose retention period (KLELINE_ERASURE_RETENTION_YEARS after the
    relationship ended) has run out: their email and name can never be read again; the books keep their ids."""
    kleline = open_kleline()
    try:
        ids = kleline.erasure.due(limit=10_000) if dry_run else kleline.erasure.shred_due()
    except KlelineError as error:
        raise fail(error.detail) from None
    finally:
        kleline.close()
    for customer_id in ids:
        console.print(customer_id, highlight=False)
    verb = "due for shredding" if dry_run else "shredded"
    console.print(f"{len(ids)} customer(s) {verb}", highlight=False)


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every sealed record (cards, authenticator and webhook secrets) under the active (first) master key;
    resumable, run it after adding a key and before dropping an old one."""
    from kleline.staff.audit import record_alone

    kleline = open_kleline()
    try:
        cards = kleline.cards.rotate_keys()
        secrets = (
            kleline.strong_auth.rotate_keys()
            + kleline.merchant_sign_in.rotate_keys()
            + kleline.staff_sign_in.rotate_keys()
        )
        webhook_secrets = kleline.webhook_endpoints.rotate_keys()
        customer_keys = kleline.customers.rotate_keys()
        active = kleline.cards.active_key_id
        # Many transactions (resumable): recorded once done, with what was re-wrapped under which key id.
        done = {
            "active_key_id": active,
            "cards": cards,
            "secrets": secrets,
            "webhook_secrets": webhook_secrets,
            "customer_keys": customer_keys,
        }
        record_alone(kleline.db, command_line(), "vault_keys_rotated", "vault", None, at=kleline.clock(), after=done)
    except KlelineError as error:
        raise fail(error.detail) from None
    finally:
        kleline.close()
    console.print(
        f"re-wrapped {cards} card record(s) and {secrets} authenticator secret(s) under master key [bold]{active}[/]",
        highlight=False,
    )
    console.print(f"re-wrapped {webhook_secrets} webhook endpoint secret(s) under master key [bold]{active}[/]")
    console.print(f"re-wrapped {customer_keys} customer data key(s) under master key [bold]{active}[/]")


@keys_app.command("generate")
def keys_generate(key_id: Annotated[str, typer.Argument(help="the new key's id, such as k2")]) -> None:
    """Print a new random master key entry, ``<id>:<base64>``, to put first in KLELINE_MASTER_KEYS."""
    from kleline.wallet.vault import generate_master_key

    try:
        typer.echo(generate_master_key(key_id))
    except KlelineError as error:
        raise fail(error.detail) from None
