"""Malls: galleries of merchants that operators curate, with a public directory.

A mall holds merchants whatever their status, so that an operator can prepare a mall before its shops are
approved; the public directory (``Mall.listed``) shows only the active ones. Curating is an operator's act: each
takes the ``StaffActor`` doing it, whose role must manage settings, and records it in the staff audit trail.
"""

from __future__ import annotations

import builtins

from kleline.clock import Clock, epoch_us
from kleline.db.engine import INTEGRITY_ERRORS, Database
from kleline.ids import new_id
from kleline.merchants import checks, mall_store, store
from kleline.merchants.errors import InvalidMerchant, SlugTaken, UnknownMall
from kleline.merchants.model import Mall
from kleline.staff import audit
from kleline.staff.actor import StaffActor
from kleline.staff.roles import Power

__all__ = ["Malls"]


class Malls:
    """Creating malls, placing merchants in them, and reading the directory."""

    def __init__(self, db: Database, *, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def create(self, name: str, slug: str, *, actor: StaffActor) -> Mall:
        """A new, empty mall; ``SlugTaken`` (409) if another mall has the slug."""
        actor.require(Power.MANAGE_SETTINGS)
        mall = Mall(new_id("mall"), checks.check_name(name), checks.check_slug(slug), (), self._clock())
        try:
            with self._db.transaction() as tx:
                mall_store.insert_mall(tx, mall, epoch_us(mall.created_at))
                after = {"name": mall.name, "slug": mall.slug}
                audit.record(tx, actor, "mall_created", "mall", mall.id, at=mall.created_at, after=after)
        except INTEGRITY_ERRORS:
            raise SlugTaken(f"slug: another mall is already at {slug!r}", param="slug") from None
        return mall

    def get(self, mall_id: str) -> Mall:
        """A mall with all its members; ``UnknownMall`` (404) when there is none."""
        with self._db.transaction(write=False) as tx:
            mall = mall_store.find_mall(tx, mall_id)
        if mall is None:
            raise UnknownMall(f"no mall {mall_id}")
        return mall

    def list(self, *, limit: int = 100, starting_after: str | None = None) -> builtins.list[Mall]:
        """Up to ``limit`` malls in slug order, after the mall ``starting_after``."""
        with self._db.transaction(write=False) as tx:
            after = None
            if starting_after is not None:
                after = mall_store.slug_of(tx, starting_after)
                if after is None:
                    raise InvalidMerchant(f"starting_after: no mall {starting_after}", param="starting_after")
            return mall_store.list_malls(tx, limit=limit, after_slug=after)

    def add_merchant(self, mall_id: str, merchant_id: str, *, actor: StaffActor) -> Mall:
        """Place a merchant in a mall (placing it twice changes nothing)."""
        actor.require(Power.MANAGE_SETTINGS)
        with self._db.transaction() as tx:
            if mall_store.find_mall(tx, mall_id) is None:
                raise UnknownMall(f"no mall {mall_id}")
            if store.find_merchant(tx, merchant_id) is None:
                raise InvalidMerchant(f"merchant_id: no merchant {merchant_id}", param="merchant_id")
            now = self._clock()
            store.insert_memberships(tx, merchant_id, [mall_id], epoch_us(now))
            after = {"merchant_id": merchant_id}
            audit.record(tx, actor, "mall_merchant_added", "mall", mall_id, at=now, after=after)
        return self.get(mall_id)

    def remove_merchant(self, mall_id: str, merchant_id: str, *, actor: StaffActor) -> Mall:
        """Take a merchant out of a mall (a no-op if it was not in it)."""
        actor.require(Power.MANAGE_SETTINGS)
        with self._db.transaction() as tx:
            if mall_store.find_mall(tx, mall_id) is None:
                raise UnknownMall(f"no mall {mall_id}")
            mall_store.delete_member(tx, mall_id, merchant_id)
            before = {"merchant_id": merchant_id}
            audit.record(tx, actor, "mall_merchant_removed", "mall", mall_id, at=self._clock(), before=before)
        return self.get(mall_id)

    def malls_of(self, merchant_id: str) -> builtins.list[Mall]:
        """The malls a merchant belongs to (the checkout page names them)."""
        with self._db.transaction(write=False) as tx:
            return mall_store.malls_of(tx, merchant_id)
