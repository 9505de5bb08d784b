"""Merchants' use cases on each backend: registration, approval and its ledger account, suspension, keys."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from kleline.db.engine import Database
from kleline.errors import KlelineError
from kleline.ledger import Ledger, NormalSide, UnknownAccount
from kleline.merchants import (
    InvalidIban,
    InvalidMerchant,
    InvalidMerchantKey,
    Malls,
    Merchant,
    MerchantNotActive,
    Merchants,
    StatusConflict,
    UnknownKey,
    UnknownMerchant,
    balance_account,
)

from ...conftest import FakeClock
from ...operator_keys import OPERATOR
from ..helpers import count_rows

LA_BANQUE_POSTALE = "FR1420041010050500013M02606"
SIRET = "73282932000074"


@pytest.fixture
def merchants(db: Database, ledger: Ledger, clock: FakeClock) -> Merchants:
    return Merchants(db, ledger, clock=clock)


@pytest.fixture
def malls(db: Database, clock: FakeClock) -> Malls:
    return Malls(db, clock=clock)


def register(merchants: Merchants, **fields: Any) -> tuple[Merchant, str]:
    values: dict[str, Any] = {"name": "Librairie du Bac", "email": "contact@librairie-du-bac.fr"}
    values["iban"] = LA_BANQUE_POSTALE
    values.update(fields)
    return merchants.register(**values)


def test_a_registered_merchant_is_pending_with_a_working_key_but_may_not_take_payments(merchants: Merchants) -> None:
    merchant, secret = register(merchants, siret="732 829 320 00074", website="https://librairie-du-bac.fr")
    assert merchant.id.startswith("mer_")
    assert (merchant.status, merchant.fee_bps, merchant.bic, merchant.siret) == ("pending", 350, "PSSTFRPP", SIRET)
    assert secret.startswith("sk_") and len(secret) > 40
    assert merchants.authenticate(secret) == merchant.id
    assert merchants.get(merchant.id) == merchant
    with pytest.raises(MerchantNotActive, match="awaits approval") as caught:
        merchants.require_active(merchant.id)
    assert (caught.value.status, caught.value.code) == (403, "merchant_not_active")


def test_keys_are_stored_as_digests_only(merchants: Merchants, db: Database) -> None:
    merchant, secret = register(merchants)
    with db.transaction(write=False) as tx:
        rows = tx.fetchall("SELECT key_hash, last4 FROM merchant_keys WHERE merchant_id = :m", {"m": merchant.id})
    assert [(bytes(row[0]), row[1]) for row in rows] == [(hashlib.sha256(secret.encode()).digest(), secret[-4:])]


def test_approval_opens_the_balance_account_and_allows_payments(merchants: Merchants, ledger: Ledger) -> None:
    merchant, _ = register(merchants)
    with pytest.raises(UnknownAccount):
        ledger.account(balance_account(merchant.id))
    approved = merchants.approve(merchant.id, actor=OPERATOR)
    assert approved.status == "active"
    account = ledger.account(f"merchant:{merchant.id}:balance")
    assert (account.currency, account.normal_side, account.floor) == ("EUR", NormalSide.CREDIT, 0)
    assert merchants.require_active(merchant.id) == approved


def test_a_suspended_merchant_may_not_take_payments_until_approved_again(merchants: Merchants, ledger: Ledger) -> None:
    merchant, secret = register(merchants)
    merchants.approve(merchant.id, actor=OPERATOR)
    assert merchants.suspend(merchant.id, actor=OPERATOR).status == "suspended"
    with pytest.raises(MerchantNotActive, match="suspended"):
        merchants.require_active(merchant.id)
    assert merchants.authenticate(secret) == merchant.id  # it may still read its own data
    assert merchants.approve(merchant.id, actor=OPERATOR).status == "active"
    assert merchants.require_active(merchant.id).status == "active"
    assert [a.code for a in ledger.accounts()] == [balance_account(merchant.id)]


@pytest.mark.parametrize(
    ("steps", "action", "status"),
    [([], "suspend", "pending"), (["approve"], "approve", "active"), (["approve", "suspend"], "suspend", "suspended")],
)
def test_other_transitions_are_refused_and_say_the_status(
    merchants: Merchants, ledger: Ledger, steps: list[str], action: str, status: str
) -> None:
    merchant, _ = register(merchants)
    for step in steps:
        getattr(merchants, step)(merchant.id, actor=OPERATOR)
    with pytest.raises(StatusConflict) as caught:
        getattr(merchants, action)(merchant.id, actor=OPERATOR)
    assert (caught.value.status, caught.value.code) == (409, "invalid_status_transition")
    assert caught.value.extensions() == {"merchant_status": status}
    assert f"is {status}: only " in caught.value.detail and caught.value.detail.endswith(
        {"approve": "can be approved", "suspend": "can be suspended"}[action]
    )
    assert merchants.get(merchant.id).status == status
    if not steps:
        assert ledger.accounts() == []


def test_two_approvals_at_once_approve_once(merchants: Merchants) -> None:
    merchant, _ = register(merchants)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def approve() -> None:
        barrier.wait()
        try:
            outcomes.append(merchants.approve(merchant.id, actor=OPERATOR).status)
        except StatusConflict as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["active", "invalid_status_transition"]


@pytest.mark.parametrize("call", ["get", "approve", "suspend", "create_key", "keys", "require_active"])
def test_an_unknown_merchant_is_not_found(merchants: Merchants, call: str) -> None:
    with pytest.raises(UnknownMerchant) as caught:
        acting = {"actor": OPERATOR} if call in ("approve", "suspend") else {}
        getattr(merchants, call)("mer_unknown", **acting)
    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_several_keys_live_side_by_side_and_a_revoked_one_stops_working(merchants: Merchants, clock: FakeClock) -> None:
    merchant, first = register(merchants)
    clock.advance(seconds=1)
    second = merchants.create_key(merchant.id)
    assert merchants.authenticate(second.secret) == merchant.id
    keys = merchants.keys(merchant.id)
    assert [k.id for k in keys][0] == second.key.id and len(keys) == 2
    first_id = keys[1].id
    merchants.revoke_key(merchant.id, first_id)
    merchants.revoke_key(merchant.id, first_id)  # twice is harmless
    with pytest.raises(InvalidMerchantKey) as caught:
        merchants.authenticate(first)
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert merchants.authenticate(second.secret) == merchant.id
    assert merchants.keys(merchant.id)[1].revoked_at == clock.now


def test_a_merchant_cannot_revoke_another_merchants_key(merchants: Merchants) -> None:
    mine, _ = register(merchants)
    theirs, their_secret = register(merchants, name="Autre boutique")
    their_key = merchants.keys(theirs.id)[0].id
    with pytest.raises(UnknownKey):
        merchants.revoke_key(mine.id, their_key)
    assert merchants.authenticate(their_secret) == theirs.id


@pytest.mark.parametrize("secret", ["sk_forged", "op_something", "ct_something", ""])
def test_a_forged_or_foreign_key_does_not_authenticate(merchants: Merchants, secret: str) -> None:
    register(merchants)
    with pytest.raises(InvalidMerchantKey):
        merchants.authenticate(secret)


def test_a_refused_registration_writes_nothing(merchants: Merchants, db: Database, ledger: Ledger) -> None:
    with pytest.raises(InvalidIban):
        register(merchants, iban="FR1420041010050500013M02607")
    with pytest.raises(InvalidMerchant) as caught:
        register(merchants, mall_ids=["mall_nowhere"])
    assert caught.value.param == "mall_ids"
    assert [count_rows(db, t) for t in ("merchants", "merchant_keys", "mall_merchants")] == [0, 0, 0]
    assert ledger.accounts() == []


def test_registration_places_the_merchant_in_its_malls(merchants: Merchants, malls: Malls) -> None:
    first = malls.create("Galerie du Bac", "galerie-du-bac", actor=OPERATOR)
    second = malls.create("Passage des Arts", "passage-des-arts", actor=OPERATOR)
    merchant, _ = register(merchants, mall_ids=[second.id, first.id, second.id])
    assert merchants.get(merchant.id).mall_ids == tuple(sorted([first.id, second.id]))
    assert [m.id for m in malls.malls_of(merchant.id)] == sorted([first.id, second.id])


def test_an_operator_may_set_the_commission_within_300_to_400_basis_points(merchants: Merchants) -> None:
    assert register(merchants, fee_bps=320)[0].fee_bps == 320
    with pytest.raises(InvalidMerchant) as caught:
        register(merchants, fee_bps=450)
    assert caught.value.param == "fee_bps"


def test_merchants_are_listed_newest_first_page_by_page(merchants: Merchants, clock: FakeClock) -> None:
    ids = []
    for index in range(5):
        ids.append(register(merchants, name=f"Boutique {index}")[0].id)
        clock.advance(seconds=1)
    merchants.approve(ids[1], actor=OPERATOR)
    newest_first = list(reversed(ids))
    assert [m.id for m in merchants.list(limit=2)] == newest_first[:2]
    assert [m.id for m in merchants.list(limit=2, starting_after=newest_first[1])] == newest_first[2:4]
    assert [m.id for m in merchants.list(limit=10, starting_after=newest_first[3])] == newest_first[4:]
    assert [m.id for m in merchants.list(status="active")] == [ids[1]]
    assert [m.id for m in merchants.list(status="pending", starting_after=ids[2])] == [ids[0]]
    for bad in ({"starting_after": "mer_unknown"}, {"status": "closed"}):
        with pytest.raises(KlelineError) as caught:
            merchants.list(**bad)
        assert caught.value.param == next(iter(bad))


def test_merchants_registered_in_the_same_microsecond_are_all_listed_once(merchants: Merchants) -> None:
    ids = {register(merchants, name=f"Boutique {index}")[0].id for index in range(4)}
    seen: list[str] = []
    after = None
    while True:
        page = merchants.list(limit=1, starting_after=after)
        if not page:
            break
        seen.append(page[0].id)
        after = page[0].id
    assert sorted(seen) == sorted(ids)
