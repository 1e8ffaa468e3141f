"""Automatic stage notifications: per-stage on/off, template (per stage, milestone, default), cool-down,
quiet hours."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bayline.plugin_api import Claim, Event, Refused, Shop, Stage, commit, get_session, shop_settings, utcnow

from .models import SmsStageNotice
from .service import queue_text, shop_number
from .templates import MILESTONES, fill, parse_milestone_stages, parse_stage_templates


def stage_template(shop_id: int, stage: Stage) -> str:
    """The stage's own text, else its milestone's text, else the shop's stage notification text."""
    names = (stage.name.lower(), stage.customer_label.lower())
    settings = shop_settings("sms", shop_id)
    per_stage = parse_stage_templates(settings.get_str("stage_templates"))
    milestones = parse_milestone_stages(settings.get_str("milestone_stages"))
    for name in names:
        if per_stage.get(name):
            return per_stage[name]
    for name in names:
        if milestones.get(name) in MILESTONES:
            return settings.get_str(f"template_{milestones[name]}")
    return settings.get_str("stage_template")


def stage_changed(event: Event) -> None:
    """A claim moved: text the customer about the stage it reached."""
    notify_stage(event, event.payload["to_stage_id"])


def claim_created(event: Event) -> None:
    """A claim was opened: text the customer about the stage it starts in (with the default
    milestones, the "received" text and its portal link: the link texted at intake)."""
    notify_stage(event, event.payload["stage_id"])


def notify_stage(event: Event, stage_id: int) -> None:
    shop_id = event.tenant_id
    settings = shop_settings("sms", shop_id)
    if not settings.get_bool("stage_notifications"):
        return
    session = get_session()
    claim = session.get(Claim, event.payload["claim_id"])
    stage = session.get(Stage, stage_id)
    if claim is None or stage is None or stage.hidden or not claim.customer_mobile or shop_number() is None:
        return
    wanted = {s.strip().lower() for s in settings.get_str("notify_stages").split(",") if s.strip()}
    if wanted and stage.name.lower() not in wanted and stage.customer_label.lower() not in wanted:
        return
    cooldown = timedelta(minutes=settings.get_int("cooldown_minutes"))
    notice = session.scalars(select(SmsStageNotice).where(SmsStageNotice.claim_id == claim.id,
                                                          SmsStageNotice.stage_id == stage.id)).first()
    now = utcnow()
    if notice is not None and now - notice.sent_at < cooldown:
        return
    shop = session.get(Shop, shop_id)
    body = fill(stage_template(shop_id, stage), claim, shop)
    if notice is None:
        notice = SmsStageNotice(claim_id=claim.id, stage_id=stage.id, sent_at=now)
        session.add(notice)
    notice.sent_at = now
    commit(session)
    try:
        queue_text(shop, claim.customer_mobile, body, f"stage:{event.id}", claim=claim, kind="automatic",
                   event_id=event.id)
    except Refused:
        session.rollback()
