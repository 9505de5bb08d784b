"""Changes of a merchant's bank account: asked for by an owner on the dashboard, re-checked by an operator.

- ``merchant_bank_changes``: one request to pay a merchant's payouts into another account (``iban``, ``bic``, checked
  as a registration's are), who asked (``requested_by``, an owner) and when; where it stands (``status``:
  ``pending`` until an operator approves or rejects it, or an owner withdraws it), when and by whom it was decided
  (``decided_by``: the operator key or the command line, as text), the rejection's ``reason``, and the account it
  replaced (``previous_iban``, ``previous_bic``: filled on approval, when ``merchants.iban`` takes the new one).
  A merchant has at most one pending change at a time: a partial unique index holds it, whatever the interleaving.
  The merchant's own ``iban`` only changes on approval, and a payout records the account it was sent to, so that
  payouts made before keep the old one.

Times are epoch microseconds, as everywhere else.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merchant_bank_changes",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("merchant_id", sa.String(40), sa.ForeignKey("merchants.id"), nullable=False),
        sa.Column("iban", sa.String(34), nullable=False),
        sa.Column("bic", sa.String(11), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(40), sa.ForeignKey("merchant_users.id"), nullable=False),
        sa.Column("requested_at", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(60), nullable=True),
        sa.Column("decided_at", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("previous_iban", sa.String(34), nullable=True),
        sa.Column("previous_bic", sa.String(11), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name="ck_merchant_bank_changes_status"
        ),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_merchant_bank_changes_decided"),
        sa.CheckConstraint("status <> 'rejected' OR reason IS NOT NULL", name="ck_merchant_bank_changes_reason"),
    )
    # The settings page and the operator's list read one merchant's, newest first, and page on (requested_at, id).
    op.create_index("ix_merchant_bank_changes_merchant", "merchant_bank_changes", ["merchant_id", "requested_at", "id"])
    # One pending change per merchant; also the operator's queue of every pending change.
    op.create_index(
        "uq_merchant_bank_changes_pending",
        "merchant_bank_changes",
        ["merchant_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("merchant_bank_changes")
