"""PostgreSQL: a posting's entry is checked once per statement (once more at commit if it comes later), not per row.

The deferred foreign key ``fk_ledger_postings_entry`` ran, at commit, one referential query and one ``FOR KEY
SHARE`` lock on the entry's row (a WAL record) per posting: 2,000 of each for a batch of 1,000 transfers, about a
quarter of the server's time for a batch. Its rule, a posting never outlives its transaction without its entry, is
now kept in two steps:

- ``ledger_postings_closed`` (one call per statement, over the inserted rows) looks each of the statement's entry
  ids up once. An entry that exists is closed: the statement is refused unless it wrote that entry itself, with
  all of its postings (the entry's postings in the table are exactly the statement's; an entry written earlier
  already has its own, checked balanced when it was inserted). If any entry is missing, the statement leaves one
  row in ``ledger_postings_unentered`` naming its postings' id range.
- ``ledger_postings_entered``, a deferred constraint trigger on that row, runs at commit: one anti-join of the
  range's distinct entry ids against the entries (whoever wrote those postings), then the row is deleted.

The ledger writes a batch's postings, its entries and its chain head in one statement, as
``kleline_post_entry`` does for a single entry: each entry is then found and owns exactly the statement's postings,
so a batch pays one look-up per entry and nothing at commit. Postings written a statement before their entries
(one ``COPY`` per table, or row by row) pay one deferred check per statement, however many rows it holds.
Deleting the ``ledger_postings_unentered`` row does not skip the check (a deferred trigger fires on the row as it
was inserted); updating it is refused, and ``TRUNCATE`` too while a check is pending.
Entries are append-only (``UPDATE``, ``DELETE`` and ``TRUNCATE`` are refused), so a checked entry cannot go away
before commit, which the key's lock was for.

``kleline_entries_balanced`` reads each inserted entry's postings once (per currency: lines and sum), where it read
them twice (a count, then the sums). It refuses exactly what it refused before.

SQLite is unchanged: its foreign key is an index probe inside the writing process.

Revision ID: 0045
Revises: 0044
"""

from __future__ import annotations

from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

POSTINGS_ENTRIES = """
CREATE FUNCTION kleline_postings_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
    closed text;
BEGIN
    -- Each entry looked up by its key: a scalar sub-select per entry id, which the planner can neither turn into a
    -- join nor hash (either may read the whole journal once per statement, however few postings it holds).
    SELECT count(*) FILTER (WHERE NOT a.entered),
           min(a.entry_id) FILTER (WHERE a.entered
               AND (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = a.entry_id) <> a.lines)
    INTO missing, closed
    FROM (SELECT added.entry_id, count(*) AS lines,
                 (SELECT true FROM ledger_entries e WHERE e.id = added.entry_id) IS NOT NULL AS entered
          FROM added GROUP BY added.entry_id) a;
    IF closed IS NOT NULL THEN
        RAISE EXCEPTION 'kleline: entry % is closed', closed USING ERRCODE = 'check_violation';
    END IF;
    IF missing > 0 THEN
        INSERT INTO ledger_postings_unentered (first_id, last_id) SELECT min(id), max(id) FROM added;
    END IF;
    RETURN NULL;
END $$
"""

POSTINGS_ENTERED = """
CREATE FUNCTION kleline_postings_entered() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan text;
BEGIN
    SELECT p.entry_id INTO orphan
    FROM (SELECT DISTINCT entry_id FROM ledger_postings WHERE id BETWEEN NEW.first_id AND NEW.last_id) p
    WHERE (SELECT true FROM ledger_entries e WHERE e.id = p.entry_id) IS NULL  -- by key, as above
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'kleline: postings of entry % without their entry', orphan
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    DELETE FROM ledger_postings_unentered WHERE first_id = NEW.first_id;
    RETURN NULL;
END $$
"""

UNENTERED_KEPT = """
CREATE FUNCTION kleline_unentered_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kleline: postings awaiting their entry are only cleared by their check'
        USING ERRCODE = 'check_violation';
END $$
"""

ENTRIES_BALANCED = """
CREATE OR REPLACE FUNCTION kleline_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT n.id INTO bad FROM inserted_entries n
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(c.lines), 0) AS lines, coalesce(bool_and(c.total = 0), false) AS balanced
        FROM (SELECT count(*) AS lines, sum(p.amount) AS total FROM ledger_postings p WHERE p.entry_id = n.id
              GROUP BY p.currency) c
    ) s
    WHERE s.lines < 2 OR NOT s.balanced
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'kleline: unbalanced entry %', bad USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""

ENTRIES_BALANCED_0021 = """
CREATE OR REPLACE FUNCTION kleline_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad text;
BEGIN
    SELECT n.id INTO bad FROM inserted_entries n
    WHERE (SELECT count(*) FROM ledger_postings p WHERE p.entry_id = n.id) < 2
       OR EXISTS (SELECT 1 FROM ledger_postings p WHERE p.entry_id = n.id GROUP BY p.currency HAVING sum(p.amount) <> 0)
    LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'kleline: unbalanced entry %', bad USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$
