"""Celery task ``bayline_loyalty.expire`` (daily): lapse unspent points older than each shop's
``loyalty.expiry_months``. Idempotent: a second run the same day finds nothing left to expire."""
from __future__ import annotations

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import Shop, for_shop, get_session, is_feature_active, unscoped


@shared_task(name="bayline_loyalty.expire")
def expire() -> int:
    from . import service

    db = get_session()
    with unscoped(db):
        shops = list(db.scalars(select(Shop).where(Shop.archived_at.is_(None))))
    total = 0
    for shop in shops:
        with for_shop(shop) as bound:
            if is_feature_active(bound, "loyalty"):
                total += service.expire_shop()
    return total
