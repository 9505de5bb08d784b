"""Operator keys act in a role: a new key carries one, a key made before roles existed keeps every power."""

import pytest

from kleline.db.engine import Database
from kleline.operators.service import InvalidKey, authenticate_actor, create_key, revoke_key
from kleline.staff.roles import Power, Role


def test_a_key_acts_in_its_role(db: Database) -> None:
    key = create_key(db, "nightly settlement", role=Role.FINANCE)
    actor = authenticate_actor(db, key.secret, "192.0.2.1")
    assert (actor.kind, actor.id, actor.role, actor.address) == ("key", str(key.id), Role.FINANCE, "192.0.2.1")
    assert actor.may(Power.RUN_MONEY)
    assert not actor.may(Power.DECIDE_MERCHANTS)


def test_a_key_without_a_role_keeps_every_power(db: Database) -> None:
    actor = authenticate_actor(db, create_key(db, "from before roles").secret)
    assert actor.role is None
    assert all(actor.may(power) for power in Power)


def test_a_revoked_key_is_refused(db: Database) -> None:
    key = create_key(db, "gone", role=Role.SUPPORT)
    revoke_key(db, key.id)
    with pytest.raises(InvalidKey):
        authenticate_actor(db, key.secret)
