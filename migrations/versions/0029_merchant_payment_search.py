"""The indexes of a merchant's payment search (``kleline.payments.search_store``), for merchants with 100,000 payments.

- ``ix_payments_merchant_created`` (merchant_id, created_at DESC, id DESC) replaces ``ix_payments_merchant``
  (merchant_id, created_at): a page newest first is a walk of it from the cursor's (created_at, id), in the page's
  order to the page's end, two payments of the same microsecond included (the old index left them to a sort). It
  still serves every query that names the merchant alone (the pending balance).
- ``ix_payments_merchant_reference`` (merchant_id, lower(reference)): the search box finds a reference by its
  beginning, in either case. PostgreSQL indexes ``lower(reference COLLATE "C")``: lower-cased in A-Z only and
  ordered byte by byte, as SQLite's ``lower`` and binary collation do, so that a prefix is one range of the index
  whatever the database's collation, and both backends find the same payments.
- ``ix_payments_merchant_amount`` (merchant_id, amount): the search box and the ``amount`` filter find an amount.

Revision ID: 0029
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0029"
down_revision = "0027"
branch_labels = None
depends_on = None


def _reference() -> str:
    return 'lower(reference COLLATE "C")' if op.get_context().dialect.name == "postgresql" else "lower(reference)"


def upgrade() -> None:
    op.execute("DROP INDEX ix_payments_merchant")
    op.execute("CREATE INDEX ix_payments_merchant_created ON payments (merchant_id, created_at DESC, id DESC)")
    op.execute(f"CREATE INDEX ix_payments_merchant_reference ON payments (merchant_id, {_reference()})")
    op.execute("CREATE INDEX ix_payments_merchant_amount ON payments (merchant_id, amount)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_payments_merchant_amount")
    op.execute("DROP INDEX ix_payments_merchant_reference")
    op.execute("DROP INDEX ix_payments_merchant_created")
    op.execute("CREATE INDEX ix_payments_merchant ON payments (merchant_id, created_at)")
