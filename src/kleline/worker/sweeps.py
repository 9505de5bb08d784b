"""The periodic sweeps the worker runs besides webhook deliveries: each a named callable on Kleline.

To add one, write a function ``(kleline) -> int`` (how many things it handled, for the logs and ``kleline worker
--once``) and append a ``Sweep`` to ``SWEEPS``. A sweep must be safe to run at any time, concurrently with the API
and with another worker, and to run again after a crash: it only finishes what is overdue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from kleline.bootstrap import Kleline

__all__ = ["SWEEPS", "Sweep"]


@dataclass(frozen=True, slots=True)
class Sweep:
    """A named periodic task; ``every`` is the pause, in seconds, between two runs in ``kleline worker``."""

    name: str
    run: Callable[[Kleline], int]
    every: float = 60.0


def expire_holds(kleline: Kleline) -> int:
    """Release the ledger holds past their expiry."""
    return len(kleline.ledger.expire_holds())


STALLED_AFTER = timedelta(minutes=2)
"""A payment untouched this long while half-way is taken for abandoned by a crashed process; a live
request finishes in well under a second, and both paths are idempotent if one is merely slow."""


def expire_authorizations(kleline: Kleline) -> int:
    """Release authorisations past their lifetime and tell the merchants (``payment.expired``)."""
    return len(kleline.payments.expire_authorizations())


def resume_stalled(kleline: Kleline) -> int:
    """Finish card payments a crash left half-way (purse payments and refunds are single transactions)."""
    return len(kleline.payments.resume_stalled(STALLED_AFTER))


SETTLEMENT_STALLED_AFTER = timedelta(minutes=5)
"""A settlement run untouched this long was interrupted: a live run touches its row after every batch of merchants,
a few seconds apart at most, and finishing a run that is merely slow is safe (batches queue on the run's lock)."""


def finish_settlement_runs(kleline: Kleline) -> int:
    """Finish the settlement runs a crash interrupted, so that their payouts reach a file without an operator."""
    return len(kleline.settlement.finish_interrupted(SETTLEMENT_STALLED_AFTER))


def retry_reversals(kleline: Kleline) -> int:
    """Resend the reversals of unanswered authorisations until the card network acknowledges them."""
    return kleline.reversals.retry(kleline.bank)


def resume_card_refunds(kleline: Kleline) -> int:
    """Ask the card issuers again about refunds they did not answer, and record them once answered."""
    return len(kleline.refunds.resume_card_refunds())


def resume_pending_top_ups(kleline: Kleline) -> int:
    """Carry card top-ups a crash or a silent issuer left pending to their end: credited once if the money was
    captured, failed if not (the same grace as payments: a live top-up finishes in well under a second)."""
    return len(kleline.top_ups.resume_pending(STALLED_AFTER))


def finish_statement_imports(kleline: Kleline) -> int:
    """Finish, from their stored documents, the bank statement imports a crash interrupted, so that their remaining
    lines (payouts to confirm, returns) are booked without anyone importing the file again (the same grace as
    payments: a live import books a line every few milliseconds)."""
    return len(kleline.reconciliation.finish_interrupted(STALLED_AFTER))


def forget_idempotency_keys(kleline: Kleline) -> int:
    """Remove Idempotency-Key records past their retention (24 hours by default)."""
    return kleline.idempotency.sweep()


def shred_erased_customers(kleline: Kleline) -> int:
    """Destroy the keys of erased customers whose retention period has run out (``kleline customers shred``)."""
    return len(kleline.erasure.shred_due())


SWEEPS: list[Sweep] = [
    Sweep("payments.resume_stalled", resume_stalled),
    Sweep("payments.expire_authorizations", expire_authorizations),
    Sweep("ledger.expire_holds", expire_holds),
    Sweep("idempotency.sweep", forget_idempotency_keys, every=600.0),
    Sweep("banks.retry_reversals", retry_reversals, every=15.0),
    Sweep("payments.resume_card_refunds", resume_card_refunds, every=30.0),
    Sweep("settlement.finish_interrupted", finish_settlement_runs),
    Sweep("wallet.resume_pending_top_ups", resume_pending_top_ups),
    Sweep("reconciliation.finish_interrupted", finish_statement_imports),
    Sweep("customer_rights.shred", shred_erased_customers, every=3600.0),
]
