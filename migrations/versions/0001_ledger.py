"""The double-entry ledger: accounts, balance slots, hash chains, entries, postings, holds.

The database enforces the ledger's invariants itself, so that no code path can bypass them:
- a posting is never zero, and its currency is its account's (composite foreign key);
- an entry has at least two postings that sum to zero per currency (PostgreSQL: a deferred constraint trigger
  checked at commit; SQLite, which has no deferred triggers: postings are written first and the entry row, which
  closes them, is checked on insert; postings added to a closed entry are refused on both);
- entries and postings are append-only (updates and deletes are refused by triggers);
- a floored account never goes below its floor: any update of a balance slot that lowers the available balance
  is checked against the sum over all slots, and only slot 0 may be lowered, so that concurrent decreases queue
  on one row while increases spread over the others (a hot account does not serialise its creditors).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER ledger_entries_balanced BEFORE INSERT ON ledger_entries
       WHEN (SELECT COUNT(*) FROM ledger_postings WHERE entry_id = NEW.id) < 2
         OR EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id GROUP BY currency HAVING SUM(amount) <> 0)
       BEGIN SELECT RAISE(ABORT, 'kleline: unbalanced entry'); END""",
    """CREATE TRIGGER ledger_postings_closed BEFORE INSERT ON ledger_postings
       WHEN EXISTS (SELECT 1 FROM ledger_entries WHERE id = NEW.entry_id)
       BEGIN SELECT RAISE(ABORT, 'kleline: entry is closed'); END""",
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'kleline: journal entries are append-only'); END""",
    """CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'kleline: journal entries are append-only'); END""",
    """CREATE TRIGGER ledger_postings_no_update BEFORE UPDATE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'kleline: postings are append-only'); END""",
    """CREATE TRIGGER ledger_postings_no_delete BEFORE DELETE ON ledger_postings
       BEGIN SELECT RAISE(ABORT, 'kleline: postings are append-only'); END""",
    """CREATE TRIGGER ledger_balances_floor BEFORE UPDATE ON ledger_balances
       WHEN NEW.floor IS NOT NULL AND (NEW.balance < OLD.balance OR NEW.held > OLD.held)
        AND (NEW.slot <> 0 OR NEW.balance - NEW.held + (SELECT COALESCE(SUM(balance), 0) FROM ledger_balances
             WHERE account_id = NEW.account_id AND slot <> 0) < NEW.floor)
       BEGIN SELECT RAISE(ABORT, 'kleline: floor crossed'); END""",
]

POSTGRES_FUNCTIONS = [
    """CREATE FUNCTION kleline_link(previous bytea, content bytea) RETURNS bytea
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT sha256(previous || content)'""",
    """CREATE FUNCTION kleline_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF (SELECT count(*) FROM ledger_postings WHERE entry_id = NEW.id) < 2
            OR EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id
                       GROUP BY currency HAVING sum(amount) <> 0) THEN
           RAISE EXCEPTION 'kleline: unbalanced entry %', NEW.id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION kleline_postings_closed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF EXISTS (SELECT 1 FROM added a JOIN ledger_entries e ON e.id = a.entry_id) THEN
           RAISE EXCEPTION 'kleline: entry is closed' USING ERRCODE = 'check_violation';
         END IF;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION kleline_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'kleline: % is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
       END $$""",
    """CREATE FUNCTION kleline_floor() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.slot <> 0 OR NEW.balance - NEW.held + (SELECT COALESCE(sum(balance), 0) FROM ledger_balances
              WHERE account_id = NEW.account_id AND slot <> 0) < NEW.floor THEN
           RAISE EXCEPTION 'kleline: floor crossed on account %', NEW.account_id USING ERRCODE = 'check_violation';
         END IF;
         RETURN NEW;
       END $$""",
]

