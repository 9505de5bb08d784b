"""An operator sets a customer's verification level, saying why: the staff audit trail keeps the level before and
after and the reason; the level the customer has already changes nothing; a role that does not verify customers is
refused with nothing written; every problem with the level and the reason is named at once."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database
from kleline.errors import NotFound
from kleline.ledger import Ledger
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.audit import AuditFilters, search
from kleline.staff.roles import Role
from kleline.wallet.customers import Customers, InvalidCustomer, level_problems

from ...conftest import FakeClock

COMPLIANCE = StaffActor("key", "1", Role.COMPLIANCE)
SUPPORT = StaffActor("key", "2", Role.SUPPORT)


@pytest.fixture
def customers(db: Database, ledger: Ledger, clock: FakeClock) -> Customers:
    return Customers(db, ledger, clock=clock)


def _trail(db: Database) -> list[tuple[str, object, object]]:
    return [(r.action, r.before, r.after) for r in reversed(search(db, AuditFilters(), limit=50).records)]


def test_the_level_changes_with_its_reason_once_and_only_for_a_role_that_verifies(
    customers: Customers, db: Database
) -> None:
    ada = customers.sign_up("ada@example.org", "correct horse battery staple", "Ada Lovelace")
    with pytest.raises(RoleForbids):
        customers.set_level(ada.id, "verified", actor=SUPPORT, reason="Passport seen")
    assert _trail(db) == [] and customers.get(ada.id).kyc_level == "unverified"
    assert customers.set_level(ada.id, "verified", actor=COMPLIANCE, reason="  Passport\nseen ").kyc_level == "verified"
    assert customers.set_level(ada.id, "verified", actor=COMPLIANCE, reason="again").kyc_level == "verified"
    customers.set_level(ada.id, "unverified", actor=COMPLIANCE, reason="Passport expired")
    assert _trail(db) == [
        ("customer_verified", {"kyc_level": "unverified"}, {"kyc_level": "verified", "reason": "Passport seen"}),
        ("customer_unverified", {"kyc_level": "verified"}, {"kyc_level": "unverified", "reason": "Passport expired"}),
    ]
    with pytest.raises(NotFound):
        customers.set_level("cus_nobody", "verified", actor=COMPLIANCE, reason="x")


def test_every_problem_with_the_level_and_the_reason_is_named_at_once(customers: Customers) -> None:
    problems = level_problems("gold", " ")
    assert [(type(p), p.param) for p in problems] == [(InvalidCustomer, "level"), (InvalidCustomer, "reason")]
    assert [p.param for p in level_problems("verified", "x" * 501)] == ["reason"]
    assert [p.param for p in level_problems("verified", "bell \x07")] == ["reason"]
    assert level_problems("unverified", "fine") == []
    with pytest.raises(InvalidCustomer):
        customers.set_level("cus_x", "gold", actor=COMPLIANCE, reason="x")
