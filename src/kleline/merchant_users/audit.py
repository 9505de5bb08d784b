"""The merchant's audit trail: every action of a person on the dashboard (who, when, what, from where).

A record is written in the transaction of the action it describes (``record``), so that an action is never kept
without its record, nor a record without its action. Who is the user (None: an operator, at the command line); where
from is the client's address as the server saw it. The trail is append-only: nothing here updates or deletes it.

Refused sign-ins are not recorded: an unknown address belongs to no merchant, and recording only the known ones
would cost them a write the others do not make (the sign-in's answer must take the same time for both); the
lockout counts them instead.

The actions recorded so far (``ACTIONS``); pages that come later add theirs, recorded the same way::

    merchant_joined (the shop's application, by its first owner, from the join form),
    signed_in, signed_out, second_factor_confirmed, authenticator_set_up,
    authenticator_replaced, authenticator_removed, passkey_added, passkey_removed, password_changed,
    signed_out_everywhere,
    invitation_created, invitation_withdrawn, invitation_accepted, user_role_changed, user_removed,
    api_key_created, api_key_revoked, webhook_endpoint_added, webhook_endpoint_disabled, webhook_endpoint_enabled,
    webhook_secret_rotated, webhook_test_sent, webhook_delivery_resent
    statement_downloaded
    payment_captured, payment_canceled, refund_created, payments_exported
    bank_account_change_requested, bank_account_change_withdrawn, bank_account_changed (an operator approved it),
    bank_account_change_rejected (an operator rejected it), profile_changed
    audience_estimated, offer_sent
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from kleline.db.engine import RawTx
from kleline.ids import new_id
from kleline.merchant_users import store
from kleline.merchant_users.model import MerchantUser

__all__ = ["ACTIONS", "Actor", "record"]

ACTIONS: Final = (
    "merchant_joined",
    "signed_in",
    "signed_out",
    "second_factor_confirmed",
    "authenticator_set_up",
    "authenticator_replaced",
    "authenticator_removed",
    "passkey_added",
    "passkey_removed",
    "password_changed",
    "signed_out_everywhere",
    "invitation_created",
    "invitation_withdrawn",
    "invitation_accepted",
    "user_role_changed",
    "user_removed",
    "api_key_created",
    "api_key_revoked",
    "webhook_endpoint_added",
    "webhook_endpoint_disabled",
    "webhook_endpoint_enabled",
    "webhook_secret_rotated",
    "webhook_test_sent",
    "webhook_delivery_resent",
    "statement_downloaded",
    "payment_captured",
    "payment_canceled",
    "refund_created",
    "payments_exported",
    "bank_account_change_requested",
    "bank_account_change_withdrawn",
    "bank_account_changed",
    "bank_account_change_rejected",
    "profile_changed",
    "audience_estimated",
    "offer_sent",
)

_ADDRESS_LENGTH: Final = 64


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on the dashboard: a signed-in user, from the address its request came from."""

    user: MerchantUser
    address: str | None = None


def record(
    tx: RawTx,
    merchant_id: str,
    user_id: str | None,
    action: str,
    at: int,
    *,
    object_id: str | None = None,
    detail: Mapping[str, object] | None = None,
    address: str | None = None,
) -> None:
    """Append one record to ``merchant_id``'s trail, in the caller's transaction."""
    store.insert_audit(
        tx,
        new_id("aud"),
        merchant_id,
        user_id,
        at,
        action,
        object_id,
        dict(detail or {}),
        address[:_ADDRESS_LENGTH] if address else None,
    )
