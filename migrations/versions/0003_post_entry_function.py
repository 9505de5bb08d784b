"""PostgreSQL: post an entry in one statement (one round trip) through a server-side function.

``kleline_post_entry`` runs exactly the statements the ledger runs on SQLite, in the same lock order: advance the
entry's hash chain, insert its postings, insert the entry linked into the chain, then move balance slots in
(account, slot) order. The database's own guards (the deferred balance check, the floor trigger, the append-only
triggers) apply to it as to any other write.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

POST_ENTRY = """
CREATE FUNCTION kleline_post_entry(
    p_id text, p_posted_at bigint, p_description text, p_metadata text, p_content_hash bytea, p_shard integer,
    p_account_ids integer[], p_currencies text[], p_amounts bigint[],
    p_move_accounts integer[], p_move_slots integer[], p_move_balances bigint[], p_move_helds bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_chains SET seq = seq + 1, head = kleline_link(head, p_content_hash) WHERE shard = p_shard;
    INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount)
        SELECT p_id, u.line - 1, u.account_id, u.currency, u.amount
        FROM unnest(p_account_ids, p_currencies, p_amounts) WITH ORDINALITY AS u(account_id, currency, amount, line);
    INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard, chain_seq, link_hash)
        SELECT p_id, p_posted_at, p_description, p_metadata, p_content_hash, shard, seq, head
        FROM ledger_chains WHERE shard = p_shard;
    FOR i IN 1 .. coalesce(array_length(p_move_accounts, 1), 0) LOOP
        UPDATE ledger_balances SET balance = balance + p_move_balances[i], held = held + p_move_helds[i]
        WHERE account_id = p_move_accounts[i] AND slot = p_move_slots[i];
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(POST_ENTRY)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION kleline_post_entry")
