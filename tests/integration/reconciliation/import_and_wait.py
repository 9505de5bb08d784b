"""A statement import in a process of its own that stops after a chosen line and waits there to be killed.

``python -m tests.integration.reconciliation.import_and_wait URL DOCUMENT STOP NOW``: import the camt.053 file
DOCUMENT into the database at URL with the clock stopped at NOW (ISO 8601: the parent's fake time); once the
STOP-th line (counting from 0, across the document's statements) is committed, print ``stopped <position>`` and
wait until the test kills the process (SIGKILL: no cleanup, no rollback from Python, the connection simply drops).
An import with fewer lines prints ``done``.

The child is wired by ``kleline.bootstrap.build`` from the same settings as the parent's Kleline (so the same own
account), with only the import's per-line hook added.
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import datetime
from pathlib import Path

from kleline.bootstrap import build
from kleline.config import load_settings
from kleline.reconciliation import Counterparts, Reconciliation

from ...operator_keys import OPERATOR


def main(url: str, document: Path, stop: int, now: datetime) -> None:
    kleline = build(load_settings(database_url=url), clock=lambda: now)
    lines = itertools.count()

    def after_line(_statement: str, position: int) -> None:
        if next(lines) == stop:
            print(f"stopped {position}", flush=True)
            while True:
                time.sleep(60)

    counterparts = Counterparts(kleline.ledger, kleline.own_account, kleline.settlement, kleline.collections)
    reconciliation = Reconciliation(
        kleline.db, kleline.ledger, kleline.own_account, counterparts, clock=lambda: now, on_line=after_line
    )
    reconciliation.import_document(document.read_bytes(), actor=OPERATOR)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), datetime.fromisoformat(sys.argv[4]))
