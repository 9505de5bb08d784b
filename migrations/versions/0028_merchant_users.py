"""Merchant users: the people who sign in to a merchant's dashboard, their invitations, their sessions, and the
merchant's audit trail.

- ``merchant_users``: a person of one merchant, with a role (``owner``, ``accountant``, ``support``), an argon2 password
  hash, the lockout counters customers have (``failed_sign_ins``, ``locked_until``), and a second factor: a TOTP secret
  sealed under the vault's master keys as the customers' is (``totp_key_id``, ``totp_wrapped_key``, ``totp_nonce``,
  ``totp_ciphertext``; confirmed once a first code is accepted), beside its guard (consecutive wrong codes, the last
  accepted time step, so that a code is never accepted twice). ``refund_limit`` is what a ``support`` user may refund
  per payment, in EUR minor units (NULL for the other roles). A removed user keeps its row (``removed_at``), so that
  the audit trail still names who did what; the email is unique among the users not removed.
- ``merchant_invitations``: a single-use link to join a merchant with a role: only the SHA-256 digest of its random
  token is kept, with its expiry, who invited (NULL: an operator, from the command line), and whether it was
  accepted or withdrawn.
- ``merchant_audit``: every action of a person on a merchant's dashboard: who (NULL: an operator), when, what
  (``action``, the object it touched, details as JSON text), and from which address.
- ``merchant_sessions``: the dashboard's sessions. A table of their own rather than columns on ``web_sessions``, so
  that a customer's session and a merchant user's can never be mistaken for each other: each kind has its own cookie
  and its own table, a customer's token is never even looked up among the dashboard's sessions (nor the reverse), and
  a dashboard session's states (signed out; password checked, second factor awaited; signed in) and its last second
  factor (``second_factor_at``, for re-authentication before sensitive acts) stay out of the shopper's sessions.
  Tokens are stored as SHA-256 digests, as web sessions are.

Times are epoch microseconds, as everywhere else.

Revision ID: 0028
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0029"
branch_labels = None
depends_on = None

ROLES = "role IN ('owner', 'accountant', 'support')"


def upgrade() -> None:
    op.create_table(
        "merchant_users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("refund_limit", sa.BigInteger, nullable=True),
        sa.Column("failed_sign_ins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.BigInteger, nullable=True),
        sa.Column("totp_key_id", sa.String(40), nullable=True),
        sa.Column("totp_wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("totp_nonce", sa.LargeBinary, nullable=True),
        sa.Column("totp_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("totp_enrolled_at", sa.BigInteger, nullable=True),
        sa.Column("totp_confirmed_at", sa.BigInteger, nullable=True),
        sa.Column("totp_failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("totp_last_step", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("removed_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint(ROLES, name="ck_merchant_users_role"),
        sa.CheckConstraint("refund_limit IS NULL OR refund_limit >= 0", name="ck_merchant_users_refund_limit"),
    )
    op.create_index("ix_merchant_users_merchant", "merchant_users", ["merchant_id", "created_at"])
    op.create_index(
        "uq_merchant_users_email",
        "merchant_users",
        ["email"],
        unique=True,
        sqlite_where=sa.text("removed_at IS NULL"),
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index("ix_merchant_users_totp_key", "merchant_users", ["totp_key_id"])
    op.create_table(
        "merchant_invitations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("refund_limit", sa.BigInteger, nullable=True),
        sa.Column("invited_by", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("accepted_at", sa.BigInteger, nullable=True),
        sa.Column("withdrawn_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint(ROLES, name="ck_merchant_invitations_role"),
        sa.CheckConstraint("refund_limit IS NULL OR refund_limit >= 0", name="ck_merchant_invitations_refund_limit"),
    )
    op.create_index("ix_merchant_invitations_merchant", "merchant_invitations", ["merchant_id", "created_at"])
    op.create_table(
        "merchant_audit",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_id", sa.String(60), nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.Column("address", sa.String(64), nullable=True),
    )
    # The activity page reads one merchant's newest first, and pages on after (at, id).
    op.create_index("ix_merchant_audit_merchant_at", "merchant_audit", ["merchant_id", "at", "id"])
    op.create_table(
        "merchant_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("second_factor_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("stage IN ('anonymous', 'second_factor', 'signed_in')", name="ck_merchant_sessions_stage"),
        sa.CheckConstraint("stage = 'anonymous' OR user_id IS NOT NULL", name="ck_merchant_sessions_user"),
    )
    op.create_index("ix_merchant_sessions_expires_at", "merchant_sessions", ["expires_at"])
    op.create_index("ix_merchant_sessions_user", "merchant_sessions", ["user_id"])


def downgrade() -> None:
    for table in ("merchant_sessions", "merchant_audit", "merchant_invitations", "merchant_users"):
        op.drop_table(table)
