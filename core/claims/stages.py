"""A shop's stage set: apply a template, add, edit, reorder, archive."""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import func, select

from bayline.db import get_session, utcnow
from bayline.tenants.models import StageTemplate

from .models import Claim, Stage


def active_stages() -> list[Stage]:
    """The current tenant's live stages in order."""
    return list(get_session().scalars(
        select(Stage).where(Stage.archived_at.is_(None)).order_by(Stage.position, Stage.id)))


def apply_template(shop_id: int, template_key: str) -> list[Stage]:
    """Replace the shop's live stage set by a template's. Old stages are archived, never deleted,
    so claims and history that point at them keep working."""
    session = get_session()
    template = session.get(StageTemplate, template_key)
    if template is None:
        raise ValidationError({"template": [f"unknown template {template_key!r}"]})
    now = utcnow()
    for stage in active_stages():
        stage.archived_at = now
    stages = [
        Stage(tenant_id=shop_id, position=i, name=item["name"], customer_label=item.get("customer_label", item["name"]),
              customer_description=item.get("customer_description"), hidden=item.get("hidden", False),
              terminal=item.get("terminal", False))
        for i, item in enumerate(template.stages)
    ]
    session.add_all(stages)
    session.flush()
    return stages


def add_stage(**fields: object) -> Stage:
    session = get_session()
    last = session.scalar(select(func.max(Stage.position)).where(Stage.archived_at.is_(None)))
    stage = Stage(position=(last if last is not None else -1) + 1, **fields)
    if not stage.customer_label:
        stage.customer_label = stage.name
    session.add(stage)
    session.flush()
    return stage


def reorder(stage_ids: list[int]) -> list[Stage]:
    stages = {s.id: s for s in active_stages()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationError({"order": ["must list every live stage of this shop exactly once"]})
    for position, stage_id in enumerate(stage_ids):
        stages[stage_id].position = position
    return [stages[i] for i in stage_ids]


def archive_stage(stage: Stage) -> None:
    """Remove a stage from the live set. Refused while open claims sit on it."""
    session = get_session()
    open_claims = session.scalar(
        select(func.count(Claim.id)).where(Claim.stage_id == stage.id, Claim.archived_at.is_(None)))
    if open_claims:
        raise ValidationError({"stage": [f"{open_claims} open claim(s) are in this stage; move them first"]})
    if len(active_stages()) <= 1:
        raise ValidationError({"stage": ["a shop needs at least one stage"]})
    stage.archived_at = utcnow()