"""

_POST_ENTRY = """
CREATE OR REPLACE FUNCTION kleline_post_entry(
    p_id text, p_posted_at bigint, p_description text, p_metadata text, p_content_hash bytea, p_shard integer,
    p_account_ids integer[], p_currencies text[], p_amounts bigint[],
    p_move_accounts integer[], p_move_slots integer[], p_move_balances bigint[], p_move_helds bigint[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_chains SET seq = seq + 1, head = kleline_link(head, p_content_hash) WHERE shard = p_shard;
    {write}
    FOR i IN 1 .. coalesce(array_length(p_move_accounts, 1), 0) LOOP
        UPDATE ledger_balances SET balance = balance + p_move_balances[i], held = held + p_move_helds[i]
        WHERE account_id = p_move_accounts[i] AND slot = p_move_slots[i];
    END LOOP;
END $$
"""
_INSERT_POSTINGS = """INSERT INTO ledger_postings (entry_id, line, account_id, currency, amount)
        SELECT p_id, u.line - 1, u.account_id, u.currency, u.amount
        FROM unnest(p_account_ids, p_currencies, p_amounts) WITH ORDINALITY AS u(account_id, currency, amount, line)"""
_INSERT_ENTRY = """INSERT INTO ledger_entries (id, posted_at, description, metadata, content_hash, chain_shard,
        chain_seq, link_hash)
        SELECT p_id, p_posted_at, p_description, p_metadata, p_content_hash, shard, seq, head
        FROM ledger_chains WHERE shard = p_shard"""
# One statement: the postings' and the entry's statement triggers run after both are written, so the entry is found
# (no deferred check) and owns exactly the statement's postings (it is not closed to them).
POST_ENTRY = _POST_ENTRY.replace("{write}", f"WITH added AS ({_INSERT_POSTINGS}) {_INSERT_ENTRY};")
POST_ENTRY_0003 = _POST_ENTRY.replace("{write}", f"{_INSERT_POSTINGS};\n    {_INSERT_ENTRY};")

POSTINGS_CLOSED_0001 = """
CREATE OR REPLACE FUNCTION kleline_postings_closed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM added a JOIN ledger_entries e ON e.id = a.entry_id) THEN
    RAISE EXCEPTION 'kleline: entry is closed' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE ledger_postings_unentered (first_id bigint PRIMARY KEY, last_id bigint NOT NULL, "
        "CHECK (first_id <= last_id))"
    )
    op.execute(POSTINGS_ENTRIES)
    op.execute(POSTINGS_ENTERED)
    op.execute(UNENTERED_KEPT)
    op.execute(ENTRIES_BALANCED)
    op.execute(POST_ENTRY)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_postings_entered AFTER INSERT ON ledger_postings_unentered "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kleline_postings_entered()"
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_unentered_kept BEFORE UPDATE OR TRUNCATE ON ledger_postings_unentered "
        "FOR EACH STATEMENT EXECUTE FUNCTION kleline_unentered_kept()"
    )
    op.execute("DROP TRIGGER ledger_postings_closed ON ledger_postings")
    op.execute("DROP FUNCTION kleline_postings_closed()")
    op.execute(
        "CREATE TRIGGER ledger_postings_closed AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION kleline_postings_entries()"
    )
    op.execute("ALTER TABLE ledger_postings DROP CONSTRAINT fk_ledger_postings_entry")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE ledger_postings ADD CONSTRAINT fk_ledger_postings_entry FOREIGN KEY (entry_id) "
        "REFERENCES ledger_entries (id) DEFERRABLE INITIALLY DEFERRED"
    )
    op.execute("DROP TRIGGER ledger_postings_closed ON ledger_postings")
    op.execute(POSTINGS_CLOSED_0001)
    op.execute(
        "CREATE TRIGGER ledger_postings_closed AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS added "
        "FOR EACH STATEMENT EXECUTE FUNCTION kleline_postings_closed()"
    )
    op.execute(POST_ENTRY_0003)
    op.execute(ENTRIES_BALANCED_0021)
    op.execute("DROP TABLE ledger_postings_unentered")
    op.execute("DROP FUNCTION kleline_unentered_kept()")
    op.execute("DROP FUNCTION kleline_postings_entered()")
    op.execute("DROP FUNCTION kleline_postings_entries()")
