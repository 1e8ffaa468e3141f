"""Staff console for shop admins: the stage-set editor and staff management.

Both reuse the core services and their validation (``bayline.claims.stages``, the API schemas,
``bayline.tenants.provisioning`` and the staff rules of ``bayline.api.staff``: a shop keeps at
least one owner, only owners make owners). Every object is loaded in the current shop's tenant
context, so another shop's id answers 404. A form with a problem is shown again with its input
and the messages (422).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import login_required
from marshmallow import ValidationError
from sqlalchemy import select

from bayline.api.schemas import StaffCreateSchema, StagePatchSchema, StageSchema
from bayline.auth import invitations
from bayline.auth.models import StaffInvitation
from bayline.auth.permissions import need, staff_only
from bayline.auth.roles import ROLES
from bayline.auth.staff_rules import check_staff_change
from bayline.claims import stages as stage_service
from bayline.claims.models import Stage
from bayline.db import MAX_ID, get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenancy import current_tenant_id
from bayline.tenants.models import Membership, StageTemplate

bp = Blueprint("console_admin", __name__, url_prefix="/console")


@bp.before_request
@login_required
def _need_shop() -> None:
    staff_only()



def _flat(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): (v if isinstance(v, list) else [str(v)]) for k, v in messages.items()}
    return {"form": [str(m) for m in (messages if isinstance(messages, list) else [messages])]}


# -- stage set ------------------------------------------------------------------------------------

def _stage(stage_id: int) -> Stage:
    stage = get_session().get(Stage, stage_id) if 0 < stage_id <= MAX_ID else None
    if stage is None or stage.archived_at is not None:
        abort(404)
    return stage


def _stage_form(form: Any) -> dict[str, Any]:
    return {"name": (form.get("name") or "").strip(), "customer_label": (form.get("customer_label") or "").strip(),
            "customer_description": (form.get("customer_description") or "").strip() or None,
            "hidden": form.get("hidden") == "on", "terminal": form.get("terminal") == "on"}


def _stages_page(errors: dict[str, Any] | None = None, editing: int | None = None,
                 draft: dict[str, Any] | None = None, status: int = 200) -> Any:
    templates = get_session().scalars(select(StageTemplate).order_by(StageTemplate.key)).all()
    return render_template("staff/stages.html", stages=stage_service.active_stages(), templates=templates,
                           errors=errors or {}, editing=editing, draft=draft or {}), status


@bp.get("/stages")
def stages() -> Any:
    need("stages.manage")
    return _stages_page()


@bp.post("/stages/<int:stage_id>")
def stage_action(stage_id: int) -> Any:
    """``action``: save (name, label, description, hidden, terminal), archive, up, down."""
    need("stages.manage")
    stage = _stage(stage_id)
    action = request.form.get("action")
    if action == "save":
        draft = _stage_form(request.form)
        try:
            data = StagePatchSchema().load({**draft, "customer_label": draft["customer_label"] or draft["name"]})
        except ValidationError as exc:
            return _stages_page(_flat(exc.messages), stage.id, draft, 422)
        for key, value in data.items():
            setattr(stage, key, value)
        commit()
        flash(f"Stage “{stage.name}” saved.")
    elif action == "archive":
        try:
            stage_service.archive_stage(stage)
        except ValidationError as exc:
            get_session().rollback()
            return _stages_page(_flat(exc.messages), stage_id, None, 422)
        commit()
        flash(f"Stage “{stage.name}” archived; its history stays.")
    elif action in ("up", "down"):
        order = [s.id for s in stage_service.active_stages()]
        i = order.index(stage.id)
        j = i - 1 if action == "up" else i + 1
        if 0 <= j < len(order):
            order[i], order[j] = order[j], order[i]
            stage_service.reorder(order)
            commit()
    else:
        abort(400, "Unknown stage action.")
    return redirect(url_for("console_admin.stages"))


@bp.post("/stages/new")
def stage_add() -> Any:
    need("stages.manage")
    draft = _stage_form(request.form)
    try:
        data = StageSchema().load({k: v for k, v in draft.items() if v not in ("", None)})
    except ValidationError as exc:
        return _stages_page(_flat(exc.messages), None, draft, 422)
    stage = stage_service.add_stage(**data)
    commit()
    flash(f"Stage “{stage.name}” added at the end.")
    return redirect(url_for("console_admin.stages"))


@bp.post("/stages/order")
def stage_order() -> Any:
    """The whole order at once (``order`` repeated, one per live stage), e.g. from the editor's script."""
    need("stages.manage")
    try:
        order = [int(v) for v in request.form.getlist("order")]
        stage_service.reorder(order)
    except (ValueError, ValidationError) as exc:
        get_session().rollback()
        messages = exc.messages if isinstance(exc, ValidationError) else {"order": ["stage ids are numbers"]}
        return _stages_page(_flat(messages), None, None, 422)
    commit()
    flash("Stage order saved.")
    return redirect(url_for("console_admin.stages"))


