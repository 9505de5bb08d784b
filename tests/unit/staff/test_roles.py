"""Who may do what: each role's powers, least privilege, and the keys made before roles kept whole."""

import pytest

from kleline.staff.actor import RoleForbids, StaffActor
from kleline.staff.roles import ROLE_POWERS, Power, Role, allows, parse_role


def test_every_role_may_read() -> None:
    assert all(allows(role, Power.READ) for role in Role)


def test_support_may_only_read() -> None:
    assert ROLE_POWERS[Role.SUPPORT] == {Power.READ}


@pytest.mark.parametrize(
    ("role", "power"),
    [
        (Role.COMPLIANCE, Power.DECIDE_MERCHANTS),
        (Role.COMPLIANCE, Power.VERIFY_CUSTOMERS),
        (Role.FINANCE, Power.RUN_MONEY),
        (Role.FINANCE, Power.RESOLVE_SUSPENSE),
        (Role.FINANCE, Power.MANAGE_RECEIVABLES),
        (Role.FINANCE, Power.EXPORT),
        (Role.ADMIN, Power.MANAGE_STAFF),
        (Role.ADMIN, Power.MANAGE_SETTINGS),
    ],
)
def test_each_power_belongs_to_its_role_only(role: Role, power: Power) -> None:
    assert allows(role, power)
    assert [other for other in Role if allows(other, power)] == [role]


def test_no_role_means_every_power() -> None:
    assert all(allows(None, power) for power in Power)


def test_an_actor_without_the_power_is_refused_with_the_power_named() -> None:
    support = StaffActor("staff", "st_1", Role.SUPPORT)
    with pytest.raises(RoleForbids, match="support role may not do this .*run_money"):
        support.require(Power.RUN_MONEY)
    support.require(Power.READ)


def test_role_names_are_parsed_leniently_and_refused_with_the_choices() -> None:
    assert parse_role(" Finance ") is Role.FINANCE
    with pytest.raises(ValueError, match="admin, compliance, finance, support"):
        parse_role("boss")
