"""PostgreSQL: a posting's account and currency are checked once per statement, not by a foreign key row by row.

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

``kleline_move_balances`` moves many balance slots in one call, one ``UPDATE`` per slot in the order given (the
lock order, (account, slot), which the caller sorts): a batch crediting 1,000 merchants sends one statement, not
1,000. It guards nothing itself; each row's update is checked by ``ledger_balances_floor`` as any other.

Left as it was: the deferred foreign key ``fk_ledger_postings_entry`` (a posting's entry exists at commit), one
check per posting at commit. A set-based form (one row per statement naming its entries, checked by one deferred
trigger) cut a batch's server time by another sixth but cost each single entry more than the two checks it saved.

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


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
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
