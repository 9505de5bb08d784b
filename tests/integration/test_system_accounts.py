"""Kleline opens its own accounts when it starts, for the safeguarding bank its settings name: idempotently, with no
write once they exist, and a settings change to another bank gets that bank's accounts at the next start."""

from __future__ import annotations

import pytest

from kleline.bootstrap import build, system_accounts
from kleline.config import load_settings
from kleline.ledger import AccountConflict, NormalSide

from ..conftest import FakeClock

BNP_IBAN = "FR7630004000000000000000151"


def test_every_start_opens_kleline_s_own_accounts_for_the_configured_bank(database_url: str, clock: FakeClock) -> None:
    first = build(load_settings(database_url=database_url), clock=clock)
    try:
        wanted = system_accounts(first.own_account)
        codes = {account.code for account in wanted}
        assert {
            "kleline:commission",
            "kleline:suspense",
            "kleline:bad-debt",
            "bank:SOGEFRPP:safeguarding",
            "bank:SOGEFRPP:in-transit",
            "card:visa:receivable",
            "card:mastercard:receivable",
        } <= codes
        assert {account.code: account for account in first.ledger.accounts()} == {a.code: a for a in wanted}
    finally:
        first.close()
    again = build(load_settings(database_url=database_url), clock=clock)
    try:
        assert len(again.ledger.accounts()) == len(wanted)  # the same accounts, not opened twice
    finally:
        again.close()
    moved = build(load_settings(database_url=database_url, safeguarding_iban=BNP_IBAN), clock=clock)
    try:
        opened = {account.code for account in moved.ledger.accounts()}
        assert {"bank:BNPAFRPP:safeguarding", "bank:BNPAFRPP:in-transit", "bank:SOGEFRPP:in-transit"} <= opened
    finally:
        moved.close()


def test_an_own_account_opened_in_another_shape_stops_the_start(database_url: str, clock: FakeClock) -> None:
    kleline = build(load_settings(database_url=database_url), clock=clock)
    try:
        kleline.ledger.open_account("bank:BNPAFRPP:in-transit", "EUR", NormalSide.CREDIT)
    finally:
        kleline.close()
    with pytest.raises(AccountConflict, match="bank:BNPAFRPP:in-transit"):
        build(load_settings(database_url=database_url, safeguarding_iban=BNP_IBAN), clock=clock).close()
