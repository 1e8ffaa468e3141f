"""The rendered portal page's data: shop-side data cached per shop generation, and the prepared
context portal cards receive.

Shop-side data (the shop row with its plan, the shop's settings, its active stages) changes far less
often than a claim and is the same for every claim of the shop. :class:`ShopSideCache` keeps it per
process under the (platform, shop) generations read *before* the data (:mod:`bayline.generations`):
any committed write to the shop row, its stages or settings, or to a plan bumps one of them, so a
kept copy is never used after a change. Kept objects are detached snapshots, loaded in a session of
their own; each request gets them through ``Session.merge(load=False)`` (no query).

:class:`PortalPage` is the prepared context the core hands to ``portal_sections`` as ``page``: the
claim, shop, settings and stages the core already loaded, and :meth:`PortalPage.prefetch`, which runs
a card's loader once per page and shares the answer (so two cards needing the same rows query once).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cachetools import LRUCache
from flask import Flask
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bayline.bundle import Prepared, prepare
from bayline.claims.models import Claim, Stage, StageHistory
from bayline.db import get_db, get_session
from bayline.generations import Generations
from bayline.plugins.types import Viewer
from bayline.tenancy import set_tenant
from bayline.tenants.models import Shop

T = TypeVar("T")
EXTENSION = "bayline.portal.shop_side"


@dataclass(frozen=True)
class ShopSide:
    """What every portal page of one shop shows the same way."""

    shop: Shop
    settings: dict[str, Any]
    stages: list[Stage]


def load_shop_side(session: Session, shop_id: int) -> ShopSide | None:
    """The shop row (with its plan), settings and active stages of ``shop_id`` (three statements)."""
    from bayline import settings_registry

    shop = session.get(Shop, shop_id)
    if shop is None:
        return None
    set_tenant(shop_id, session)
    values = settings_registry.read_all(session, shop_id)
    stages = list(session.scalars(select(Stage).where(Stage.archived_at.is_(None)).order_by(Stage.position, Stage.id)))
    return ShopSide(shop, values, stages)


class ShopSideCache:
    """Shop-side data by (shop, platform generation, shop generation), for one app's database."""

    def __init__(self, app: Flask, max_entries: int = 1024) -> None:
        self.app = app
        self._entries: LRUCache[tuple[int, str, str], ShopSide | None] = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, shop_id: int, generations: Generations | None) -> ShopSide | None:
        """The shop's data attached to the request's session: kept when ``generations`` (read before
        any of this request's data) match, else read (and kept). Without generations it is read."""
        if generations is None:
            return load_shop_side(get_session(), shop_id)
        kept = self._kept(shop_id, generations)
        if kept is None:
            return None
        session = get_session()
        return ShopSide(session.merge(kept.shop, load=False), dict(kept.settings),
                        [session.merge(s, load=False) for s in kept.stages])

    def stages_and_settings(self, shop_id: int) -> tuple[list[Stage], dict[str, Any]]:
        """The active stages (attached to the request's session) and settings of the request's shop,
        for staff pages: the generations are read now, before the data; the settings are also
        remembered for the rest of the request (``settings_registry.get``)."""
        from bayline import settings_registry

        generations = self.app.extensions["bayline.generations"].current(shop_id, 0)
        if generations is None:
            values = settings_registry.get_all(shop_id)
            stages = list(get_session().scalars(select(Stage).where(Stage.archived_at.is_(None))
                                                .order_by(Stage.position, Stage.id)))
            return stages, values
        kept = self._kept(shop_id, generations)
        if kept is None:
            return [], settings_registry.get_all(shop_id)
        settings_registry.remember(shop_id, kept.settings)
        session = get_session()
        return [session.merge(s, load=False) for s in kept.stages], dict(kept.settings)

    def _kept(self, shop_id: int, generations: Generations) -> ShopSide | None:
        """The shop's side as kept for these generations (read and kept on first use)."""
        key = (int(shop_id), generations[0], generations[1])
        with self._lock:
            found = key in self._entries
            kept = self._entries.get(key)
        if not found:
            kept = self._snapshot(shop_id)
            with self._lock:
                self._entries[key] = kept
        return kept

    def _snapshot(self, shop_id: int) -> ShopSide | None:
        """Read in a session of its own and close it: the objects kept are detached, never shared
        with a request's session (each request merges its own copies)."""
        session = get_db(self.app).sessionmaker()
        try:
            return load_shop_side(session, shop_id)
        finally:
            session.close()  # detaches without expiring (a rollback would expire what is kept)


def shop_side_cache(app: Flask) -> ShopSideCache:
    cache = app.extensions.get(EXTENSION)
    if cache is None:
        cache = app.extensions[EXTENSION] = ShopSideCache(app)
    return cache


REACHED = "core.stages_reached"


def reached_stages_stmt(claim: Claim) -> Any:
    return select(StageHistory).where(StageHistory.claim_id == claim.id).order_by(StageHistory.at, StageHistory.id)


@prepare
def _reached() -> Any:
    return (select(StageHistory).where(StageHistory.claim_id == bindparam("claim_id"))
            .order_by(StageHistory.at, StageHistory.id))


def reached_stages_part(claim: Claim) -> Prepared:
    """:func:`reached_stages_stmt`, prepared (:func:`bayline.bundle.prepare`)."""
    return _reached(claim_id=claim.id)


def reached_stages(claim: Claim) -> dict[int, Any]:
    """When the claim reached each stage it was in (the latest time for a stage reached twice):
    from the page's bundle when it declared :data:`REACHED`."""
    from bayline.bundle import prefetched

    return {row.to_stage_id: row.at for row in prefetched(REACHED, reached_stages_part(claim))}


@dataclass
class PortalPage:
    """The prepared context of one rendered portal page, given to ``portal_sections`` as ``page``.

    ``claim``, ``shop``, ``settings`` (every registered setting of the shop), ``stages`` (the shop's
    active stages, in order) and ``viewer`` are already loaded: a card reads them instead of querying.
    :meth:`prefetch` shares anything else a card loads among every card of the page."""

    claim: Claim
    shop: Shop
    settings: dict[str, Any]
    stages: list[Stage]
    viewer: Viewer
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False)

    def prefetch(self, key: str, loader: Callable[[], T]) -> T:
        """``loader()``'s answer, run once per page for ``key`` (name keys after your plugin,
        ``"photos.customer"``)."""
        if key not in self._loaded:
            self._loaded[key] = loader()
        return self._loaded[key]  # type: ignore[no-any-return]
