"""A settlement run in a process of its own that stops at a named step and waits there to be killed.

``python -m tests.integration.settlement.settle_and_wait URL BATCH_SIZE STOP``: settle 2026-01-15 on the database
at URL in batches of BATCH_SIZE merchants; at the STOP-th step of the run (counting from 0) print ``stopped <step>``
and wait, holding whatever transaction is open, until the test kills the process (SIGKILL: no cleanup, no
rollback from Python, the connection simply drops). A run with fewer steps prints ``done``.
"""

from __future__ import annotations

import itertools
import sys
import time
from datetime import UTC, datetime

from kleline.bootstrap import build
from kleline.config import load_settings
from kleline.settlement import Settlement

NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def main(url: str, batch_size: int, stop: int) -> None:
    kleline = build(load_settings(database_url=url), clock=lambda: NOW)
    steps = itertools.count()

    def step(name: str) -> None:
        if next(steps) == stop:
            print(f"stopped {name}", flush=True)
            while True:
                time.sleep(60)

    settlement = Settlement(
        kleline.db,
        kleline.ledger,
        kleline.own_account,
        clock=lambda: NOW,
        minimum=kleline.settlement.minimum,
        batch_size=batch_size,
        on_step=step,
    )
    settlement.run()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
