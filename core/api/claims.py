"""/api/v1/claims: CRUD, stage and ETA changes, history."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, or_, select

from bayline.auth.permissions import require
from bayline.claims import service
from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit

from .schemas import (
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


def claim_filter(args: dict[str, Any]) -> Any:
    stmt = select(Claim)
    if not args.get("include_archived"):
        stmt = stmt.where(Claim.archived_at.is_(None))
    if "stage_id" in args:
        stmt = stmt.where(Claim.stage_id == args["stage_id"])
    if "updated_since" in args:
        stmt = stmt.where(Claim.updated_at >= args["updated_since"])
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        stmt = stmt.where(or_(Claim.number.ilike(like), Claim.customer_last_name.ilike(like),
                              Claim.customer_first_name.ilike(like), Claim.vin.ilike(like), Claim.plate.ilike(like)))
    return stmt


def claim_page(stmt: Any, pagination_parameters: Any) -> list[Claim]:
    """One page of ``stmt``, newest activity first; sets the total for ``X-Pagination``.

    A page past the end is empty without asking the database (whose OFFSET is a
    64-bit integer: ``?page=10**20`` must not become a 500)."""
    session = get_session()
    total = session.scalar(stmt.with_only_columns(func.count(Claim.id)).order_by(None)) or 0
    pagination_parameters.item_count = total
    if pagination_parameters.first_item >= total:
        return []
    page = stmt.order_by(Claim.updated_at.desc(), Claim.id.desc()).offset(
        pagination_parameters.first_item).limit(pagination_parameters.page_size)
    return list(session.scalars(page))


@blp.route("/claims")
class Claims(MethodView):
    @require("claims.read")
    @blp.arguments(ClaimQuerySchema, location="query")
    @blp.response(200, ClaimSchema(many=True))
    @blp.paginate()
    def get(self, args: dict[str, Any], pagination_parameters: Any) -> list[Claim]:
        """List claims, newest activity first; filter by stage or ``updated_since``."""
        return claim_page(claim_filter(args), pagination_parameters)

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
    @blp.response(204)
    def delete(self, claim_id: int) -> None:
        """Archive (soft-close) the claim; its history is kept."""
        service.archive_claim(load_claim(claim_id), g.principal.user_id)
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
