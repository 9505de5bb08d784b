"""Kleline's staff users: the people who sign in to the operator console, their invitations and their sessions.

- ``staff_users``: a person of Kleline's staff, with a role (``admin``, ``compliance``, ``finance``, ``support``:
  ``kleline.staff.roles``), an argon2 password hash, the lockout counters every kind of person who signs in has
  (``failed_sign_ins``, ``locked_until``), and a second factor, mandatory for staff: a TOTP secret sealed under the
  vault's master keys (``totp_*``, confirmed once a first code is accepted, beside its guard), and a new one waiting
  beside it while the person replaces its app (``totp_next_*``), the same columns as ``merchant_users`` so that one
  set of statements serves both (``kleline.identity``). A disabled person keeps its row (``disabled_at``), so that
  the audit trail still names who did what; the email is unique among the people not disabled. ``invitation_id``:
  the invitation the person accepted.
- ``staff_invitations``: a single-use link to join the staff with a role: only the SHA-256 digest of its random
  token is kept, with its expiry, who invited (``invited_by``: the actor's label, ``staff st_...`` or ``cli name``),
  and whether it was accepted (by ``user_id``) or withdrawn.
- ``staff_sessions``: the console's sessions, a table of their own as the dashboard's are: a console session is
  never mistaken for a dashboard session nor a shopper's; each kind has its own cookie and its own table. Tokens are
  stored as SHA-256 digests.

The acts themselves (invitations, roles, sign-ins...) go to the staff audit trail (0035), not to a table here.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

ROLES = "role IN ('admin', 'compliance', 'finance', 'support')"


def upgrade() -> None:
    op.create_table(
        "staff_users",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("invitation_id", sa.String(40), nullable=True),
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
        sa.Column("totp_next_key_id", sa.String(40), nullable=True),
        sa.Column("totp_next_wrapped_key", sa.LargeBinary, nullable=True),
        sa.Column("totp_next_nonce", sa.LargeBinary, nullable=True),
        sa.Column("totp_next_ciphertext", sa.LargeBinary, nullable=True),
        sa.Column("totp_next_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("disabled_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint(ROLES, name="ck_staff_users_role"),
    )
    op.create_index(
        "uq_staff_users_email",
        "staff_users",
        ["email"],
        unique=True,
        sqlite_where=sa.text("disabled_at IS NULL"),
        postgresql_where=sa.text("disabled_at IS NULL"),
    )
    op.create_index("ix_staff_users_role", "staff_users", ["role", "disabled_at"])
    op.create_index("ix_staff_users_totp_key", "staff_users", ["totp_key_id"])
    op.create_table(
        "staff_invitations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("accepted_at", sa.BigInteger, nullable=True),
        sa.Column("withdrawn_at", sa.BigInteger, nullable=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.CheckConstraint(ROLES, name="ck_staff_invitations_role"),
    )
    op.create_index("ix_staff_invitations_email", "staff_invitations", ["email", "created_at"])
    op.create_index("ix_staff_invitations_expires_at", "staff_invitations", ["expires_at"])
    op.create_table(
        "staff_sessions",
        sa.Column("id_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("user_id", sa.String(40), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("csrf_secret", sa.String(64), nullable=False),
        sa.Column("second_factor_at", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("stage IN ('anonymous', 'second_factor', 'signed_in')", name="ck_staff_sessions_stage"),
        sa.CheckConstraint("stage = 'anonymous' OR user_id IS NOT NULL", name="ck_staff_sessions_user"),
    )
    op.create_index("ix_staff_sessions_expires_at", "staff_sessions", ["expires_at"])
    op.create_index("ix_staff_sessions_user", "staff_sessions", ["user_id"])


def downgrade() -> None:
    for table in ("staff_sessions", "staff_invitations", "staff_users"):
        op.drop_table(table)
