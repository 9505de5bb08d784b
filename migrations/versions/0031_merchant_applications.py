"""Merchants' applications: a VAT number, a contact, a ``refused`` status, and the reason of a refusal or suspension.

- ``vat_number``: the intra-community VAT number, compact with its country code (``FR40303265045``: at most 14
  characters in any member state; 20 leaves room);
- ``contact_name``, ``contact_phone``: the person Kleline calls about the shop, their number in E.164 form (at most
  16 characters);
- ``status_reason``: why an operator refused or suspended the merchant, as the merchant reads it (at most 500
  characters); cleared on approval;
- ``ck_merchants_status`` takes ``refused``, and ``ck_merchants_refusal_reason`` makes every refusal say why.

All new columns are empty for the merchants registered before: the API never asked for them.

Downgrading fails while refused merchants exist (the older status check does not know them).

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("vat_number", sa.String(20), nullable=True))
        batch.add_column(sa.Column("contact_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("contact_phone", sa.String(20), nullable=True))
        batch.add_column(sa.Column("status_reason", sa.String(500), nullable=True))
        batch.drop_constraint("ck_merchants_status", type_="check")
        batch.create_check_constraint("ck_merchants_status", "status IN ('pending', 'active', 'suspended', 'refused')")
        batch.create_check_constraint("ck_merchants_refusal_reason", "status <> 'refused' OR status_reason IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_constraint("ck_merchants_refusal_reason", type_="check")
        batch.drop_constraint("ck_merchants_status", type_="check")
        batch.create_check_constraint("ck_merchants_status", "status IN ('pending', 'active', 'suspended')")
        batch.drop_column("status_reason")
        batch.drop_column("contact_phone")
        batch.drop_column("contact_name")
        batch.drop_column("vat_number")
