"""/api/v1/claims: CRUD, stage and ETA changes, history."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from bayline.auth.permissions import require
from bayline.claims import service
from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit

from .schemas import (
    ClaimArchiveQuerySchema,
    ClaimCreateSchema,
    ClaimPatchSchema,
    ClaimQuerySchema,
    ClaimSchema,
    EtaChangeSchema,
    HistorySchema,
    StageChangeSchema,
)

blp = Blueprint("api_claims", __name__, description="Claims (repair orders) of the current shop")


def load_claim(claim_id: int) -> Claim:
    """A claim of the current shop; another shop's id answers 404 like a missing one."""
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


@blp.route("/claims")
class Claims(MethodView):
    @require("claims.read")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Claim]:
        """List claims, newest activity first; search ``q`` (number, customer first, last or full name,
        VIN, plate; ``%`` and ``_`` match themselves), filter by stage or ``updated_since``."""
        found = service.search(args.get("q"), args.get("stage_id"), args["include_archived"],
                               pagination_parameters.page, pagination_parameters.page_size,
                               args.get("updated_since"))
        pagination_parameters.item_count = found.total
        return found.claims

    @require("claims.write")
    @blp.arguments(ClaimCreateSchema)
    @blp.response(201, ClaimSchema)
    @blp.alt_response(409, description="Claim number already used at this shop")
    def post(self, data: dict[str, Any]) -> Claim:
        """Open a claim. It starts in the first stage unless ``stage_id`` is given."""
        claim = service.create_claim(data, g.principal.user_id)
        commit()
        return claim


@blp.route("/claims/<int:claim_id>")
class ClaimById(MethodView):
    @require("claims.read")
    @blp.response(200, ClaimSchema)
    def get(self, claim_id: int) -> Claim:
        """One claim."""
        return load_claim(claim_id)

    @require("claims.write")
    @blp.arguments(ClaimPatchSchema)
    @blp.response(200, ClaimSchema)
    def patch(self, data: dict[str, Any], claim_id: int) -> Claim:
        """Change claim fields (not stage or ETA: those have their own endpoints)."""
        claim = service.update_claim(load_claim(claim_id), data, g.principal.user_id)
        commit()
        return claim

    @require("claims.write")
    @blp.arguments(ClaimArchiveQuerySchema, location="query")
    @blp.response(204)
    def delete(self, args: dict[str, Any], claim_id: int) -> None:
        """Archive (soft-close) the claim, with an optional ``reason`` (``archive_reason`` in the
        claim); its history is kept."""
        service.archive_claim(load_claim(claim_id), g.principal.user_id, args.get("reason"))
        commit()


@blp.route("/claims/<int:claim_id>/stage")
class ClaimStage(MethodView):
    @require("claims.stage")
    @blp.arguments(StageChangeSchema)
    @blp.response(200, ClaimSchema)
    def post(self, data: dict[str, Any], claim_id: int) -> Claim:
        """Move the claim to another stage of this shop (recorded in stage history)."""
        claim = load_claim(claim_id)
        service.change_stage(claim, service.get_stage(data["stage_id"]), g.principal.user_id)
        commit()
        return claim


@blp.route("/claims/<int:claim_id>/eta")
class ClaimEta(MethodView):
    @require("claims.eta")
    @blp.arguments(EtaChangeSchema)
    @blp.response(200, ClaimSchema)
    def post(self, data: dict[str, Any], claim_id: int) -> Claim:
        """Set or clear the ETA (recorded in ETA history)."""
        claim = load_claim(claim_id)
        service.set_eta(claim, data["eta"], g.principal.user_id, data.get("reason"))
        commit()
        return claim


@blp.route("/claims/<int:claim_id>/history")
class ClaimHistory(MethodView):
    @require("claims.read")
    @blp.response(200, HistorySchema)
    def get(self, claim_id: int) -> dict[str, Any]:
        """Stage and ETA history, oldest first."""
        return service.history(load_claim(claim_id))
