"""Staff users' passkeys: a staff user's mandatory second factor may be a passkey as well as an authenticator app.

- ``staff_passkeys``: one row per WebAuthn credential a staff user registered, as ``merchant_passkeys`` (0033) holds
  the merchant users': the credential id (unique), its COSE public key, the signature counter last seen, the name the
  person chose, when it was created and last used. A table of its own, as the console's sessions have theirs: a
  staff user's passkey is never mistaken for a merchant user's or a customer's.
- ``staff_passkey_ceremonies``: the challenge of each registration (``register``), sign-in second step (``sign_in``)
  or confirmation (``confirm``), for one staff user, single use, valid five minutes.

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_passkeys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("credential_id", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("transports", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("sign_count >= 0", name="ck_staff_passkeys_sign_count"),
    )
    op.create_index("ix_staff_passkeys_user", "staff_passkeys", ["user_id", "created_at"])
    op.create_table(
        "staff_passkey_ceremonies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("staff_users.id"), nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("purpose IN ('register', 'sign_in', 'confirm')", name="ck_staff_passkey_ceremonies_purpose"),
    )
    op.create_index("ix_staff_passkey_ceremonies_expires_at", "staff_passkey_ceremonies", ["expires_at"])


def downgrade() -> None:
    op.drop_table("staff_passkey_ceremonies")
    op.drop_table("staff_passkeys")
