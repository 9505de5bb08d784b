"""The wallet: card verification through the sandbox issuers (ISO 8583 encoded and decoded both ways) and purse
top-ups through the service layer (limits, exemption, issuer authorisation and capture, the ledger entry).

No goal is set for these yet: the figures are reported beside the ledger's, as medians of rounds.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import PHASES, ROUNDS, Report, section
from bench.databases import migrated_sqlite
from kleline.banks import CardDetails, InProcessTransport, IsoBankNetwork, SandboxIssuers
from kleline.bootstrap import build
from kleline.config import load_settings
from kleline.money import Money

SECONDS = 2.0
PASSWORD = "correct horse battery staple"


def _rate(step: Callable[[], object]) -> float:
    done, began = 0, time.perf_counter()
    while time.perf_counter() - began < SECONDS:
        step()
        done += 1
    elapsed = time.perf_counter() - began
    PHASES.add(elapsed)
    return done / elapsed


def run(report: Report) -> None:
    section("Wallet: card verification (sandbox, ISO 8583 both ways) and purse top-ups (service layer, SQLite)")
    network = IsoBankNetwork(InProcessTransport(SandboxIssuers()))
    card = CardDetails("4242424242424242", 12, 2030, "123")
    with tempfile.TemporaryDirectory(prefix="kleline-bench-") as folder:
        url = migrated_sqlite(Path(folder) / "wallet.db")
        # Limits and the exemption's cumulative ceiling are lifted so that every top-up goes through: the bench
        # measures the path, not the rules (which the tests cover).
        kleline = build(
            load_settings(
                database_url=url,
                unverified_max_balance=10**12,
                unverified_monthly_top_up=10**12,
                sca_cumulative_limit=10**12,
                sca_max_payments=10**9,
            )
        )
        customer = kleline.customers.sign_up("bench@example.org", PASSWORD, "Bench")
        registered = kleline.cards.register(customer.id, "4242424242424242", 12, 2030, "123", "Bench")
        figures: dict[str, list[float]] = {}
        for _ in range(ROUNDS):
            figures.setdefault("card verification (zero-amount authorisation)", []).append(
                _rate(lambda: network.verify_card(card))
            )
            figures.setdefault("purse top-up, 10.00 EUR, one customer", []).append(
                _rate(lambda: kleline.top_ups.top_up(customer.id, Money(1000, "EUR"), registered.id))
            )
        for name, rounds in figures.items():
            report.figure(name, rounds, "per second")
        kleline.close()
