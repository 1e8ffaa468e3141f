"""Staff invitations: adding someone to a shop's staff is an invitation the person accepts.

Nobody sets another person's password, and an existing account never joins a shop silently: the
invited person opens the mailed link and either sets their own password (new account) or accepts
with their existing login. The answer to the inviting shop is the same whether or not the email has
an account elsewhere. The link's secret (``secrets.token_urlsafe(32)``) is stored only as SHA-256.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from marshmallow import ValidationError
from sqlalchemy import select

from bayline.db import get_session, utcnow
from bayline.mail import send_platform_mail
from bayline.tenancy import tenant_scope, unscoped
from bayline.tenants.models import Membership, Shop
from bayline.urls import external_url_for

from .models import StaffInvitation, User

VALID_FOR = timedelta(days=7)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def invite(shop: Shop, email: str, name: str, role: str, invited_by_id: int | None) -> StaffInvitation:
    """Invite ``email`` to ``shop`` as ``role`` and mail them the link (in the caller's transaction).
    A previous pending invitation of the same address to this shop is replaced."""
    email = email.strip().lower()
    session = get_session()
    with tenant_scope([shop.id]):
        member = session.scalar(select(Membership.id).join(User, User.id == Membership.user_id)
                                .where(User.email == email))
        if member is not None:
            raise ValidationError({"email": ["already on this shop's staff"]})
        for old in session.scalars(select(StaffInvitation).where(
                StaffInvitation.email == email, StaffInvitation.accepted_at.is_(None),
                StaffInvitation.revoked_at.is_(None))):
            old.revoked_at = utcnow()
        secret = secrets.token_urlsafe(32)
        invitation = StaffInvitation(tenant_id=shop.id, email=email, name=name, role=role,
                                     token_hash=_hash(secret), invited_by_id=invited_by_id,
                                     expires_at=utcnow() + VALID_FOR)
        session.add(invitation)
        session.flush()
    link = external_url_for("staff_auth.invitation", token=secret)
    send_platform_mail(email, f"You're invited to {shop.name} on Bayline",
                       f"{shop.name} invited you to its staff on Bayline.\n"
                       f"Open this link within {VALID_FOR.days} days to accept:\n{link}\n")
    return invitation


def find(secret: str) -> StaffInvitation | None:
    """The pending invitation of a link secret, or None (unknown, used, revoked or expired)."""
    if not secret or len(secret) > 100:
        return None
    with unscoped() as session:
        invitation = session.scalars(select(StaffInvitation).where(StaffInvitation.token_hash == _hash(secret))).first()
    if invitation is None or invitation.state != "pending":
        return None
    return invitation


def accept(invitation: StaffInvitation, user: User) -> Membership:
    """``user`` (whose email the invitation names) joins the shop with the invited role."""
    from bayline.tenants import provisioning

    if user.email != invitation.email:
        raise ValidationError({"email": ["this invitation is for another address"]})
    session = get_session()
    shop = session.get(Shop, invitation.tenant_id)
    with tenant_scope([shop.id]):
        membership = provisioning.add_membership(user, shop, invitation.role)
        invitation.accepted_at = utcnow()
    return membership


def revoke(invitation: StaffInvitation) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
