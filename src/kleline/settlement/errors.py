"""What can go wrong with a settlement run or a payout.

    KlelineError
    ├── NotFound (404)
    │   ├── UnknownSettlementRun          no run with that id (or the caller may not see it)
    │   ├── UnknownPayout                 no payout with that id (or the caller may not see it)
    │   └── NoSettlementFile              the run paid nobody, so it has no file
    ├── Conflict (409)
    │   ├── SettlementRunIncomplete       the run is still paying merchants: its file is not written yet
    │   ├── SettlementPeriodClosed        a past period that no run was started for: settle today's instead
    │   └── PayoutStateConflict           a statement line that does not fit the payout's state
    ├── ValidationError (400)             a period that is not a date, or lies in the future
    └── SettlementRunFailed (500)         the run met a fault of Kleline's own set-up and stopped, ``failed``

A merchant whose balance is under the minimum is not an error: the run simply does not pay it.
"""

from __future__ import annotations

from kleline.errors import Conflict, KlelineError, NotFound

__all__ = [
    "NoSettlementFile",
    "PayoutStateConflict",
    "SettlementPeriodClosed",
    "SettlementRunFailed",
    "SettlementRunIncomplete",
    "UnknownPayout",
    "UnknownSettlementRun",
]


class UnknownSettlementRun(NotFound):
    """No settlement run has this id."""


class UnknownPayout(NotFound):
    """No payout has this id, or it is another merchant's."""


class NoSettlementFile(NotFound):
    """The run paid nobody (no balance reached the minimum), so there is no file to send."""

    code = "no_settlement_file"


class SettlementRunIncomplete(Conflict):
    """The run has not finished paying merchants (or was interrupted): its file does not exist yet."""

    code = "settlement_run_incomplete"


class SettlementPeriodClosed(Conflict):
    """A past period without a run: a run pays the balances of the day it starts, so starting one now would pay
    today's money under another day's name. Only the run already started for a past period can be read (or
    finished)."""

    code = "settlement_period_closed"


class PayoutStateConflict(Conflict):
    """A statement line contradicts the payout: a return of a payout never debited, or a second, different line
    confirming one already settled. Reconciliation puts such a line in suspense."""

    code = "payout_unexpected_state"


class SettlementRunFailed(KlelineError):
    """The run met a fault that retrying cannot get past (one of Kleline's own ledger accounts missing or of another
    kind, a file the schema refuses): a fault of Kleline's set-up, not of the request, so a server-side problem. The
    run is ``failed`` with the reason; running the period again once it is fixed resumes it."""

    code = "configuration_error"
    status = 500

    def __init__(self, detail: str, *, run_id: str) -> None:
        super().__init__(detail)
        self.run_id = run_id

    def extensions(self) -> dict[str, object]:
        return {"settlement_run_id": self.run_id}
