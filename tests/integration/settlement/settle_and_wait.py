"""A settlement run in a process of its own that stops at a named step and waits there to be killed.

``python -m tests.integration.settlement.settle_and_wait URL BATCH_SIZE STOP IBAN BIC NAME CREDITOR_ID``: settle
2026-01-15 on the database at URL in batches of BATCH_SIZE merchants, paying from Kleline's own account (IBAN, BIC,
NAME, CREDITOR_ID, as the parent's Kleline has it); at the STOP-th step of the run (counting from 0) print
``stopped <step>`` and wait, holding whatever transaction is open, until the test kills the process (SIGKILL: no
cleanup, no rollback from Python, the connection simply drops). A run with fewer steps prints ``done``.

The child wires only what a settlement run uses (database, ledger, settlement), as ``kleline.bootstrap.build`` does
with the same settings, rather than the whole of Kleline: importing every service costs a second or more per child.
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import UTC, datetime

from kleline.config import load_settings
from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.sepa.model import OwnAccount
from kleline.settlement import Settlement

from ...operator_keys import OPERATOR

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def main(url: str, batch_size: int, stop: int, account: OwnAccount) -> None:
    settings = load_settings(database_url=url)
    db = Database(url, pool_size=settings.db_pool_size)
    ledger = Ledger(db, clock=lambda: NOW, chain_shards=settings.chain_shards)
    ledger.prepare()
    steps = itertools.count()

    def step(name: str) -> None:
        if next(steps) == stop:
            print(f"stopped {name}", flush=True)
            while True:
                time.sleep(60)

    settlement = Settlement(
        db,
        ledger,
        account,
        clock=lambda: NOW,
        minimum=settings.payout_minimum,
        batch_size=batch_size,
        on_step=step,
    )
    settlement.run(actor=OPERATOR)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), OwnAccount(*sys.argv[4:8]))
