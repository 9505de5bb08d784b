"""Malls on each backend: creation, unique slugs, membership, the directory in slug order."""

from __future__ import annotations

import pytest

from kleline.db.engine import Database
from kleline.ledger import Ledger
from kleline.merchants import InvalidMerchant, Malls, Merchants, SlugTaken, UnknownMall

from ...conftest import FakeClock
from ...operator_keys import OPERATOR


@pytest.fixture
def merchants(db: Database, ledger: Ledger, clock: FakeClock) -> Merchants:
    return Merchants(db, ledger, clock=clock)


@pytest.fixture
def malls(db: Database, clock: FakeClock) -> Malls:
    return Malls(db, clock=clock)


def shop(merchants: Merchants, name: str) -> str:
    merchant, _ = merchants.register(name=name, email="shop@example.org", iban="FR7630006000011234567890189")
    return merchant.id


def test_a_new_mall_is_empty_and_found_by_id(malls: Malls, clock: FakeClock) -> None:
    mall = malls.create(" Galerie du Bac ", "galerie-du-bac", actor=OPERATOR)
    assert mall.id.startswith("mall_")
    assert (mall.name, mall.slug, mall.members, mall.created_at) == ("Galerie du Bac", "galerie-du-bac", (), clock.now)
    assert malls.get(mall.id) == mall


def test_a_slug_is_unique(malls: Malls) -> None:
    malls.create("Galerie du Bac", "galerie-du-bac", actor=OPERATOR)
    with pytest.raises(SlugTaken) as caught:
        malls.create("Another", "galerie-du-bac", actor=OPERATOR)
    assert (caught.value.status, caught.value.code, caught.value.param) == (409, "slug_taken", "slug")


def test_members_are_listed_by_name_and_placing_one_twice_changes_nothing(malls: Malls, merchants: Merchants) -> None:
    mall = malls.create("Galerie du Bac", "galerie-du-bac", actor=OPERATOR)
    zebre, abeille = shop(merchants, "Zèbre Jouets"), shop(merchants, "Abeille Miel")
    malls.add_merchant(mall.id, zebre, actor=OPERATOR)
    malls.add_merchant(mall.id, abeille, actor=OPERATOR)
    assert malls.add_merchant(mall.id, zebre, actor=OPERATOR).merchant_ids == (abeille, zebre)
    assert [m.status for m in malls.get(mall.id).members] == ["pending", "pending"]
    assert malls.get(mall.id).listed().members == ()
    merchants.approve(zebre, actor=OPERATOR)
    assert malls.get(mall.id).listed().merchant_ids == (zebre,)
    assert merchants.get(zebre).mall_ids == (mall.id,)
    assert malls.remove_merchant(mall.id, zebre, actor=OPERATOR).merchant_ids == (abeille,)
    assert merchants.get(zebre).mall_ids == ()


def test_an_unknown_mall_or_merchant_is_refused(malls: Malls, merchants: Merchants) -> None:
    mall = malls.create("Galerie du Bac", "galerie-du-bac", actor=OPERATOR)
    with pytest.raises(UnknownMall):
        malls.get("mall_unknown")
    with pytest.raises(UnknownMall):
        malls.add_merchant("mall_unknown", shop(merchants, "A"), actor=OPERATOR)
    with pytest.raises(InvalidMerchant) as caught:
        malls.add_merchant(mall.id, "mer_unknown", actor=OPERATOR)
    assert caught.value.param == "merchant_id"


def test_the_directory_reads_in_slug_order_page_by_page(malls: Malls) -> None:
    created = {
        slug: malls.create(slug.title(), slug, actor=OPERATOR).id for slug in ("c-mall", "a-mall", "d-mall", "b-mall")
    }
    assert [m.slug for m in malls.list()] == ["a-mall", "b-mall", "c-mall", "d-mall"]
    assert [m.slug for m in malls.list(limit=2, starting_after=created["b-mall"])] == ["c-mall", "d-mall"]
    with pytest.raises(InvalidMerchant) as caught:
        malls.list(starting_after="mall_unknown")
    assert caught.value.param == "starting_after"


def test_the_malls_of_a_merchant_come_with_all_their_members(malls: Malls, merchants: Merchants) -> None:
    first = malls.create("Galerie du Bac", "galerie-du-bac", actor=OPERATOR)
    second = malls.create("Passage des Arts", "passage-des-arts", actor=OPERATOR)
    zebre, abeille, alone = shop(merchants, "Zèbre Jouets"), shop(merchants, "Abeille Miel"), shop(merchants, "Seul")
    for mall_id, merchant_id in ((first.id, zebre), (first.id, abeille), (second.id, zebre)):
        malls.add_merchant(mall_id, merchant_id, actor=OPERATOR)
    found = malls.malls_of(zebre)
    assert found == sorted([malls.get(first.id), malls.get(second.id)], key=lambda mall: mall.id)
    assert {mall.id: mall.merchant_ids for mall in found} == {first.id: (abeille, zebre), second.id: (zebre,)}
    assert malls.malls_of(alone) == []
