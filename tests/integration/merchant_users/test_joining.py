"""Joining from the join form on each backend: the shop (pending, in the operator's queue) and its first owner in
one transaction, signed in up to the authenticator an owner must set up; every problem at once; nothing kept of an
application that fails; no secret key made."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kleline.errors import KlelineError
from kleline.merchant_users import AlreadyAMember, MerchantJoining
from kleline.merchants import Application, Malls

from ...operator_keys import OPERATOR
from ..helpers import count_rows
from .conftest import IBAN, PASSWORD, Team, actor

_TABLES = ("merchants", "merchant_keys", "mall_merchants", "merchant_users", "merchant_sessions", "merchant_audit")

APPLICATION = Application(
    name="Papeterie Moreau SARL",
    email="Camille@Papeterie-Moreau.example",
    iban=IBAN,
    siret="73282932000074",
    vat_number="FR44732829320",
    website="https://papeterie-moreau.example",
    category="stationery",
    description="Notebooks, fountain pens and ink",
    contact_name="Camille Moreau",
    contact_phone="+33 1 23 45 67 89",
)


@pytest.fixture
def joining(team: Team) -> MerchantJoining:
    return MerchantJoining(team.db, team.merchants, team.sign_in)


def _counts(team: Team) -> list[int]:
    return [count_rows(team.db, table) for table in _TABLES]


def test_a_shop_joins_pending_with_its_owner_who_must_set_up_an_authenticator(
    team: Team, joining: MerchantJoining
) -> None:
    mall = Malls(team.db, clock=team.clock).create("Passage Kléber", "passage-kleber", actor=OPERATOR)
    keys_before = count_rows(team.db, "merchant_keys")
    anonymous = team.sign_in.start()
    joined = joining.join(
        replace(APPLICATION, mall_ids=(mall.id,)), PASSWORD, previous=anonymous, address="198.51.100.4"
    )

    merchant = team.merchants.get(joined.merchant.id)
    assert merchant == joined.merchant
    assert (merchant.status, merchant.email, merchant.vat_number, merchant.contact_phone) == (
        "pending",
        "camille@papeterie-moreau.example",
        "FR44732829320",
        "+33123456789",
    )
    assert merchant.mall_ids == (mall.id,)
    assert merchant.id in [m.id for m in team.merchants.list(status="pending")]  # in the operator's queue
    assert count_rows(team.db, "merchant_keys") == keys_before  # no secret made that no page would show

    owner = joined.owner
    assert (owner.merchant_id, owner.email, owner.name, owner.role, owner.authenticator) == (
        merchant.id,
        "camille@papeterie-moreau.example",
        "Camille Moreau",
        "owner",
        False,
    )
    session = joined.session
    assert (session.stage, session.user) == ("second_factor", owner)
    assert team.sign_in.find(anonymous.token) is None  # the session before is gone (fixation)
    assert team.sign_in.next_step(team.sign_in.find(session.token) or session) == "enrol"
    # The password chosen is the owner's: it signs in with it (and is asked for its authenticator).
    assert team.sign_in.check_password(None, "camille@papeterie-moreau.example", PASSWORD).stage == "second_factor"
    [record] = [r for r in team.users.activity(actor(owner)) if r.action == "merchant_joined"]
    assert (record.user_id, record.object_id, record.address) == (owner.id, merchant.id, "198.51.100.4")
    assert record.detail == {"name": "Papeterie Moreau SARL", "siret": "73282932000074", "vat_number": "FR44732829320"}


def test_every_problem_of_the_form_comes_at_once_and_nothing_is_kept(team: Team, joining: MerchantJoining) -> None:
    before = _counts(team)
    bad = Application(name="", email="nope", iban="FR00", vat_number="FR1", contact_phone="12", mall_ids=("mall_x",))
    problems = joining.problems(bad, "short")
    assert [(p.param, p.code) for p in problems] == [
        ("name", "validation_error"),
        ("siret", "validation_error"),
        ("vat_number", "invalid_vat_number"),
        ("iban", "invalid_iban"),
        ("contact_name", "validation_error"),
        ("email", "validation_error"),
        ("contact_phone", "validation_error"),
        ("website", "validation_error"),
        ("category", "validation_error"),
        ("description", "validation_error"),
        ("mall_ids", "validation_error"),
        ("password", "validation_error"),
    ]
    with pytest.raises(KlelineError) as refused:
        joining.join(bad, "short")
    assert refused.value.param == "name"
    assert joining.problems(APPLICATION, PASSWORD) == []
    assert _counts(team) == before


@pytest.mark.parametrize(
    ("change", "password", "param"),
    [
        ({"vat_number": "FR40303265045"}, PASSWORD, "vat_number"),  # another company's than the SIRET's
        ({"mall_ids": ("mall_gone",)}, PASSWORD, "mall_ids"),
        ({}, "too short", "password"),
    ],
)
def test_a_refused_application_leaves_no_shop_and_no_owner(
    team: Team, joining: MerchantJoining, change: dict[str, object], password: str, param: str
) -> None:
    before = _counts(team)
    with pytest.raises(KlelineError) as refused:
        joining.join(replace(APPLICATION, **change), password)  # type: ignore[arg-type]
    assert refused.value.param == param
    assert _counts(team) == before


def test_an_address_that_already_has_a_dashboard_account_cannot_join_again(
    team: Team, joining: MerchantJoining
) -> None:
    team.member("camille@papeterie-moreau.example", "accountant")
    before = _counts(team)
    [problem] = joining.problems(APPLICATION, PASSWORD)
    assert (type(problem), problem.param, problem.status) == (AlreadyAMember, "email", 409)
    with pytest.raises(AlreadyAMember):
        joining.join(APPLICATION, PASSWORD)
    assert _counts(team) == before


def test_the_same_shop_joining_twice_keeps_the_first_only(team: Team, joining: MerchantJoining) -> None:
    joining.join(APPLICATION, PASSWORD)
    before = _counts(team)
    with pytest.raises(AlreadyAMember):
        joining.join(replace(APPLICATION, email="CAMILLE@papeterie-moreau.example"), PASSWORD)
    assert _counts(team) == before
