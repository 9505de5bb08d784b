"""Each operator act leaves exactly one record in the staff audit trail, in its transaction: a refused act (a role
without the power, a rule broken) leaves none, and a repeated act that changes nothing records nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kleline.bootstrap import Kleline, build, open_system_accounts
from kleline.config import load_settings
from kleline.merchants import StatusConflict
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.audit import AuditFilters, AuditRecord, search, verify
from kleline.staff.roles import Role

from ...conftest import FakeClock
from ..reconciliation.conftest import credit, statement

COMPLIANCE = StaffActor("key", "3", Role.COMPLIANCE, "192.0.2.3")
ADMIN = StaffActor("staff", "st_admin", Role.ADMIN, "192.0.2.4")
FINANCE = StaffActor("key", "5", Role.FINANCE, "192.0.2.5")
SUPPORT = StaffActor("key", "6", Role.SUPPORT, "192.0.2.6")
IBAN = "FR1420041010050500013M02606"


@pytest.fixture
def kleline(database_url: str, clock: FakeClock) -> Iterator[Kleline]:
    system = build(load_settings(database_url=database_url), clock=clock)
    open_system_accounts(system)
    try:
        yield system
    finally:
        system.close()


def records(kleline: Kleline, **filters: Any) -> list[AuditRecord]:
    """The trail, oldest first."""
    return search(kleline.db, AuditFilters(**filters), limit=100).records[::-1]


def test_a_merchant_s_life_is_recorded_act_by_act(kleline: Kleline) -> None:
    merchants = kleline.merchants
    shop, secret = merchants.register(
        name="Librairie", email="shop@example.fr", iban=IBAN, fee_bps=320, actor=COMPLIANCE
    )
    merchants.approve(shop.id, actor=COMPLIANCE)
    merchants.suspend(shop.id, "Chargebacks", actor=COMPLIANCE)
    merchants.approve(shop.id, actor=COMPLIANCE)
    key = merchants.create_key(shop.id, actor=COMPLIANCE)
    merchants.revoke_key(shop.id, key.key.id, actor=COMPLIANCE)
    merchants.describe(shop.id, description="Books", website=None, actor=ADMIN)
    other, _ = merchants.register(name="Autre", email="autre@example.fr", iban=IBAN)  # the public: no staff act
    merchants.refuse(other.id, "No Kbis extract", actor=COMPLIANCE)

    trail = records(kleline)
    assert [(r.action, r.subject_id) for r in trail] == [
        ("merchant_registered", shop.id),
        ("merchant_approved", shop.id),
        ("merchant_suspended", shop.id),
        ("merchant_reactivated", shop.id),
        ("merchant_key_created", shop.id),
        ("merchant_key_revoked", shop.id),
        ("merchant_profile_changed", shop.id),
        ("merchant_refused", other.id),
    ]
    assert trail[0].after == {"status": "pending", "fee_bps": 320, "iban_last4": "2606"}
    assert trail[2].before == {"status": "active", "status_reason": None}
    assert trail[2].after == {"status": "suspended", "status_reason": "Chargebacks"}
    assert trail[4].after == {"key_id": key.key.id}
    assert trail[6].before == {"description": None, "website": None}
    assert (trail[6].actor_id, trail[6].role) == ("st_admin", Role.ADMIN)
    assert (trail[7].before, trail[7].after) == (
        {"status": "pending", "status_reason": None},
        {"status": "refused", "status_reason": "No Kbis extract"},
    )
    written = repr(trail)
    assert secret not in written and key.secret not in written and IBAN not in written
    assert verify(kleline.db).records == 8


def test_a_refused_act_records_nothing_and_changes_nothing(kleline: Kleline) -> None:
    shop, _ = kleline.merchants.register(name="Librairie", email="shop@example.fr", iban=IBAN)
    for actor in (FINANCE, SUPPORT, ADMIN):
        with pytest.raises(RoleForbids):
            kleline.merchants.approve(shop.id, actor=actor)
    with pytest.raises(RoleForbids):
        kleline.merchants.register(name="B", email="b@example.fr", iban=IBAN, fee_bps=300, actor=ADMIN)
    with pytest.raises(StatusConflict):
        kleline.merchants.suspend(shop.id, actor=COMPLIANCE)  # pending: nothing to suspend
    with pytest.raises(RoleForbids):
        kleline.malls.create("Galerie", "galerie", actor=COMPLIANCE)
    with pytest.raises(RoleForbids):
        kleline.settlement.run(actor=COMPLIANCE)
    with pytest.raises(RoleForbids):
        kleline.customers.verify("nobody@example.org", actor=FINANCE)
    assert kleline.merchants.get(shop.id).status == "pending"
    assert kleline.malls.list() == []
    assert kleline.settlement.list_runs() == ([], False)
    assert records(kleline) == []


def test_malls_customers_and_invitations_are_recorded(kleline: Kleline) -> None:
    shop, _ = kleline.merchants.register(name="Librairie", email="shop@example.fr", iban=IBAN)
    mall = kleline.malls.create("Galerie du Bac", "galerie-du-bac", actor=ADMIN)
    kleline.malls.add_merchant(mall.id, shop.id, actor=ADMIN)
    kleline.malls.remove_merchant(mall.id, shop.id, actor=ADMIN)
    customer = kleline.customers.sign_up("ada@example.org", "correct horse battery", "Ada")
    kleline.customers.verify("ADA@example.org", actor=COMPLIANCE)
    invited = kleline.merchant_users.invite(shop.id, "owner@example.org", "owner", by=COMPLIANCE)

    trail = records(kleline)
    assert [(r.action, r.subject_type, r.subject_id) for r in trail] == [
        ("mall_created", "mall", mall.id),
        ("mall_merchant_added", "mall", mall.id),
        ("mall_merchant_removed", "mall", mall.id),
        ("customer_verified", "customer", customer.id),
        ("merchant_user_invited", "merchant", shop.id),
    ]
    assert trail[0].after == {"name": "Galerie du Bac", "slug": "galerie-du-bac"}
    assert trail[2].before == {"merchant_id": shop.id}
    assert (trail[3].before, trail[3].after) == ({"kyc_level": "unverified"}, {"kyc_level": "verified"})
    assert trail[4].after == {"invitation_id": invited.invitation.id, "role": "owner"}
    assert "owner@example.org" not in repr(trail)  # the trail is kept for ever: no email in it
    with pytest.raises(RoleForbids):
        kleline.merchant_users.invite(shop.id, "other@example.org", "owner", by=FINANCE)
    assert len(records(kleline)) == 5


def test_money_runs_and_imports_are_recorded_once_and_their_replays_not_at_all(kleline: Kleline) -> None:
    run = kleline.settlement.run(actor=FINANCE)
    kleline.settlement.run(actor=FINANCE)  # the same period, complete: answered, nothing done
    collected = kleline.collections.runs.run(actor=FINANCE)
    document = statement(kleline, credit("NTRY-1", 700, "X"))
    imported = kleline.reconciliation.import_document(document, actor=FINANCE)
    kleline.reconciliation.import_document(document, actor=FINANCE)  # a replay writes nothing

    trail = records(kleline)
    assert [(r.action, r.subject_type, r.subject_id) for r in trail] == [
        ("settlement_run_started", "settlement_run", run.id),
        ("collection_run_started", "collection_run", collected.id),
        ("bank_statement_imported", "bank_statement", imported.statements[0].id),
    ]
    assert trail[0].after == {"period": "2026-01-15", "currency": "EUR", "status": "running"}
    assert trail[1].after == {"collection_count": 0, "total": 0, "currency": "EUR"}
    assert trail[2].after == {"statements": [imported.statements[0].id], "lines": 1}
    assert {(r.actor_kind, r.actor_id, r.role) for r in trail} == {("key", "5", Role.FINANCE)}
