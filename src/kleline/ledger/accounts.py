"""The ledger's cache of accounts: rows never change once opened, so each process reads each account once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kleline.db.engine import Database, RawTx
from kleline.ledger import store
from kleline.ledger.errors import CurrencyMismatch, UnknownAccount
from kleline.ledger.model import Posting
from kleline.ledger.store import AccountRow

__all__ = ["AccountCache"]


class AccountCache:
    """Account rows by code, loaded on first use; safe to share between threads (a dict update is atomic)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rows: dict[str, AccountRow] = {}

    def remember(self, row: AccountRow) -> None:
        """Keep ``row`` (just opened or read)."""
        self._rows[row.code] = row

    def cached(self) -> Mapping[str, AccountRow]:
        """The rows read so far, by code, to look up without a call per account (a batch's hot path); a code
        missing here is to be resolved through ``resolve``."""
        return self._rows

    def find(self, code: str) -> AccountRow | None:
        """The account with ``code``, read from the database (bypassing the cache), or None."""
        with self._db.transaction(write=False) as tx:
            return store.find_account(tx, code)

    def resolve(self, codes: Iterable[str], *, tx: RawTx | None = None) -> dict[str, AccountRow]:
        """The rows of ``codes``; ``UnknownAccount`` names the first that does not exist. Rows not yet cached are
        read in ``tx`` when given (a transaction already holding a connection: reading apart would take a second one
        from the pool, and open it when all are in use), else in a transaction of their own."""
        codes = list(codes)
        found = {code: self._rows[code] for code in codes if code in self._rows}
        missing = [code for code in codes if code not in found]
        if missing:
            if tx is not None:
                loaded = store.find_accounts(tx, missing)
            else:
                with self._db.transaction(write=False) as own:
                    loaded = store.find_accounts(own, missing)
            self._rows.update(loaded)
            found.update(loaded)
            unknown = [code for code in missing if code not in loaded]
            if unknown:
                raise UnknownAccount(f"no account {unknown[0]}", param="account")
        return found

    def resolve_postings(self, postings: Sequence[Posting], *, tx: RawTx | None = None) -> dict[str, AccountRow]:
        """The rows of the postings' accounts (read in ``tx`` if not cached), checking that each posting is in its
        account's currency."""
        accounts = self.resolve((p.account for p in postings), tx=tx)
        for p in postings:
            currency = accounts[p.account].account.currency
            if currency != p.currency:
                raise CurrencyMismatch(
                    f"posting in {p.currency} to {p.account}, which is in {currency}", param="currency"
                )
        return accounts