POSTGRES_TRIGGERS = [
    """CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kleline_entry_balanced()""",
    """CREATE TRIGGER ledger_postings_closed AFTER INSERT ON ledger_postings
       REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION kleline_postings_closed()""",
    """CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_append_only()""",
    """CREATE TRIGGER ledger_postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_postings
       FOR EACH STATEMENT EXECUTE FUNCTION kleline_append_only()""",
    """CREATE TRIGGER ledger_balances_floor BEFORE UPDATE ON ledger_balances FOR EACH ROW
       WHEN (NEW.floor IS NOT NULL AND (NEW.balance < OLD.balance OR NEW.held > OLD.held))
       EXECUTE FUNCTION kleline_floor()""",
]


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer, sa.Identity(), primary_key=True),
        sa.Column("code", sa.String(120), nullable=False, unique=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("normal_side", sa.String(1), nullable=False),
        sa.Column("floor", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.CheckConstraint("normal_side IN ('D', 'C')", name="ck_ledger_accounts_side"),
        sa.UniqueConstraint("id", "currency", name="uq_ledger_accounts_id_currency"),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("slot", sa.SmallInteger, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("held", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("floor", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("account_id", "slot"),
        sa.CheckConstraint("held >= 0", name="ck_ledger_balances_held"),
        sa.CheckConstraint("slot = 0 OR held = 0", name="ck_ledger_balances_held_slot"),
        # Every transfer rewrites these rows: room in each page lets PostgreSQL update them in place (HOT),
        # without a new index entry per update. Measured: +50 % transfers per second on the server side.
        postgresql_with={"fillfactor": 50},
    )
    op.create_table(
        "ledger_chains",
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("head", sa.LargeBinary, nullable=False),
        postgresql_with={"fillfactor": 50},  # rewritten by every entry, as the balances are
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("posted_at", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("content_hash", sa.LargeBinary, nullable=False),
        sa.Column("chain_shard", sa.Integer, nullable=False),
        sa.Column("chain_seq", sa.BigInteger, nullable=False),
        sa.Column("link_hash", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("chain_shard", "chain_seq", name="uq_ledger_entries_chain"),
        sqlite_with_rowid=False,  # clustered on the id: one b-tree less to maintain per entry
    )
    op.create_table(
        "ledger_postings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), sa.Identity(), primary_key=True),
        sa.Column("entry_id", sa.String(80), nullable=False),
        sa.Column("line", sa.SmallInteger, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.CheckConstraint("amount <> 0", name="ck_ledger_postings_nonzero"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name="fk_ledger_postings_entry", deferrable=True, initially="DEFERRED"
        ),
        sa.ForeignKeyConstraint(
            ["account_id", "currency"],
            ["ledger_accounts.id", "ledger_accounts.currency"],
            name="fk_ledger_postings_account_currency",
        ),
    )
    # Covering: the balance check reads an entry's postings from the index alone.
    op.create_index("ix_ledger_postings_entry", "ledger_postings", ["entry_id", "currency", "amount"])
    op.create_index("ix_ledger_postings_account", "ledger_postings", ["account_id", "id"])
    op.create_table(
        "ledger_holds",
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("postings", sa.Text, nullable=False),
        sa.Column("reserved", sa.Text, nullable=False),
        sa.Column(
            "entry_id",
            sa.String(80),
            sa.ForeignKey("ledger_entries.id", deferrable=True, initially="DEFERRED"),
            nullable=True,
        ),
        sa.Column("closed_at", sa.BigInteger, nullable=True),
        sa.CheckConstraint("status IN ('pending', 'committed', 'voided', 'expired')", name="ck_ledger_holds_status"),
    )
    op.create_index("ix_ledger_holds_pending", "ledger_holds", ["status", "expires_at"])

    if op.get_context().dialect.name == "postgresql":
        for statement in POSTGRES_FUNCTIONS + POSTGRES_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    for table in ("ledger_holds", "ledger_postings", "ledger_entries", "ledger_chains", "ledger_balances"):
        op.drop_table(table)
    op.drop_table("ledger_accounts")
    if op.get_context().dialect.name == "postgresql":
        for function in ("kleline_link", "kleline_entry_balanced", "kleline_postings_closed"):
            op.execute(f"DROP FUNCTION IF EXISTS {function} CASCADE")
        op.execute("DROP FUNCTION IF EXISTS kleline_append_only CASCADE")
        op.execute("DROP FUNCTION IF EXISTS kleline_floor CASCADE")
