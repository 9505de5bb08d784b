"""Customers' personal data sealed under a key per customer (crypto-shredding), and the end of a relationship.

- ``customer_keys``: one row per customer, its random data key wrapped under a master key (``key_id``, as the card
  vault's). Deleting the row is the shredding of the customer's personal data (``kleline.customer_rights``).
- ``customers.email`` becomes ``email_index``: the HMAC-SHA256 of the normalised email under the index key
  (``KLELINE_CUSTOMER_INDEX_KEY``), unique as the email was (the same index, renamed with its column), which
  sign-in looks up; ``email_sealed`` and ``name_sealed`` hold the email and name, AES-GCM under the customer's key.
  The clear ``name`` column goes, and with it 0038's prefix indexes of names and emails.
- ``customer_search_tokens``: the keyed hash of each prefix of a customer's email and name (up to 32 characters),
  which the staff's search looks up by equality; deleted at shredding.
- ``cards.holder_sealed``: the name on each card, sealed under its customer's key (``holder_name`` is left empty).
- ``customers.erased_at``: when the customer asked for erasure (the relationship ended: sign-in refused, data
  restricted); ``customers.shredded_at``: when the key was destroyed, once the retention period allowed it.

Existing rows are converted here, under the keys the settings name (``KLELINE_MASTER_KEYS``,
``KLELINE_CUSTOMER_INDEX_KEY``): run it with the configuration the servers use. The downgrade opens them again (``name`` comes back nullable: restoring
NOT NULL would rebuild the table SQLite's foreign keys point at).

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def _keys():  # type: ignore[no-untyped-def]
    from kleline.bootstrap.settings import personal_data_keys
    from kleline.config import load_settings

    return personal_data_keys(load_settings())


def upgrade() -> None:
    from kleline.wallet.personal_data import (
        email_index,
        new_customer_key,
        seal_field,
        search_tokens,
        unwrap_customer_key,
    )

    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "customer_keys",
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(40), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "customer_search_tokens",
        sa.Column("token", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(40), sa.ForeignKey("customers.id"), primary_key=True),
    )
    op.create_index("ix_customer_search_tokens_customer", "customer_search_tokens", ["customer_id"])
    if postgres:
        op.drop_index("ix_customers_email_prefix", "customers")
    op.drop_index("ix_customers_name_prefix", "customers")
    op.add_column("customers", sa.Column("email_sealed", sa.LargeBinary, nullable=True))
    op.add_column("customers", sa.Column("name_sealed", sa.LargeBinary, nullable=True))
    op.add_column("customers", sa.Column("erased_at", sa.BigInteger, nullable=True))
    op.add_column("customers", sa.Column("shredded_at", sa.BigInteger, nullable=True))
    op.execute("ALTER TABLE customers RENAME COLUMN email TO email_index")
    op.create_index("ix_customers_erased", "customers", ["erased_at"])

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, email_index, name, created_at FROM customers")).fetchall()
    if rows:
        keys = _keys()
        for customer_id, email, name, created_at in rows:
            key = new_customer_key(keys)
            bind.execute(
                sa.text(
                    "UPDATE customers SET email_index = :index, email_sealed = :email, name_sealed = :name "
                    "WHERE id = :id"
                ),
                {
                    "index": email_index(email, keys.index_key),
                    "email": seal_field(key.key, customer_id, "email", email),
                    "name": seal_field(key.key, customer_id, "name", name),
                    "id": customer_id,
                },
            )
            bind.execute(
                sa.text(
                    "INSERT INTO customer_keys (customer_id, key_id, wrapped_key, created_at) "
                    "VALUES (:id, :key_id, :wrapped, :at)"
                ),
                {"id": customer_id, "key_id": key.key_id, "wrapped": key.wrapped_key, "at": created_at},
            )
            tokens = search_tokens(email, name, keys.index_key)
            bind.execute(
                sa.text("INSERT INTO customer_search_tokens (token, customer_id) VALUES (:token, :id)"),
                [{"token": token, "id": customer_id} for token in sorted(tokens)],
            )
    op.add_column("cards", sa.Column("holder_sealed", sa.LargeBinary, nullable=True))
    if rows:
        data_keys = {
            customer_id: unwrap_customer_key(key_id, wrapped, keys.master_keys)
            for customer_id, key_id, wrapped in bind.execute(
                sa.text("SELECT customer_id, key_id, wrapped_key FROM customer_keys")
            ).fetchall()
        }
        for card_id, customer_id, holder in bind.execute(
            sa.text("SELECT id, customer_id, holder_name FROM cards")
        ).fetchall():
            bind.execute(
                sa.text("UPDATE cards SET holder_sealed = :sealed, holder_name = '' WHERE id = :id"),
                {
                    "sealed": seal_field(data_keys[customer_id], customer_id, f"card_holder:{card_id}", holder),
                    "id": card_id,
                },
            )
    op.execute("ALTER TABLE customers DROP COLUMN name")


def downgrade() -> None:
    from kleline.wallet.personal_data import open_field, unwrap_customer_key

    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("customers", sa.Column("name", sa.String(200), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.email_sealed, c.name_sealed, k.key_id, k.wrapped_key FROM customers c "
            "LEFT JOIN customer_keys k ON k.customer_id = c.id"
        )
    ).fetchall()
    if rows:
        keys = _keys()
        for customer_id, email_sealed, name_sealed, key_id, wrapped in rows:
            if key_id is None:  # shredded: nothing to give back
                email, name = f"erased+{customer_id}@invalid", ""
            else:
                data_key = unwrap_customer_key(key_id, wrapped, keys.master_keys)
                email = open_field(data_key, customer_id, "email", email_sealed)
                name = open_field(data_key, customer_id, "name", name_sealed)
            bind.execute(
                sa.text("UPDATE customers SET email_index = :email, name = :name WHERE id = :id"),
                {"email": email, "name": name, "id": customer_id},
            )
    if rows:
        opened = {}
        for customer_id, key_id, wrapped in bind.execute(
            sa.text("SELECT customer_id, key_id, wrapped_key FROM customer_keys")
        ).fetchall():
            opened[customer_id] = unwrap_customer_key(key_id, wrapped, keys.master_keys)
        for card_id, customer_id, sealed in bind.execute(
            sa.text("SELECT id, customer_id, holder_sealed FROM cards WHERE holder_sealed IS NOT NULL")
        ).fetchall():
            if customer_id in opened:
                holder = open_field(opened[customer_id], customer_id, f"card_holder:{card_id}", sealed)
                bind.execute(
                    sa.text("UPDATE cards SET holder_name = :holder WHERE id = :id"), {"holder": holder, "id": card_id}
                )
    op.execute("ALTER TABLE cards DROP COLUMN holder_sealed")
    op.drop_index("ix_customers_erased", "customers")
    op.execute("ALTER TABLE customers RENAME COLUMN email_index TO email")
    for column in ("shredded_at", "erased_at", "name_sealed", "email_sealed"):
        op.execute(f"ALTER TABLE customers DROP COLUMN {column}")
    if postgres:
        op.execute('CREATE INDEX ix_customers_email_prefix ON customers ((email COLLATE "C"))')
        op.execute('CREATE INDEX ix_customers_name_prefix ON customers (lower(name COLLATE "C"))')
    else:
        op.execute("CREATE INDEX ix_customers_name_prefix ON customers (lower(name))")
    op.drop_index("ix_customer_search_tokens_customer", "customer_search_tokens")
    op.drop_table("customer_search_tokens")
    op.drop_table("customer_keys")
