"""Passkeys (WebAuthn credentials), their ceremonies, the customers' recent sign-ins, and confirmed TOTP enrolments.

- ``passkeys``: one row per credential a customer registered: the credential id the authenticator names it by
  (unique: one credential belongs to one wallet), its COSE public key, the signature counter last seen (a response
  whose counter does not move forward is refused: a cloned authenticator), a name the customer chose, and when it
  was created and last used. No attestation is kept: Kleline asks for none.
- ``passkey_ceremonies``: the challenge of each registration, sign-in or payment ceremony, single use, valid five
  minutes. A payment ceremony names the strong-authentication challenge (``sca_challenges``) it answers; the bytes
  the authenticator signs are derived from ``nonce`` and that challenge's amount and payee (dynamic linking).
- ``sign_ins``: the customer's last sign-ins, as their security page lists them: when, how (password or passkey,
  page or API), the browser and system family read from the user agent, and the client's network truncated to a /24
  (IPv4) or /48 (IPv6). Never the full address nor the full user agent: enough to recognise "that was not me",
  not enough to track a person. Only the latest twenty per customer are kept.
- ``sca_enrolments.confirmed_at``: when the customer first proved their authenticator app works (a code accepted);
  until then an enrolment may be started again (an app that was never set up must not lock the wallet out).

Revision ID: 0026
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "passkeys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("credential_id", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("sign_count", sa.BigInteger, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("transports", sa.String(120), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_used_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("sign_count >= 0", name="ck_passkeys_sign_count"),
    )
    op.create_index("ix_passkeys_customer", "passkeys", ["customer_id"])
    op.create_table(
        "passkey_ceremonies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("challenge_id", sa.String(40), sa.ForeignKey("sca_challenges.id"), nullable=True),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("purpose IN ('register', 'sign_in', 'payment')", name="ck_passkey_ceremonies_purpose"),
    )
    op.create_index("ix_passkey_ceremonies_expires_at", "passkey_ceremonies", ["expires_at"])
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("browser", sa.String(40), nullable=False),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
    )
    op.create_index("ix_sign_ins_customer_at", "sign_ins", ["customer_id", "at"])
    with op.batch_alter_table("sca_enrolments") as batch:
        batch.add_column(sa.Column("confirmed_at", sa.BigInteger, nullable=True))
    # Enrolments made before this revision were used as they were: they count as confirmed.
    op.execute("UPDATE sca_enrolments SET confirmed_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("sca_enrolments") as batch:
        batch.drop_column("confirmed_at")
    op.drop_table("sign_ins")
    op.drop_table("passkey_ceremonies")
    op.drop_table("passkeys")
