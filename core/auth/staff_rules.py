"""The owner rules for staff changes, in one place for the API and the console.

- only an owner-level person (owner, group admin, platform admin, or a platform operator's key)
  makes someone an owner, or demotes or removes an owner;
- a shop keeps at least one owner.

"The person" is the human behind the request: for an API key, the user who created it, at the role
they hold now (a key never holds more than its creator, see :func:`bayline.auth.context.resolve_principal`).
"""
from __future__ import annotations

from marshmallow import ValidationError
from sqlalchemy import func, select

from bayline.db import get_session
from bayline.errors import Refused
from bayline.tenants.models import Membership

from .context import Principal
from .roles import ROLES

OWNER_LEVEL_ROLES = frozenset({"owner", "group_admin", "operator"})


def acts_as_owner(principal: Principal) -> bool:
    """Whether the human behind ``principal`` may make, demote and remove owners."""
    human = principal.user or principal.creator
    if human is not None and human.is_platform_admin:
        return True
    return principal.role in OWNER_LEVEL_ROLES


def owners_left(excluding: Membership) -> int:
    return get_session().scalar(select(func.count(Membership.id)).where(
        Membership.role == "owner", Membership.id != excluding.id)) or 0


def check_staff_change(principal: Principal, membership: Membership | None, new_role: str | None) -> None:
    """Refuse a staff change: add (``membership`` None), role change, or removal (``new_role`` None).

    :raises ValidationError: an unknown role, or the shop's last owner would go (422).
    :raises Refused: 403 ``owner_required`` when the rule needs an owner and the caller is not one."""
    if new_role is not None and new_role not in ROLES:
        raise ValidationError({"role": [f"must be one of: {', '.join(ROLES)}"]})
    if new_role == "owner" and not (membership is not None and membership.role == "owner") \
            and not acts_as_owner(principal):
        raise Refused(403, "owner_required", "Only an owner can make someone an owner.")
    if membership is not None and membership.role == "owner" and new_role != "owner":
        if not acts_as_owner(principal):
            raise Refused(403, "owner_required", "Only an owner can demote or remove an owner.")
        if not owners_left(membership):
            raise ValidationError({"role": ["a shop needs at least one owner"]})
