"""PostgreSQL: a posting's account, and that its entry exists at commit, are checked per statement, not row by row.

The composite foreign key ``fk_ledger_postings_account_currency`` ran one referential check per posting: a query
and a ``FOR KEY SHARE`` lock on the account's row, 2,000 of each for a batch of 1,000 transfers (about a quarter of
the server's time for a batch). The same rule is now a ``FOR EACH STATEMENT`` trigger over the inserted rows (a
transition table): one anti-join of the statement's distinct (account, currency) pairs against the accounts,
however many postings the statement holds (a batch writes them with one ``COPY``).

What the key also guaranteed, that a referenced account never goes away nor changes its id or currency, is kept by
refusing those writes outright: accounts are never deleted (``DELETE`` and ``TRUNCATE`` are refused) and their id
and currency never change, so no lock is needed to keep a checked posting's account in place until commit. An
account that another transaction is still opening is not visible to the check and is refused, where the key would
have waited for it: the ledger only posts to accounts whose opening has committed.

It refuses what the key refused (a posting to no account, or in another currency than its account's), whoever
writes: the ledger, ``kleline_post_entry``, or a statement behind the ledger's back. SQLite is unchanged: its
foreign key is an index probe inside the writing process.

The deferred foreign key ``fk_ledger_postings_entry`` (every posting's entry exists when the transaction commits)
ran one referential check per posting at commit, each locking its entry's row: 2,000 for a batch, another quarter
of the server's time. Now the statement that inserts postings writes one row into ``ledger_postings_pending`` with
the distinct entry ids of its postings, and a deferred constraint trigger on that row checks them all at commit in
one query (one index probe per entry rather than a query and a lock per posting), then deletes the row, so the
table is empty outside transactions (it is unlogged: it never holds anything a crash should keep). Same rule,
same moment, whoever writes: postings whose entry does not exist at commit are refused, and ``SET CONSTRAINTS ...
IMMEDIATE`` checks them at once, as it did the key. An entry, once there, is never deleted (append-only), so no
lock is needed to keep it.

``kleline_move_balances`` moves many balance slots in one call, one ``UPDATE`` per slot in the order given (the
lock order, (account, slot), which the caller sorts): a batch crediting 1,000 merchants sends one statement, not
1,000. It guards nothing itself; each row's update is checked by ``ledger_balances_floor`` as any other.

Revision ID: 0023
Revises: 0021
"""

from __future__ import annotations

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

POSTINGS_ACCOUNTS = """
CREATE FUNCTION kleline_postings_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT a.account_id, a.currency INTO bad FROM (SELECT DISTINCT account_id, currency FROM added_postings) a
    WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts c WHERE c.id = a.account_id AND c.currency = a.currency)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'kleline: no account % in %', bad.account_id, bad.currency
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$
"""

ACCOUNTS_KEPT = """
CREATE FUNCTION kleline_accounts_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kleline: accounts are never deleted, nor their id or currency changed'
        USING ERRCODE = 'check_violation';
END $$
"""

POSTINGS_PENDING = """
CREATE FUNCTION kleline_postings_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_postings_pending (entry_ids) SELECT array_agg(DISTINCT entry_id) FROM added_postings
        HAVING count(*) > 0;
    RETURN NULL;
END $$
"""

POSTINGS_ENTRIES = """
CREATE FUNCTION kleline_postings_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    SELECT u.id INTO missing FROM unnest(NEW.entry_ids) AS u(id)
    WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.id = u.id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'kleline: postings of entry % without the entry', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    DELETE FROM ledger_postings_pending WHERE id = NEW.id;
    RETURN NULL;
END $$
"""

PENDING_KEPT = """
CREATE FUNCTION kleline_pending_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'kleline: pending postings are never changed' USING ERRCODE = 'check_violation';
END $$
"""

MOVE_BALANCES = """
CREATE FUNCTION kleline_move_balances(p_accounts integer[], p_slots integer[], p_balances bigint[], p_helds bigint[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_accounts, 1), 0) LOOP
        UPDATE ledger_balances SET balance = balance + p_balances[i], held = held + p_helds[i]
        WHERE account_id = p_accounts[i] AND slot = p_slots[i];
    END LOOP;
END $$
"""


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(POSTINGS_ACCOUNTS)
    op.execute(ACCOUNTS_KEPT)
    op.execute(MOVE_BALANCES)
    op.execute(
        "CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE OR TRUNCATE ON ledger_accounts "
        "FOR EACH STATEMENT EXECUTE FUNCTION kleline_accounts_kept()"
    )
    op.execute(
        "CREATE TRIGGER ledger_accounts_key_kept BEFORE UPDATE OF id, currency ON ledger_accounts FOR EACH ROW "
        "WHEN (NEW.id <> OLD.id OR NEW.currency <> OLD.currency) EXECUTE FUNCTION kleline_accounts_kept()"
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_accounts AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS "
        "added_postings FOR EACH STATEMENT EXECUTE FUNCTION kleline_postings_accounts()"
    )
    op.execute("ALTER TABLE ledger_postings DROP CONSTRAINT fk_ledger_postings_account_currency")
    op.execute(
        "CREATE UNLOGGED TABLE ledger_postings_pending (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "entry_ids text[] NOT NULL)"
    )
    op.execute(POSTINGS_PENDING)
    op.execute(POSTINGS_ENTRIES)
    op.execute(PENDING_KEPT)
    op.execute(
        "CREATE TRIGGER ledger_postings_pending AFTER INSERT ON ledger_postings REFERENCING NEW TABLE AS "
        "added_postings FOR EACH STATEMENT EXECUTE FUNCTION kleline_postings_pending()"
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER ledger_postings_entries AFTER INSERT ON ledger_postings_pending "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION kleline_postings_entries()"
    )
    op.execute(
        "CREATE TRIGGER ledger_postings_pending_kept BEFORE UPDATE OR TRUNCATE ON ledger_postings_pending "
        "FOR EACH STATEMENT EXECUTE FUNCTION kleline_pending_kept()"
    )
    op.execute("ALTER TABLE ledger_postings DROP CONSTRAINT fk_ledger_postings_entry")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(
        "ALTER TABLE ledger_postings ADD CONSTRAINT fk_ledger_postings_entry FOREIGN KEY (entry_id) "
        "REFERENCES ledger_entries (id) DEFERRABLE INITIALLY DEFERRED"
    )
    op.execute("DROP TRIGGER ledger_postings_pending ON ledger_postings")
    op.execute("DROP TABLE ledger_postings_pending")
    op.execute("DROP FUNCTION kleline_pending_kept()")
    op.execute("DROP FUNCTION kleline_postings_entries()")
    op.execute("DROP FUNCTION kleline_postings_pending()")
    op.execute(
        "ALTER TABLE ledger_postings ADD CONSTRAINT fk_ledger_postings_account_currency "
        "FOREIGN KEY (account_id, currency) REFERENCES ledger_accounts (id, currency)"
    )
    op.execute("DROP TRIGGER ledger_postings_accounts ON ledger_postings")
    op.execute("DROP TRIGGER ledger_accounts_key_kept ON ledger_accounts")
    op.execute("DROP TRIGGER ledger_accounts_no_delete ON ledger_accounts")
    op.execute("DROP FUNCTION kleline_accounts_kept()")
    op.execute("DROP FUNCTION kleline_postings_accounts()")
    op.execute("DROP FUNCTION kleline_move_balances(integer[], integer[], bigint[], bigint[])")
