"""Customers' wallets: customers and their tokens, cards (sealed), strong authentication, purse top-ups.

Card numbers are stored only sealed (AES-256-GCM under a per-card data key wrapped by a master key that lives in
configuration, never here), beside a keyed fingerprint that spots the same card twice; security codes are not
stored at all. TOTP secrets are sealed the same way. Times are epoch microseconds, as in the ledger.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("kyc_level", sa.String(20), nullable=False, server_default="unverified"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        # Strong authentication state, on the customer's row: the row every top-up or payment locks anyway,
        # so that limits and exemption counters stay exact under concurrent requests.
        sa.Column("sca_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sca_last_step", sa.BigInteger, nullable=True),
        sa.Column("exempt_payments", sa.Integer, nullable=False, server_default="0"),
        sa.Column("exempt_amount", sa.BigInteger, nullable=False, server_default="0"),
        sa.CheckConstraint("kyc_level IN ('unverified', 'verified')", name="ck_customers_kyc_level"),
    )
    op.create_table(
        "customer_tokens",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_customer_tokens_customer", "customer_tokens", ["customer_id"])
    op.create_table(
        "cards",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("brand", sa.String(20), nullable=False),
        sa.Column("first6", sa.String(6), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("exp_month", sa.SmallInteger, nullable=False),
        sa.Column("exp_year", sa.SmallInteger, nullable=False),
        sa.Column("holder_name", sa.String(200), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("deleted_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_cards_customer", "cards", ["customer_id"])
    op.create_index("ix_cards_key_id", "cards", ["key_id"])
    op.create_index(
        "uq_cards_customer_fingerprint",
        "cards",
        ["customer_id", "fingerprint"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "sca_enrolments",
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "sca_challenges",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payee", sa.String(120), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("voided", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "top_ups",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("card_id", sa.String(40), sa.ForeignKey("cards.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failure_code", sa.String(40), nullable=True),
        sa.Column("authorization_id", sa.String(40), nullable=True),
        sa.Column("entry_id", sa.String(80), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount > 0", name="ck_top_ups_amount"),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed', 'requires_action')", name="ck_top_ups_status"),
    )
    op.create_index("ix_top_ups_customer_created", "top_ups", ["customer_id", "created_at"])


def downgrade() -> None:
    for table in ("top_ups", "sca_challenges", "sca_enrolments", "cards", "customer_tokens", "customers"):
        op.drop_table(table)
