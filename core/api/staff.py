"""/api/v1/staff: who works at the current shop, with which role."""
from __future__ import annotations

from typing import Any

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from bayline.auth import invitations
from bayline.auth.models import StaffInvitation
from bayline.auth.permissions import require
from bayline.auth.staff_rules import check_staff_change
from bayline.db import get_session
from bayline.errors import Refused
from bayline.events import commit
from bayline.tenants.models import Membership

from .schemas import InvitationSchema, StaffCreateSchema, StaffPatchSchema, StaffSchema

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
    @blp.response(202, InvitationSchema)
    def post(self, data: dict[str, Any]) -> StaffInvitation:
        """Invite a person by email with a role. They join when they accept the mailed link (setting
        their own password, or with their existing login); the answer is the same either way."""
        check_staff_change(g.principal, None, data["role"])
        human = g.principal.user or g.principal.creator
        invitation = invitations.invite(g.principal.shop, data["email"], data["name"], data["role"],
                                        human.id if human is not None else None)
        commit()
        return invitation


@blp.route("/staff/invitations")
class StaffInvitations(MethodView):
    @require("staff.manage")
    @blp.response(200, InvitationSchema(many=True))
    def get(self) -> list[StaffInvitation]:
        """This shop's invitations, newest first."""
        return list(get_session().scalars(select(StaffInvitation).order_by(StaffInvitation.id.desc())))


@blp.route("/staff/invitations/<int:invitation_id>")
class StaffInvitationById(MethodView):
    @require("staff.manage")
    @blp.response(204)
    def delete(self, invitation_id: int) -> None:
        """Withdraw an invitation: its link stops working."""
        invitation = get_session().get(StaffInvitation, invitation_id)
        if invitation is None:
            raise Refused(404, "not_found", "No such invitation at this shop.")
        invitations.revoke(invitation)
        commit()


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
