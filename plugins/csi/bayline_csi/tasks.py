"""Periodic: invite the non-respondents whose survey window closed (rule ``window_closed``), for
every shop with closed, unanswered, uninvited surveys (the staff results page runs the same sweep on
demand); and store each shop's daily scorecard (the scorecard page recomputes on demand too)."""
from __future__ import annotations

from celery import shared_task
from sqlalchemy import select

from bayline.plugin_api import for_shop as shop_context
from bayline.plugin_api import get_session, is_feature_active, unscoped, utcnow

from .models import CsiInvitation, CsiSurvey


@shared_task(name="bayline_csi.invite_non_respondents")
def invite_non_respondents() -> int:
    from . import REVIEWS, service

    session = get_session()
    now = utcnow()
    with unscoped(session):
        invited = select(CsiInvitation.claim_id).where(CsiInvitation.tenant_id == CsiSurvey.tenant_id)
        shops = sorted(set(session.scalars(select(CsiSurvey.tenant_id).where(
            CsiSurvey.closes_at <= now, CsiSurvey.claim_id.not_in(invited)))))
    n = 0
    for shop_id in shops:
        with shop_context(shop_id) as shop:
            if is_feature_active(shop, REVIEWS):
                n += service.sweep(shop, now)
    return n


RESTORE_EVERY_HOURS = 20


@shared_task(name="bayline_csi.store_daily")
def store_daily() -> int:
    """Periodic (hourly beat; each shop at most once a day): store every shop's daily scorecard for the
    days whose figures can still change — answers arrive until the survey window closes, so the last
    ``delay + window + 1`` days before today are recomputed. Returns the number of shops stored."""
    from datetime import timedelta

    from sqlalchemy import func

    from bayline.plugin_api import Shop, shop_settings

    from . import NAME, scorecard
    from .models import CsiDaily

    session = get_session()
    now = utcnow()
    with unscoped(session):
        shop_ids = list(session.scalars(select(Shop.id).where(Shop.archived_at.is_(None)).order_by(Shop.id)))
    n = 0
    for shop_id in shop_ids:
        with shop_context(shop_id) as shop:
            if not is_feature_active(shop, NAME):
                continue
            last = session.scalar(select(func.max(CsiDaily.computed_at)))
            if last is not None and now - last < timedelta(hours=RESTORE_EVERY_HOURS):
                continue
            s = shop_settings(NAME, shop)
            back = s.get_int("window_days") + -(-s.get_int("delay_hours") // 24) + 1
            end = scorecard.today(shop) - timedelta(days=1)
            scorecard.store(shop, end - timedelta(days=back), end)
            n += 1
    return n
