"""A merchant's team on each backend: invitations (single use, 72 hours, stored hashed), roles and the last owner,
removal, one merchant's people never reaching another's, and the audit trail every action writes."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest

from kleline.errors import KlelineError, ValidationError
from kleline.merchant_users import (
    AlreadyAMember,
    InvalidMerchantUser,
    InvitationUnusable,
    LastOwner,
    NotAllowed,
    UnknownMerchantUser,
    acceptance_problems,
)
from kleline.merchants import UnknownMerchant

from ...operator_keys import OPERATOR
from .conftest import PASSWORD, Team, actor


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_an_operator_invites_an_owner_who_accepts_with_a_name_and_a_password(team: Team) -> None:
    invited = team.users.invite(team.shop, " Ada@Example.ORG ", "owner", by=OPERATOR)
    assert invited.url.startswith("https://kleline.example/dashboard/invitations/")
    token = token_of(invited.url)
    assert len(token) >= 43 and invited.invitation.email == "ada@example.org"
    assert invited.invitation.expires_at == team.clock.now + timedelta(hours=72)
    with team.db.transaction(write=False) as tx:
        [row] = tx.fetchall("SELECT token_hash, invited_by FROM merchant_invitations")
    assert bytes(row[0]) == hashlib.sha256(token.encode()).digest() and row[1] is None  # only the digest is kept
    assert team.users.invitation(token).id == invited.invitation.id

    team.clock.advance(seconds=1)
    ada = team.users.accept(token, "  Ada Lovelace ", PASSWORD, address="198.51.100.4")
    assert (ada.email, ada.name, ada.role, ada.merchant_id) == ("ada@example.org", "Ada Lovelace", "owner", team.shop)
    assert not ada.authenticator and ada.refund_limit is None

    with pytest.raises(InvitationUnusable) as used:
        team.users.accept(token, "Someone Else", PASSWORD)
    assert used.value.reason == "accepted"
    trail = team.users.activity(actor(ada))
    assert [(r.action, r.user_id, r.address) for r in trail] == [
        ("invitation_accepted", ada.id, "198.51.100.4"),
        ("invitation_created", None, None),  # by an operator, at the command line
    ]
    assert trail[1].detail == {"email": "ada@example.org", "role": "owner", "refund_limit": None}


def test_an_invitation_expires_after_72_hours(team: Team) -> None:
    token = token_of(team.users.invite(team.shop, "ada@example.org", "accountant", by=OPERATOR).url)
    team.clock.advance(hours=72)
    with pytest.raises(InvitationUnusable) as expired:
        team.users.accept(token, "Ada", PASSWORD)
    assert expired.value.reason == "expired" and expired.value.status == 404
    with pytest.raises(InvitationUnusable) as unknown:
        team.users.invitation("not-a-token")
    assert unknown.value.reason == "unknown"


def test_a_new_invitation_to_the_same_address_withdraws_the_older_one(team: Team) -> None:
    owner = team.member("owner@example.org")
    first = token_of(team.users.invite(team.shop, "ada@example.org", "support", 2000, by=actor(owner)).url)
    second = team.users.invite(team.shop, "ada@example.org", "accountant", by=actor(owner))
    with pytest.raises(InvitationUnusable) as withdrawn:
        team.users.invitation(first)
    assert withdrawn.value.reason == "withdrawn"
    assert [i.id for i in team.users.invitations(actor(owner))] == [second.invitation.id]
    assert team.users.accept(token_of(second.url), "Ada", PASSWORD).role == "accountant"


def test_only_an_owner_of_the_merchant_invites(team: Team) -> None:
    owner = team.member("owner@example.org")
    accountant = team.member("accountant@example.org", "accountant")
    stranger = team.member("stranger@example.org", merchant=team.other_shop)
    with pytest.raises(NotAllowed):
        team.users.invite(team.shop, "ada@example.org", "support", by=actor(accountant))
    with pytest.raises(NotAllowed):
        team.users.invite(team.shop, "ada@example.org", "owner", by=actor(stranger))  # another merchant's owner
    with pytest.raises(UnknownMerchant):
        team.users.invite("mer_unknown", "ada@example.org", "owner", by=OPERATOR)
    with pytest.raises(AlreadyAMember):
        team.users.invite(team.shop, "ACCOUNTANT@example.org", "support", by=actor(owner))
    assert team.users.invitations(actor(owner)) == []


def test_roles_emails_and_refund_limits_are_checked(team: Team) -> None:
    for role, limit, param in (
        ("admin", None, "role"),
        ("accountant", 500, "refund_limit"),
        ("owner", 0, "refund_limit"),
        ("support", -1, "refund_limit"),
        ("support", 100_000_001, "refund_limit"),
    ):
        with pytest.raises(InvalidMerchantUser) as refused:
            team.users.invite(team.shop, "ada@example.org", role, limit, by=OPERATOR)
        assert refused.value.param == param, (role, limit)
    with pytest.raises(InvalidMerchantUser) as malformed:
        team.users.invite(team.shop, "not an address", "owner", by=OPERATOR)
    assert malformed.value.param == "email"
    support = team.member("support@example.org", "support")
    assert support.refund_limit == 0  # nothing may be refunded until an owner sets a limit
    assert team.member("limited@example.org", "support", refund_limit=5000).refund_limit == 5000


def test_accepting_reports_every_problem_and_refuses_an_address_that_has_an_account(team: Team) -> None:
    problems = acceptance_problems(" ", "short")
    assert [p.param for p in problems] == ["name", "password"]
    team.member("ada@example.org", merchant=team.other_shop)
    token = token_of(team.users.invite(team.shop, "ada@example.org", "owner", by=OPERATOR).url)
    with pytest.raises(ValidationError) as short:
        team.users.accept(token, "Ada", "short")  # the customers' password rules
    assert short.value.param == "password"
    with pytest.raises(AlreadyAMember):
        team.users.accept(token, "Ada", PASSWORD)  # one dashboard account per address, across merchants


def test_an_owner_changes_roles_but_the_last_owner_keeps_its_own(team: Team) -> None:
    owner = team.member("owner@example.org")
    grace = team.member("grace@example.org", "accountant")
    with pytest.raises(LastOwner):
        team.users.change_role(actor(owner), owner.id, "accountant")
    with pytest.raises(LastOwner):
        team.users.remove(actor(owner), owner.id)
    team.clock.advance(seconds=1)
    support = team.users.change_role(actor(owner), grace.id, "support", 2500)
    assert (support.role, support.refund_limit) == ("support", 2500)
    assert team.users.get(actor(owner), grace.id).refund_limit == 2500
    with pytest.raises(NotAllowed):
        team.users.change_role(actor(support), owner.id, "support")
    team.clock.advance(seconds=1)
    team.users.change_role(actor(owner), grace.id, "owner")
    team.clock.advance(seconds=1)
    demoted = team.users.change_role(actor(owner), owner.id, "accountant")  # two owners: one may step down
    assert demoted.role == "accountant"
    with pytest.raises(NotAllowed):  # read again under the lock: no longer an owner
        team.users.change_role(actor(owner), grace.id, "support")
    trail = team.users.activity(actor(team.users.get(actor(demoted), grace.id)))
    changes = [r.detail for r in trail if r.action == "user_role_changed"]
    assert changes[0] == {"email": "owner@example.org", "from": "owner", "to": "accountant", "refund_limit": None}
    assert changes[-1] == {"email": "grace@example.org", "from": "accountant", "to": "support", "refund_limit": 2500}


def test_a_removed_user_is_gone_from_the_team_but_stays_named_in_the_trail(team: Team) -> None:
    owner = team.member("owner@example.org")
    grace = team.member("grace@example.org", "support")
    session = team.sign_in.check_password(None, "grace@example.org", PASSWORD)
    assert session.signed_in
    team.users.remove(actor(owner), grace.id)
    assert [u.id for u in team.users.list(actor(owner))] == [owner.id]
    assert team.sign_in.find(session.token) is None  # its sessions ended
    with pytest.raises(KlelineError) as refused:
        team.sign_in.check_password(None, "grace@example.org", PASSWORD)
    assert refused.value.code == "invalid_credentials"
    with pytest.raises(UnknownMerchantUser):
        team.users.remove(actor(owner), grace.id)
    [removal] = [r for r in team.users.activity(actor(owner)) if r.action == "user_removed"]
    assert (removal.user_email, removal.object_id) == ("owner@example.org", grace.id)
    [signed_in] = [r for r in team.users.activity(actor(owner)) if r.action == "signed_in"]
    assert (signed_in.user_name, signed_in.user_email) == ("Grace", "grace@example.org")
    again = team.member("grace@example.org", "accountant")  # the address may be invited anew
    assert again.id != grace.id


def test_one_merchants_people_never_reach_anothers(team: Team) -> None:
    owner = team.member("owner@example.org")
    other_owner = team.member("boss@example.org", merchant=team.other_shop)
    theirs = team.member("theirs@example.org", "support", merchant=team.other_shop)
    invitation = team.users.invite(team.other_shop, "new@example.org", "support", by=actor(other_owner))
    with pytest.raises(UnknownMerchantUser):
        team.users.get(actor(owner), theirs.id)
    with pytest.raises(UnknownMerchantUser):
        team.users.change_role(actor(owner), theirs.id, "owner")
    with pytest.raises(UnknownMerchantUser):
        team.users.remove(actor(owner), theirs.id)
    with pytest.raises(UnknownMerchantUser):
        team.users.withdraw(actor(owner), invitation.invitation.id)
    assert {u.id for u in team.users.list(actor(owner))} == {owner.id}
    assert team.users.invitations(actor(owner)) == []
    assert all(r.merchant_id == team.shop for r in team.users.activity(actor(owner)))
    assert team.users.get(actor(theirs), theirs.id).role == "support"


def test_an_owner_withdraws_an_invitation(team: Team) -> None:
    owner = team.member("owner@example.org")
    team.clock.advance(seconds=1)
    invited = team.users.invite(team.shop, "ada@example.org", "accountant", by=actor(owner))
    team.clock.advance(seconds=1)
    team.users.withdraw(actor(owner), invited.invitation.id)
    with pytest.raises(InvitationUnusable):
        team.users.accept(token_of(invited.url), "Ada", PASSWORD)
    with pytest.raises(UnknownMerchantUser):
        team.users.withdraw(actor(owner), invited.invitation.id)
    actions = [r.action for r in team.users.activity(actor(owner))]
    assert actions[:2] == ["invitation_withdrawn", "invitation_created"]


def test_only_owners_read_the_trail_newest_first_page_by_page(team: Team) -> None:
    owner = team.member("owner@example.org")
    accountant = team.member("accountant@example.org", "accountant")
    support = team.member("support@example.org", "support")
    for reader in (accountant, support):
        with pytest.raises(NotAllowed):
            team.users.activity(actor(reader))
    for number in range(5):
        team.clock.advance(seconds=1)
        team.users.record(actor(owner), "test_action", f"obj_{number}", {"n": number})
    first = team.users.activity(actor(owner), limit=3)
    assert [r.object_id for r in first] == ["obj_4", "obj_3", "obj_2"]
    rest = team.users.activity(actor(owner), limit=100, before=(first[-1].at, first[-1].id))
    assert [r.object_id for r in rest][:2] == ["obj_1", "obj_0"]
    assert rest[0].detail == {"n": 1} and rest[0].address == "203.0.113.7"


def test_two_owners_demoting_each_other_at_once_leave_one_owner(team: Team) -> None:
    ada = team.member("ada@example.org")
    grace = team.member("grace@example.org")
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def demote(who: object, whom: str) -> None:
        start.wait()
        try:
            team.users.change_role(actor(who), whom, "accountant")  # type: ignore[arg-type]
            outcomes.append("demoted")
        except (LastOwner, NotAllowed) as refused:
            outcomes.append(refused.code)

    threads = [
        threading.Thread(target=demote, args=(ada, grace.id)),
        threading.Thread(target=demote, args=(grace, ada.id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "demoted" and len(outcomes) == 2 and outcomes.count("demoted") == 1
    roles = sorted(u.role for u in team.users.list(actor(ada)))
    assert roles == ["accountant", "owner"]
