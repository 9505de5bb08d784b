"""``make bench``: every benchmark, each one's time (its measured rounds and the rest), then one line per target;
``python -m bench NAME...`` runs only those named."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench import (
    audience,
    dashboard_overview,
    dashboard_payments,
    growth,
    iso8583,
    ledger_postgres,
    ledger_sqlite,
    pages,
    payments_api,
    settlement,
    wallet,
)
from bench.common import PHASES, Report

BENCHES: dict[str, Callable[[Report], None]] = {
    "ledger-sqlite": ledger_sqlite.run,
    "ledger-postgres": ledger_postgres.run,
    "wallet": wallet.run,
    "payments": payments_api.run,
    "payments-postgres": payments_api.run_postgres,
    "payments-sqlite": payments_api.run_sqlite,
    "iso8583": iso8583.run,
    "settlement": settlement.run,
    "pages": pages.run,
    "dashboard-payments": dashboard_payments.run,
    "dashboard-overview": dashboard_overview.run,
    "growth": growth.run,
    "audience": audience.run,
}

PARTS = {"payments-postgres", "payments-sqlite"}  # halves of "payments", run alone by name only


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        print(f"unknown bench {', '.join(unknown)}; choose among {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    report = Report()
    began = time.perf_counter()
    took: list[str] = []
    for name, run in BENCHES.items():
        if (not names and name not in PARTS) or name in names:
            took.append(_timed(name, run, report))
    print(f"\n(bench took {time.perf_counter() - began:.0f} s)")
    for line in took:
        print(line)
    print()
    for target in report.targets:
        print(target.line())
    return 0


def _timed(name: str, run: Callable[[Report], None], report: Report) -> str:
    """Run one bench; a line of its wall time split into its measured rounds and the rest (set-up, start-ups,
    warm-ups, checks), printed at its end and again in the closing summary."""
    began, measured = time.perf_counter(), PHASES.measured
    run(report)
    total, measured = time.perf_counter() - began, PHASES.measured - measured
    line = f"  {name:<20} {total:>6.0f} s   (measured rounds {measured:>5.0f} s, the rest {total - measured:>5.0f} s)"
    print(f"\n({name} took {total:.0f} s: measured rounds {measured:.0f} s, the rest {total - measured:.0f} s)")
    return line


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
