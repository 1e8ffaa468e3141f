"""/api/v1/stages: the shop's stage set."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from bayline.auth.permissions import require
from bayline.claims import stages as stage_service
from bayline.claims.models import Stage
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenancy import current_tenant_id
from bayline.tenants.models import StageTemplate

from .schemas import StageOrderSchema, StagePatchSchema, StageSchema, StageTemplateSchema, TemplateApplySchema

blp = Blueprint("api_stages", __name__, description="The shop's ordered stage set")


def load_stage(stage_id: int) -> Stage:
    stage = get_session().get(Stage, stage_id)
    if stage is None or stage.archived_at is not None:
        raise Refused(404, "not_found", "No such stage.")
    return stage


@blp.route("/stages")
class Stages(MethodView):
    @require("claims.read")
    @blp.response(200, StageSchema(many=True))
    def get(self) -> list[Stage]:
        """Live stages in order."""
        return stage_service.active_stages()

    @require("stages.manage")
    @blp.arguments(StageSchema)
    @blp.response(201, StageSchema)
    def post(self, data: dict[str, Any]) -> Stage:
        """Add a stage at the end of the set."""
        stage = stage_service.add_stage(**data)
        commit()
        return stage


@blp.route("/stages/<int:stage_id>")
class StageById(MethodView):
    @require("stages.manage")
    @blp.arguments(StagePatchSchema)
    @blp.response(200, StageSchema)
    def patch(self, data: dict[str, Any], stage_id: int) -> Stage:
        """Rename, relabel, hide or mark terminal. Claims keep pointing at the same stage."""
        stage = load_stage(stage_id)
        for key, value in data.items():
            setattr(stage, key, value)
        commit()
        return stage

    @require("stages.manage")
    @blp.response(204)
    def delete(self, stage_id: int) -> None:
        """Archive a stage (refused while open claims are in it)."""
        stage_service.archive_stage(load_stage(stage_id))
        commit()


@blp.route("/stages/order")
class StageOrder(MethodView):
    @require("stages.manage")
    @blp.arguments(StageOrderSchema)
    @blp.response(200, StageSchema(many=True))
    def put(self, data: dict[str, Any]) -> list[Stage]:
        """Reorder: list every live stage id once, in the new order."""
        stages = stage_service.reorder(data["order"])
        commit()
        return stages


@blp.route("/stages/apply-template")
class StageApplyTemplate(MethodView):
    @require("stages.manage")
    @blp.arguments(TemplateApplySchema)
    @blp.response(200, StageSchema(many=True))
    def post(self, data: dict[str, Any]) -> list[Stage]:
        """Replace the live set by a template's; old stages are archived so claims keep working."""
        stages = stage_service.apply_template(current_tenant_id(), data["template"])
        commit()
        return stages


@blp.route("/stage-templates")
class StageTemplates(MethodView):
    @require("claims.read")
    @blp.response(200, StageTemplateSchema(many=True))
    def get(self) -> list[StageTemplate]:
        """Stage-set templates a shop can apply."""
        return list(get_session().scalars(select(StageTemplate).order_by(StageTemplate.key)))
