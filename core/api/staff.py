"""/api/v1/staff: who works at the current shop, with which role."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from bayline.auth.models import User
from bayline.auth.permissions import require
from bayline.auth.staff_rules import check_staff_change
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenants import provisioning
from bayline.tenants.models import Membership

from .schemas import StaffCreateSchema, StaffPatchSchema, StaffSchema

blp = Blueprint("api_staff", __name__, description="Staff of the current shop")


def load_membership(membership_id: int) -> Membership:
    m = get_session().get(Membership, membership_id)
    if m is None:
        raise Refused(404, "not_found", "No such staff member at this shop.")
    return m


@blp.route("/staff")
class Staff(MethodView):
    @require("claims.read")
    @blp.response(200, StaffSchema(many=True))
    def get(self) -> list[Membership]:
        """Everyone on this shop's staff."""
        return list(get_session().scalars(select(Membership).order_by(Membership.id)))

    @require("staff.manage")
    @blp.arguments(StaffCreateSchema)
    @blp.response(201, StaffSchema)
    def post(self, data: dict[str, Any]) -> Membership:
        """Add a person (a new user, or an existing one by email) with a role."""
        check_staff_change(g.principal, None, data["role"])
        session = get_session()
        user = session.scalar(select(User).where(User.email == data["email"].strip().lower()))
        if user is None:
            user = provisioning.create_user(data["email"], data["name"], data.get("password"))
        membership = provisioning.add_membership(user, g.principal.shop, data["role"])
        commit()
        return membership


@blp.route("/staff/<int:membership_id>")
class StaffById(MethodView):
    @require("claims.read")
    @blp.response(200, StaffSchema)
    def get(self, membership_id: int) -> Membership:
        """One staff member."""
        return load_membership(membership_id)

    @require("staff.manage")
    @blp.arguments(StaffPatchSchema)
    @blp.response(200, StaffSchema)
    def patch(self, data: dict[str, Any], membership_id: int) -> Membership:
        """Change a staff member's role (a shop keeps at least one owner)."""
        m = load_membership(membership_id)
        check_staff_change(g.principal, m, data["role"])
        m.role = data["role"]
        commit()
        return m

    @require("staff.manage")
    @blp.response(204)
    def delete(self, membership_id: int) -> None:
        """Remove someone from this shop's staff (their user account stays)."""
        m = load_membership(membership_id)
        check_staff_change(g.principal, m, None)
        get_session().delete(m)
        commit()
