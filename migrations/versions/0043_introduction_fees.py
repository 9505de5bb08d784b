"""The introduction fee (issue 15): the zero-net refunds' index, and its rate changed by four eyes.

- ``ix_refunds_zero_net``: a refund can now be paid in full by Kleline's commission and introduction fee together
  (a cent or two refunded where rounding returns as much of both fees): such a refund never touches the merchant's
  balance, and the statements and the overview read it from the refunds table, through this index. Its predicate
  becomes ``amount = fee_returned + intro_fee_returned`` (``kleline.reports.store.ZERO_NET``), which holds every
  refund the old one held (their ``intro_fee_returned`` is 0) and those.
- ``proposals.kind`` gains ``intro_fee_rate``: a merchant's introduction fee rate changes as its commission rate
  does, proposed by one operator and approved by another.

Revision ID: 0043
Revises: 0042
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

_OLD = "fee_returned = amount"
_NEW = "amount = fee_returned + intro_fee_returned"
_KINDS = "'write_off', 'suspense_resolution', 'commission_rate', 'bank_account'"
_WITH_INTRO = _KINDS + ", 'intro_fee_rate'"


def _index(predicate: str) -> None:
    op.create_index(
        "ix_refunds_zero_net",
        "refunds",
        ["merchant_id"],
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_constraint("ck_proposals_kind", type_="check")
        batch.create_check_constraint("ck_proposals_kind", f"kind IN ({kinds})")


def upgrade() -> None:
    op.drop_index("ix_refunds_zero_net", "refunds")
    _index(_NEW)
    _kinds(_WITH_INTRO)


def downgrade() -> None:
    op.execute("DELETE FROM proposals WHERE kind = 'intro_fee_rate'")
    _kinds(_KINDS)
    op.drop_index("ix_refunds_zero_net", "refunds")
    _index(_OLD)
