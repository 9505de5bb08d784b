"""PostgreSQL: entries are checked balanced once per statement (a transition table), not once per row at commit.

0001 checked each entry with a deferred constraint trigger, ``FOR EACH ROW``: a batch of 1,000 entries queued 1,000
trigger events and ran 2,000 plpgsql queries at commit. The check can run when the entry is inserted instead,
because an entry closes its postings: postings are written first, and any posting inserted for an entry that
exists is refused (``ledger_postings_closed``), so the postings an entry has when it is inserted are all it will
ever have. The new trigger is ``FOR EACH STATEMENT`` with the inserted rows as a transition table: one grouped
query for the whole statement, however many entries it holds (a batch writes them with one ``COPY``).

It refuses exactly what the old one refused (fewer than two postings, or postings not summing to zero in each
currency), whoever writes: the ledger, ``kleline_post_entry``, or a statement behind the ledger's back.
SQLite is unchanged: its ``BEFORE INSERT`` trigger already checks each entry as it is inserted.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

ENTRIES_BALANCED = """
CREATE FUNCTION kleline_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
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

OLD_ENTRY_BALANCED = """
CREATE FUNCTION kleline_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM ledger_postings WHERE entry_id = NEW.id) < 2
     OR EXISTS (SELECT 1 FROM ledger_postings WHERE entry_id = NEW.id
                GROUP BY currency HAVING sum(amount) <> 0) THEN
    RAISE EXCEPTION 'kleline: unbalanced entry %', NEW.id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute("DROP FUNCTION kleline_entry_balanced()")
    op.execute(ENTRIES_BALANCED)
    op.execute(
        "CREATE TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
        "REFERENCING NEW TABLE AS inserted_entries FOR EACH STATEMENT EXECUTE FUNCTION kleline_entries_balanced()"
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
    op.execute("DROP FUNCTION kleline_entries_balanced()")
    op.execute(OLD_ENTRY_BALANCED)
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kleline_entry_balanced()"
    )
