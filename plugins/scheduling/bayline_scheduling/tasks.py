"""Periodic: drop reservations whose hold ran out (their cells go with them; a booking also releases
expired cells it meets, so this is housekeeping, not correctness)."""
from __future__ import annotations

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import commit, for_shop, get_session, unscoped, utcnow

from .models import SchedulingReservation


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
