"""Celery tasks (``bayline_scheduling.*``).

- ``purge_reservations`` (every 5 minutes): drop reservations whose hold ran out (their cells go with
  them; a booking also releases expired cells it meets, so this is housekeeping, not correctness).
- ``caldav_push`` (after each appointment change, for a shop with a staff CalDAV calendar): put the
  appointment there, or take it off. A calendar that does not answer is logged; the next sync puts
  it right.
- ``caldav_sync`` (every 5 minutes): the two-way sync of every shop with a staff calendar set.
"""
from __future__ import annotations

import logging

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import Refused, Shop, commit, for_shop, get_session, is_feature_active, unscoped, utcnow

from .models import SchedulingReservation

log = logging.getLogger(__name__)


@shared_task(name="bayline_scheduling.purge_reservations")
def purge_reservations() -> int:
    from . import service

    session = get_session()
    now = utcnow()
    with unscoped(session):
        shops = sorted(set(session.scalars(select(SchedulingReservation.tenant_id).where(
            SchedulingReservation.expires_at <= now))))
    n = 0
    for shop_id in shops:
        with for_shop(shop_id):
            n += service.purge_expired(now)
            commit(get_session())
    return n


@shared_task(name="bayline_scheduling.caldav_push")
def caldav_push(shop_id: int, appointment_id: int) -> bool:
    from . import caldav_sync

    with for_shop(shop_id) as shop:
        try:
            return caldav_sync.push_one(shop, appointment_id)
        except Refused as refused:
            log.warning("scheduling: CalDAV push of appointment %s failed: %s", appointment_id, refused.message)
            return False


@shared_task(name="bayline_scheduling.caldav_sync")
def caldav_sync_all() -> int:
    """Sync every shop that has the feature and a staff calendar; one shop's failure skips only it."""
    from . import caldav_sync

    session = get_session()
    with unscoped(session):
        shop_ids = list(session.scalars(select(Shop.id).where(Shop.archived_at.is_(None)).order_by(Shop.id)))
    n = 0
    for shop_id in shop_ids:
        with for_shop(shop_id) as shop:
            if not is_feature_active(shop, "scheduling") or not caldav_sync.configured(shop):
                continue
            try:
                caldav_sync.sync(shop)
                n += 1
            except Refused as refused:
                get_session().rollback()
                log.warning("scheduling: CalDAV sync of shop %s failed: %s", shop_id, refused.message)
    return n
