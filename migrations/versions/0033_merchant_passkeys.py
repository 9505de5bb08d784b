"""Merchant users' passkeys and the rest of their own security: a second factor may be a passkey as well as an
authenticator app, an authenticator may be replaced, and each user reads its own last sign-ins.

- ``merchant_passkeys``: one row per WebAuthn credential a merchant user registered, as the customers' ``passkeys``
  (0026) holds theirs: the credential id (unique), its COSE public key, the signature counter last seen, the name the
  user chose, when it was created and last used. A table of its own, as the dashboard's sessions have theirs: a
  customer's passkey and a merchant user's are never mistaken for each other.
- ``merchant_passkey_ceremonies``: the challenge of each registration (``register``), sign-in second step
  (``sign_in``) or re-authentication before a sensitive act (``confirm``), for one user, single use, valid five
  minutes.
- ``merchant_users.totp_next_*``: a new authenticator being set up in place of a confirmed one, sealed as the
  confirmed one is, until a code from it is accepted (``totp_next_at``: when it was made; it is given ten minutes).
  The confirmed authenticator goes on working meanwhile: a replacement left half-way locks nobody out and weakens
  nothing.
- ``ix_merchant_audit_user_action``: the security page lists a user's own last sign-ins from the audit trail (its
  ``signed_in`` records: when, from where, how); this index finds them without reading the rest of a busy shop's
  trail.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_passkeys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=False),
        sa.Column("credential_id", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("transports", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("sign_count >= 0", name="ck_merchant_passkeys_sign_count"),
    )
    op.create_index("ix_merchant_passkeys_user", "merchant_passkeys", ["user_id", "created_at"])
    op.create_table(
        "merchant_passkey_ceremonies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "purpose IN ('register', 'sign_in', 'confirm')", name="ck_merchant_passkey_ceremonies_purpose"
        ),
    )
    op.create_index("ix_merchant_passkey_ceremonies_expires_at", "merchant_passkey_ceremonies", ["expires_at"])
    with op.batch_alter_table("merchant_users") as batch:
        batch.add_column(sa.Column("totp_next_key_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("totp_next_wrapped_key", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("totp_next_nonce", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("totp_next_ciphertext", sa.LargeBinary, nullable=True))
        batch.add_column(sa.Column("totp_next_at", sa.BigInteger, nullable=True))
    op.create_index("ix_merchant_audit_user_action", "merchant_audit", ["user_id", "action", "at"])


def downgrade() -> None:
    op.drop_index("ix_merchant_audit_user_action", table_name="merchant_audit")
    with op.batch_alter_table("merchant_users") as batch:
        for column in (
            "totp_next_at",
            "totp_next_ciphertext",
            "totp_next_nonce",
            "totp_next_wrapped_key",
            "totp_next_key_id",
        ):
            batch.drop_column(column)
    op.drop_table("merchant_passkey_ceremonies")
    op.drop_table("merchant_passkeys")
