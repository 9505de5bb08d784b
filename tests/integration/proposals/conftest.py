"""Fixtures of the four-eyes stories: Kleline on a fresh database with its own accounts open, and the people who
propose and approve (two finance keys, a compliance key, a support key, the command line's system user)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.staff.actor import StaffActor
from kleline.staff.audit import AuditFilters, AuditRecord, search
from kleline.staff.roles import Role

from ...conftest import FakeClock
from ...operator_keys import OPERATOR

ALICE = StaffActor("key", "1", Role.FINANCE, "203.0.113.1")
BOB = StaffActor("key", "2", Role.FINANCE, "203.0.113.2")
CAROL = StaffActor("key", "3", Role.COMPLIANCE, "203.0.113.3")
DAVE = StaffActor("key", "4", Role.COMPLIANCE, "203.0.113.4")
SUPPORT = StaffActor("key", "5", Role.SUPPORT)


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    """Kleline built on a migrated, empty database, with its own accounts open."""
    system = build(load_settings(database_url=database_url), clock=clock)
    open_system_accounts(system)
    try:
        yield system
    finally:
        system.close()


def trail(kleline: Kleline, **filters: str) -> list[AuditRecord]:
    """The staff audit trail's records matching ``filters``, oldest first, without the set-up's own acts (approving
    the shop, resolving what the set-up needs: made as ``OPERATOR``, the tests' command line)."""
    records = reversed(search(kleline.db, AuditFilters(**filters), limit=100).records)
    return [r for r in records if (r.actor_kind, r.actor_id) != (OPERATOR.kind, OPERATOR.id)]


def kept(actor: StaffActor) -> StaffActor:
    """An actor as a proposal keeps it: who and in which role, not from where (the audit trail says that)."""
    return replace(actor, address=None)
