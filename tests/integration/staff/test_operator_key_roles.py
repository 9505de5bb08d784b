"""Operator keys act in a role: a new key carries one, a key made before roles existed keeps every power, and making
or revoking a key is a staff act of its own (the power to manage staff, and a record in the trail)."""

import pytest

from kleline.db.engine import Database
from kleline.errors import ValidationError
from kleline.operators.service import (
    InvalidKey,
    UnknownOperatorKey,
    authenticate_actor,
    create_key,
    legacy_keys,
    list_keys,
    revoke_key,
)
from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.audit import AuditFilters, search, verify
from kleline.staff.roles import Power, Role

from ...operator_keys import OPERATOR, operator_key

ADMIN = StaffActor("staff", "st_admin", Role.ADMIN, "198.51.100.4")


def test_a_key_acts_in_its_role(db: Database) -> None:
    key = create_key(db, "nightly settlement", role=Role.FINANCE, actor=OPERATOR)
    actor = authenticate_actor(db, key.secret, "192.0.2.1")
    assert (actor.kind, actor.id, actor.role, actor.address) == ("key", str(key.id), Role.FINANCE, "192.0.2.1")
    assert actor.may(Power.RUN_MONEY)
    assert not actor.may(Power.DECIDE_MERCHANTS)


def test_a_key_without_a_role_keeps_every_power(db: Database) -> None:
    actor = authenticate_actor(db, operator_key(db, None, "from before roles"))
    assert actor.role is None
    assert all(actor.may(power) for power in Power)
    assert legacy_keys(db) == 1


def test_a_revoked_key_is_refused_and_no_longer_counted(db: Database) -> None:
    key = create_key(db, "gone", role=Role.SUPPORT, actor=OPERATOR)
    operator_key(db, None, "legacy")
    (legacy,) = [k for k in list_keys(db) if k.role is None]
    revoke_key(db, key.id, actor=OPERATOR)
    revoke_key(db, legacy.id, actor=OPERATOR)
    with pytest.raises(InvalidKey):
        authenticate_actor(db, key.secret)
    assert legacy_keys(db) == 0
    assert list_keys(db) == []
    assert [k.id for k in list_keys(db, include_revoked=True)] == [legacy.id, key.id]
    with pytest.raises(UnknownOperatorKey):
        revoke_key(db, key.id, actor=OPERATOR)  # already revoked: nothing to do, and nothing recorded


def test_making_and_revoking_a_key_is_recorded_never_its_secret(db: Database) -> None:
    key = create_key(db, " ops robot ", role=Role.FINANCE, actor=ADMIN)
    revoke_key(db, key.id, actor=ADMIN)
    revoked, made = search(db, AuditFilters(subject_type="operator_key")).records
    assert (made.action, made.subject_id, made.actor_id, made.role) == (
        "operator_key_created",
        str(key.id),
        "st_admin",
        Role.ADMIN,
    )
    assert made.after == {"label": "ops robot", "role": "finance"}
    assert (revoked.action, revoked.before, revoked.after) == (
        "operator_key_revoked",
        {"label": "ops robot", "role": "finance"},
        {"label": "ops robot", "role": "finance", "revoked": True},
    )
    assert key.secret not in repr(made) + repr(revoked)
    assert verify(db).records == 2


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.FINANCE, Role.SUPPORT])
def test_only_a_role_that_manages_staff_makes_or_revokes_keys(db: Database, role: Role) -> None:
    someone = StaffActor("key", "9", role)
    key = create_key(db, "kept", role=Role.SUPPORT, actor=ADMIN)
    with pytest.raises(RoleForbids):
        create_key(db, "more", role=Role.ADMIN, actor=someone)
    with pytest.raises(RoleForbids):
        revoke_key(db, key.id, actor=someone)
    assert [k.label for k in list_keys(db)] == ["kept"]
    assert verify(db).records == 1


def test_a_key_needs_a_label(db: Database) -> None:
    with pytest.raises(ValidationError) as refused:
        create_key(db, "  ", role=Role.SUPPORT, actor=OPERATOR)
    assert refused.value.param == "label"
    assert list_keys(db) == []
