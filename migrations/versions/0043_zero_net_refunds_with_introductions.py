"""The introduction fee (issue 15) in the zero-net refunds' index.

A refund can now be paid in full by Kleline's commission and introduction fee together (a cent or two refunded
where rounding returns as much of both fees): such a refund never touches the merchant's balance, and the statements
and the overview read it from the refunds table, through ``ix_refunds_zero_net``. Its predicate becomes
``fee_returned + intro_fee_returned = amount`` (``kleline.reports.store.ZERO_NET``), which holds every refund the
old one held (their ``intro_fee_returned`` is 0) and those.

Revision ID: 0043
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0041"
branch_labels = None
depends_on = None

_OLD = "fee_returned = amount"
_NEW = "fee_returned + intro_fee_returned = amount"


def _index(predicate: str) -> None:
    op.create_index(
        "ix_refunds_zero_net",
        "refunds",
        ["merchant_id"],
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    op.drop_index("ix_refunds_zero_net", "refunds")
    _index(_NEW)


def downgrade() -> None:
    op.drop_index("ix_refunds_zero_net", "refunds")
    _index(_OLD)