@bp.post("/stages/template")
def stage_template() -> Any:
    need("stages.manage")
    key = request.form.get("template") or ""
    try:
        stage_service.apply_template(current_tenant_id(), key)
    except ValidationError as exc:
        get_session().rollback()
        return _stages_page(_flat(exc.messages), None, None, 422)
    commit()
    flash("Template applied. The previous stages were archived; claims on them keep their history.")
    return redirect(url_for("console_admin.stages"))


# -- staff ------------------------------------------------------------------------------------------

def _membership(membership_id: int) -> Membership:
    m = get_session().get(Membership, membership_id) if 0 < membership_id <= MAX_ID else None
    if m is None:
        abort(404)
    return m


def _role_problem(membership: Membership | None, role: str | None) -> str | None:
    """The service's staff rules (:func:`bayline.auth.staff_rules.check_staff_change`) as a form message."""
    if role is not None and role not in ROLES:
        return "Pick one of the roles."
    try:
        check_staff_change(g.principal, membership, role)
    except Refused as exc:
        return str(exc.payload()["message"])
    except ValidationError:
        return "A shop needs at least one owner."
    return None


def _staff_page(errors: dict[str, Any] | None = None, draft: dict[str, Any] | None = None,
                status: int = 200) -> Any:
    members = get_session().scalars(select(Membership).order_by(Membership.id)).all()
    pending = [i for i in get_session().scalars(select(StaffInvitation).where(
        StaffInvitation.accepted_at.is_(None), StaffInvitation.revoked_at.is_(None)).order_by(StaffInvitation.id))
        if i.state == "pending"]
    return render_template("staff/staff.html", members=members, roles=ROLES, errors=errors or {},
                           draft=draft or {}, invitations=pending), status


@bp.get("/staff")
def staff() -> Any:
    need("staff.manage")
    return _staff_page()


@bp.post("/staff/new")
def staff_add() -> Any:
    """Invite a person by email with a role; they join when they accept the mailed link."""
    need("staff.manage")
    draft = {k: (request.form.get(k) or "").strip() for k in ("email", "name", "role")}
    try:
        data = StaffCreateSchema().load(draft)
    except ValidationError as exc:
        return _staff_page(_flat(exc.messages), draft, 422)
    problem = _role_problem(None, data["role"])
    if problem:
        return _staff_page({"role": [problem]}, draft, 422)
    try:
        invitation = invitations.invite(g.principal.shop, data["email"], data["name"], data["role"],
                                        g.principal.user_id)
    except ValidationError as exc:
        get_session().rollback()
        return _staff_page(_flat(exc.messages), draft, 422)
    commit()
    flash(f"Invitation sent to {invitation.email} ({ROLES[data['role']]}).")
    return redirect(url_for("console_admin.staff"))


@bp.post("/staff/invitations/<int:invitation_id>")
def invitation_withdraw(invitation_id: int) -> Any:
    need("staff.manage")
    invitation = get_session().get(StaffInvitation, invitation_id) if 0 < invitation_id <= MAX_ID else None
    if invitation is None:
        abort(404)
    invitations.revoke(invitation)
    commit()
    flash(f"Invitation of {invitation.email} withdrawn.")
    return redirect(url_for("console_admin.staff"))


@bp.post("/staff/<int:membership_id>")
def staff_action(membership_id: int) -> Any:
    """``action``: role (with ``role``) or remove. A shop keeps at least one owner."""
    need("staff.manage")
    m = _membership(membership_id)
    action = request.form.get("action")
    if action == "role":
        role = request.form.get("role") or ""
        problem = _role_problem(m, role)
        if problem:
            return _staff_page({"role": [problem]}, None, 422)
        m.role = role
        commit()
        flash(f"{m.user.email} is now {ROLES[role]}.")
    elif action == "remove":
        problem = _role_problem(m, None)
        if problem:
            return _staff_page({"role": [problem]}, None, 422)
        email = m.user.email
        get_session().delete(m)
        commit()
        flash(f"{email} no longer works at this shop (their account stays).")
    else:
        abort(400, "Unknown staff action.")
    return redirect(url_for("console_admin.staff"))
