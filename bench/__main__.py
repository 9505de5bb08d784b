"""``make bench``: every benchmark, then one line per target."""

from __future__ import annotations

import sys
import time

from bench import ledger_postgres, ledger_sqlite, wallet
from bench.common import Report


def main() -> int:
    report = Report()
    began = time.perf_counter()
    ledger_sqlite.run(report)
    ledger_postgres.run(report)
    wallet.run(report)
    print(f"\n(bench took {time.perf_counter() - began:.0f} s)\n")
    for target in report.targets:
        print(target.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
