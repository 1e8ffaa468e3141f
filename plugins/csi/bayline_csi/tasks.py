"""Periodic: invite the non-respondents whose survey window closed (rule ``window_closed``), for
every shop with closed, unanswered, uninvited surveys. The staff results page runs the same sweep
on demand."""
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
