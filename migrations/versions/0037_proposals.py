"""Four eyes: an act of Kleline's staff proposed by one person, taking effect only when a second one approves.

- ``proposals``: one act waiting for (or past) its second pair of eyes: its ``kind`` (a write-off, a suspense
  resolution, a merchant's commission rate or bank account), its subject (``subject_type`` / ``subject_id``: the
  customer, suspense item or merchant it acts on), its ``parameters`` (canonical JSON text: what exactly is to be done,
  as the proposer saw it), who proposed it (``proposed_by_kind`` / ``_id`` / ``_role``: a staff user, an ``op_`` key or
  the command line, as the staff audit trail names actors) and when; where it stands (``status``: ``pending`` until a
  second person approves or rejects it, the proposer withdraws it, or the act, tried on approval, can no longer apply:
  ``failed``), who decided and when, the ``reason`` (a rejection's, or why the act failed, with ``failure_code``),
  and the act's ``result`` (JSON: the entry posted, the rate or account replaced).
  One pending proposal per kind and subject: a partial unique index holds it, whatever the interleaving.

Times are epoch microseconds, as everywhere else.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

_KINDS = "'write_off', 'suspense_resolution', 'commission_rate', 'bank_account'"
_STATUSES = "'pending', 'approved', 'rejected', 'withdrawn', 'failed'"
_ACTORS = "'staff', 'key', 'cli'"
_ROLES = "'admin', 'compliance', 'finance', 'support'"


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("subject_type", sa.String(24), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("proposed_by_kind", sa.String(8), nullable=False),
        sa.Column("proposed_by_id", sa.String(80), nullable=False),
        sa.Column("proposed_by_role", sa.String(16), nullable=True),
        sa.Column("proposed_at", sa.BigInteger, nullable=False),
        sa.Column("decided_by_kind", sa.String(8), nullable=True),
        sa.Column("decided_by_id", sa.String(80), nullable=True),
        sa.Column("decided_by_role", sa.String(16), nullable=True),
        sa.Column("decided_at", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("failure_code", sa.String(48), nullable=True),
        sa.Column("result", sa.Text, nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name="ck_proposals_kind"),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name="ck_proposals_status"),
        sa.CheckConstraint(f"proposed_by_kind IN ({_ACTORS})", name="ck_proposals_proposed_by_kind"),
        sa.CheckConstraint(f"proposed_by_role IS NULL OR proposed_by_role IN ({_ROLES})", name="ck_proposals_role"),
        sa.CheckConstraint(
            f"decided_by_kind IS NULL OR decided_by_kind IN ({_ACTORS})", name="ck_proposals_decided_by_kind"
        ),
        sa.CheckConstraint(
            f"decided_by_role IS NULL OR decided_by_role IN ({_ROLES})", name="ck_proposals_decided_by_role"
        ),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="ck_proposals_decided"),
        sa.CheckConstraint("(status = 'pending') = (decided_by_kind IS NULL)", name="ck_proposals_decider"),
        sa.CheckConstraint("status NOT IN ('rejected', 'failed') OR reason IS NOT NULL", name="ck_proposals_reason"),
        # The rule itself, in the database too: whoever approves is not whoever proposed.
        sa.CheckConstraint(
            "status <> 'approved' OR decided_by_kind <> proposed_by_kind OR decided_by_id <> proposed_by_id",
            name="ck_proposals_four_eyes",
        ),
    )
    # The list pages newest first on (proposed_at, id), by status or by subject.
    op.create_index("ix_proposals_status", "proposals", ["status", "proposed_at", "id"])
    op.create_index("ix_proposals_subject", "proposals", ["subject_id", "proposed_at", "id"])
    op.create_index("ix_proposals_proposed_at", "proposals", ["proposed_at", "id"])
    # One pending proposal per kind and subject.
    op.create_index(
        "uq_proposals_pending",
        "proposals",
        ["kind", "subject_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("proposals")
