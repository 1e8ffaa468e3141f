"""Portal links: issue, rotate, revoke, look up.

The secret is ``secrets.token_urlsafe(32)`` (256 bits); only its SHA-256 is
stored, so the full link is shown once, when it is issued. Issuing a new link
for a claim rotates the previous one (it stops working at once). Links stop
working ``portal.link_expiry_days`` after the claim reached a terminal stage.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from bayline import settings_registry
from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.events import emit
from bayline.tenancy import unscoped

from .models import PortalToken

PATH_PREFIX = "/c/"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def portal_url(raw: str) -> str:
    """The absolute customer URL for a raw token."""
    return current_app.extensions["bayline.settings"].public_url.rstrip("/") + PATH_PREFIX + raw


@dataclass(frozen=True)
class IssuedLink:
    token: PortalToken
    raw: str

    @property
    def url(self) -> str:
        return portal_url(self.raw)


def _end_active(claim: Claim, state: str) -> int:
    result = get_session().execute(
        update(PortalToken)
        .where(PortalToken.claim_id == claim.id, PortalToken.state == "active")
        .values(state=state, ended_at=utcnow())
        .execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def issue(claim: Claim, user_id: int | None = None, rotate: bool = True) -> IssuedLink:
    """A new link for ``claim``; any active link of the claim is rotated (stops at once) unless
    ``rotate`` is False (one text to several people of the same claim: each link keeps working)."""
    session = get_session()
    rotated = _end_active(claim, "rotated") if rotate else 0
    raw = secrets.token_urlsafe(32)
    token = PortalToken(tenant_id=claim.tenant_id, claim_id=claim.id, token_hash=hash_token(raw),
                        state="active", created_by_user_id=user_id)
    session.add(token)
    session.flush()
    emit("portal.link_issued", claim.tenant_id,
         {"claim_id": claim.id, "token_id": token.id, "rotated": rotated, "user_id": user_id})
    return IssuedLink(token, raw)


rotate = issue


def revoke(claim: Claim, user_id: int | None = None) -> int:
    """Revoke every active link of ``claim``; returns how many were active."""
    return _end_active(claim, "revoked")


def active_token(claim: Claim) -> PortalToken | None:
    return get_session().scalar(select(PortalToken).where(
        PortalToken.claim_id == claim.id, PortalToken.state == "active").order_by(PortalToken.id.desc()))


def expires_at(claim: Claim) -> object:
    """When links of ``claim`` stop working (None while the claim is not in a terminal stage)."""
    if claim.delivered_at is None:
        return None
    days = settings_registry.get(claim.tenant_id, "portal.link_expiry_days")
    return claim.delivered_at + timedelta(days=int(days))


def is_usable(token: PortalToken | None, claim: Claim | None) -> bool:
    if token is None or claim is None or token.state != "active" or claim.archived_at is not None:
        return False
    if token.claim_id != claim.id or token.tenant_id != claim.tenant_id:
        return False
    ends = expires_at(claim)
    return ends is None or utcnow() < ends  # type: ignore[operator]


def find_any(raw: str) -> PortalToken | None:
    """The token row for a raw token whatever its state (to name the shop on the "link not working" page)."""
    if not raw or len(raw) > 100:
        return None
    digest = hash_token(raw)
    session = get_session()
    with unscoped(session):
        token = session.scalar(select(PortalToken).where(PortalToken.token_hash == digest))
    return token if token is not None and hmac.compare_digest(token.token_hash, digest) else None


def lookup(raw: str) -> tuple[PortalToken, Claim] | None:
    """The usable (token, claim) for a raw token from a URL, across tenants; None otherwise."""
    if not raw or len(raw) > 100:
        return None
    digest = hash_token(raw)
    session = get_session()
    with unscoped(session):
        token = session.scalar(select(PortalToken).where(PortalToken.token_hash == digest))
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            return None
        claim = session.get(Claim, token.claim_id)
    if not is_usable(token, claim):
        return None
    return token, claim  # type: ignore[return-value]


def load_session_token(token_id: int, claim_id: int) -> tuple[PortalToken, Claim] | None:
    """Re-check a portal session's token (revoked or expired links end their sessions)."""
    session = get_session()
    token = session.get(PortalToken, token_id)
    claim = session.get(Claim, claim_id)
    if token is not None and token.state == "rotated":
        # A rotated link no longer opens, but a customer already verified through it keeps going.
        if claim is None or claim.archived_at is not None or token.claim_id != claim.id:
            return None
        ends = expires_at(claim)
        return (token, claim) if ends is None or utcnow() < ends else None  # type: ignore[operator]
    if not is_usable(token, claim):
        return None
    return token, claim  # type: ignore[return-value]
