"""The events of one object: a payment's page shows the timeline of the payment and its refunds
(``kleline.events.store.object_events``), which without an index read every event of the merchant.

- ``ix_events_merchant_object`` (merchant_id, object_id, seq): the page's query names the merchant and a handful of
  object ids and wants them oldest first; each id is one range of the index, already in ``seq`` order.

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_merchant_object", "events", ["merchant_id", "object_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_merchant_object", table_name="events")
