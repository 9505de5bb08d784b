"""A reversal that cannot even be queued leaves funds held at the issuer: operators must learn which authorisation."""

from __future__ import annotations

import logging
import re

import pytest

from kleline.banks import CardDetails, NoAnswer
from kleline.banks.reversals import ReversalQueue
from kleline.bootstrap import Kleline
from kleline.db.engine import Database
from kleline.money import Money

from ...conftest import FakeClock
from ...unit.banks.harness import LossyIssuers

VISA = "4242424242424242"
CARD = CardDetails(VISA, 12, 2030, "123")


def _break_the_queue(db: Database) -> None:
    """A real database failure: the queue's table is gone."""
    with db.transaction() as tx:
        tx.execute("DROP TABLE bank_reversals")


def test_a_reversal_that_cannot_be_queued_is_logged_with_its_authorisation_and_the_error_raised(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    queue = ReversalQueue(db, clock=clock)
    _break_the_queue(db)
    caplog.set_level(logging.ERROR, logger="kleline.banks.reversals")
    with pytest.raises(Exception) as raised:
        queue.enqueue("LOSTRRN00001", "no_answer", stan="000042", amount=Money(2500, "EUR"))
    assert not isinstance(raised.value, NoAnswer)
    (record,) = [r for r in caplog.records if r.name == "kleline.banks.reversals"]
    assert record.levelno == logging.ERROR
    message = record.getMessage()
    assert "LOSTRRN00001" in message and "000042" in message and "25.00 EUR" in message


def test_an_unanswered_authorisation_whose_reversal_cannot_be_queued_is_named_in_the_log_without_its_card_number(
    kleline: Kleline, lossy: LossyIssuers, caplog: pytest.LogCaptureFixture
) -> None:
    lossy.lose.add("0100")  # the issuer holds the funds, its answer is lost
    lossy.drop.add("0400")  # the reversal sent at once is lost too: it must be queued
    _break_the_queue(kleline.db)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception) as raised:
        kleline.bank.authorize(CARD, Money(2500, "EUR"), "pay_unqueued")
    assert not isinstance(raised.value, NoAnswer)  # the database error, not a plain lost answer
    assert lossy.issuers.balance(VISA, "EUR").held == Money(2500, "EUR")
    errors = [r.getMessage() for r in caplog.records if r.name == "kleline.banks.reversals"]
    assert len(errors) == 1 and "25.00 EUR" in errors[0]
    assert re.search(r"\brrn=[0-9A-Z]{12}\b", errors[0]) and re.search(r"\bstan=[0-9]{6}\b", errors[0])
    assert VISA not in caplog.text
