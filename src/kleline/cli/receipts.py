"""Signed receipts on the command line: verify one offline, publish the public keys, make a new signing key."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from kleline.cli.common import fail
from kleline.config import load_settings
from kleline.errors import KlelineError

if TYPE_CHECKING:
    from kleline.receipts import PublicKeys

__all__ = ["receipt_app"]

receipt_app = typer.Typer(help="Signed receipts: verify them offline, publish the keys.", no_args_is_help=True)

_KEYS_SIZE_LIMIT = 1 << 20


def _public_keys(source: str | None) -> PublicKeys:
    """The keys to verify against: a file or http(s) URL holding the JSON of GET /v1/keys, or the configuration's."""
    from kleline.bootstrap import receipt_signing_keys
    from kleline.receipts import PublicKeys, loads_strict

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
        raise fail(escape(f"keys from {source or 'the configuration'}: {error.detail}"), 2) from None
    except (OSError, ValueError) as error:  # unreadable file, unreachable URL
        raise fail(escape(f"cannot read the keys from {source}: {error}"), 2) from None


@receipt_app.command("verify")
def receipt_verify(
    file: Annotated[Path, typer.Argument(help="a signed receipt (the JSON of GET /v1/receipts/{id})")],
    keys: Annotated[
        str | None,
        typer.Option(help="file or http(s) URL of the JSON of GET /v1/keys; default: this configuration's keys"),
    ] = None,
) -> None:
    """Check a receipt's Ed25519 signature offline: exit 0 and a summary if valid, 1 if not, 2 if unreadable."""
    from kleline.receipts import ReceiptError, UnknownSigningKey, loads_strict
    from kleline.receipts import verify as verify_receipt

    public_keys = _public_keys(keys)
    try:
        document = loads_strict(file.read_bytes())
    except OSError as error:
        raise fail(escape(f"cannot read {file}: {error.strerror or error}"), 2) from None
    except ReceiptError as error:
        raise fail(escape(f"{file}: not a receipt: {error.detail}")) from None
    try:
        receipt = verify_receipt(document, public_keys)
    except UnknownSigningKey as error:
        hint = "" if keys else " (pass --keys with the JSON of GET /v1/keys of the Kleline that issued it)"
        raise fail(escape(f"{file}: INVALID receipt: {error.detail}{hint}")) from None
    except ReceiptError as error:
        raise fail(escape(f"{file}: INVALID receipt: {error.detail}")) from None
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
    from kleline.receipts import generate_signing_key

    try:
        typer.echo(generate_signing_key(key_id))
    except KlelineError as error:
        raise fail(error.detail) from None
