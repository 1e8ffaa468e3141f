"""Portal links: issue, replace, revoke, look up.

A claim has several live links at once, one per purpose (a printed document or a sending
channel, :data:`~bayline.portal.models.PURPOSES`). Issuing a link for a purpose replaces only
that purpose's current link (state ``rotated``); the others keep working. The secret is
``secrets.token_urlsafe(32)`` (256 bits); only its SHA-256 is stored, plus, for purposes that
print or send the same link again, the secret sealed under a key derived from the app secret
(:mod:`bayline.portal.sealing`). Links stop working ``portal.link_expiry_days`` after the claim
reached a terminal stage. Revoking ends links and the portal sessions they opened.

A verified portal session is a :class:`~bayline.portal.models.PortalSession` row named by the
browser's signed cookie (:func:`open_session`); "sign out on this device" ends the row
(:func:`end_session`), so a copy of the cookie opens nothing afterwards.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import select, update

from bayline import settings_registry
from bayline.bundle import prepare
from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.events import emit
from bayline.tenancy import unscoped

from . import sealing
from .models import PURPOSES, PortalSession, PortalToken

PATH_PREFIX = "/c/"
# Printed purposes also get a short code, typed by hand from the paper (10 characters of an
# alphabet without look-alikes: about 49 bits; the portal's rate limits and verification still apply).
PRINTED = frozenset({"work_order", "hang_tag", "receipt", "qr_sticker"})
SHORT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
# Purposes whose secret is kept sealed (reprint the same QR, send the channel's link again). The
# staff copy is shown once, when it is issued.
RECOVERABLE = frozenset(PURPOSES) - {"staff_copy"}


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def portal_url(raw: str, tenant_id: int | None = None) -> str:
    """The absolute customer URL for a raw token: under the shop's customer host (``tenant_id``,
    hook ``tenant_host``) or ``BAYLINE_PUBLIC_URL``."""
    if tenant_id is not None:
        from bayline.urls import tenant_base_url

        return tenant_base_url(tenant_id) + PATH_PREFIX + raw
    return current_app.extensions["bayline.settings"].public_url.rstrip("/") + PATH_PREFIX + raw


def short_code(raw: str) -> str:
    """The link's short code, "K7QXM-2PD9F" (derived from the secret with a keyed digest)."""
    number = int.from_bytes(sealing.short_digest(raw)[:8], "big")
    chars = []
    for _ in range(10):
        number, index = divmod(number, len(SHORT_ALPHABET))
        chars.append(SHORT_ALPHABET[index])
    return "".join(chars[:5]) + "-" + "".join(chars[5:])


def normalise_short(text: str) -> str | None:
    """A typed short code in its stored form ("k7qxm 2pd9f" -> "K7QXM-2PD9F"), or None."""
    plain = "".join(c for c in text.upper() if c not in "- ")
    if len(plain) != 10 or any(c not in SHORT_ALPHABET for c in plain):
        return None
    return plain[:5] + "-" + plain[5:]


@dataclass(frozen=True)
class IssuedLink:
    token: PortalToken
    raw: str

    @property
    def url(self) -> str:
        return portal_url(self.raw, self.token.tenant_id)

    @property
    def short_url(self) -> str | None:
        """The typable URL of a printed link (None for channels and the staff copy)."""
        return portal_url(short_code(self.raw), self.token.tenant_id) if self.token.short_hash else None


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValidationError({"purpose": [f"must be one of: {', '.join(PURPOSES)}"]})


def _end(claim: Claim, state: str, *conditions: object) -> list[int]:
    ids = list(get_session().scalars(select(PortalToken.id).where(
        PortalToken.claim_id == claim.id, *conditions)).all())  # type: ignore[arg-type]
    if ids:
        get_session().execute(
            update(PortalToken).where(PortalToken.id.in_(ids))
            .values(state=state, ended_at=utcnow(), sealed=None, short_hash=None)
            .execution_options(synchronize_session="fetch"))
    return ids


def issue(claim: Claim, user_id: int | None = None, *, purpose: str = "staff_copy") -> IssuedLink:
    """A new link for ``claim`` and ``purpose``; that purpose's active link is replaced (stops at
    once); links of other purposes are untouched."""
    _check_purpose(purpose)
    session = get_session()
    rotated = _end(claim, "rotated", PortalToken.purpose == purpose, PortalToken.state == "active")
    raw = secrets.token_urlsafe(32)
    token = PortalToken(tenant_id=claim.tenant_id, claim_id=claim.id, token_hash=hash_token(raw),
                        state="active", purpose=purpose, created_by_user_id=user_id,
                        sealed=sealing.seal(raw) if purpose in RECOVERABLE else None,
                        short_hash=hash_token(short_code(raw)) if purpose in PRINTED else None)
    session.add(token)
    session.flush()
    emit("portal.link_issued", claim.tenant_id,
         {"claim_id": claim.id, "token_id": token.id, "purpose": purpose, "rotated": len(rotated),
          "user_id": user_id})
    return IssuedLink(token, raw)


def current(claim: Claim, purpose: str) -> IssuedLink | None:
    """The purpose's active link with its secret, when it can be recovered and still opens."""
    token = get_session().scalar(select(PortalToken).where(
        PortalToken.claim_id == claim.id, PortalToken.purpose == purpose, PortalToken.state == "active")
        .order_by(PortalToken.id.desc()))
    raw = sealing.unseal(token.sealed) if token is not None else None
    if token is None or raw is None or not hmac.compare_digest(hash_token(raw), token.token_hash):
        return None
    return IssuedLink(token, raw) if is_usable(token, claim) else None


def current_or_issue(claim: Claim, purpose: str, user_id: int | None = None) -> IssuedLink:
    """The purpose's live link, issuing one when there is none (or it cannot be recovered)."""
    _check_purpose(purpose)
    return current(claim, purpose) or issue(claim, user_id, purpose=purpose)


def _revoked(claim: Claim, ids: list[int], user_id: int | None) -> None:
    if ids:
        emit("portal.link_revoked", claim.tenant_id, {"claim_id": claim.id, "token_ids": ids, "user_id": user_id})


def revoke(claim: Claim, user_id: int | None = None) -> int:
    """Revoke every link of ``claim`` whatever its state (active or replaced): every portal session
    of the claim ends. Returns how many links were active."""
    active = len(active_tokens(claim))
    _revoked(claim, _end(claim, "revoked", PortalToken.state != "revoked"), user_id)
    return active


revoke_all = revoke


def revoke_link(claim: Claim, token_id: int, user_id: int | None = None) -> bool:
    """Revoke one link of ``claim`` (active or replaced); the sessions it opened end. False when
    the claim has no such link or it was already revoked."""
    ids = _end(claim, "revoked", PortalToken.id == token_id, PortalToken.state != "revoked")
    _revoked(claim, ids, user_id)
    return bool(ids)


ACTIVE = "core.portal_tokens"  # the staff claim page's bundle part (bayline.bundle)


def active_tokens_stmt(claim: Claim) -> Any:
    return select(PortalToken).where(PortalToken.claim_id == claim.id, PortalToken.state == "active").order_by(
        PortalToken.id)


def active_tokens(claim: Claim) -> list[PortalToken]:
    from bayline.bundle import prefetched

    return prefetched(ACTIVE, active_tokens_stmt(claim))


def active_token(claim: Claim, purpose: str | None = None) -> PortalToken | None:
    """The newest active link of ``claim`` (of ``purpose`` when given)."""
    query = select(PortalToken).where(PortalToken.claim_id == claim.id, PortalToken.state == "active")
    if purpose is not None:
        query = query.where(PortalToken.purpose == purpose)
    return get_session().scalar(query.order_by(PortalToken.id.desc()))


def expires_at(claim: Claim) -> object:
    """When links of ``claim`` stop working (None while the claim is not in a terminal stage)."""
    if claim.delivered_at is None:
        return None
    days = settings_registry.get(claim.tenant_id, "portal.link_expiry_days")
    return claim.delivered_at + timedelta(days=int(days))


def expired(claim: Claim) -> bool:
    ends = expires_at(claim)
    return ends is not None and utcnow() >= ends  # type: ignore[operator]


def is_usable(token: PortalToken | None, claim: Claim | None) -> bool:
    if token is None or claim is None or token.state != "active" or claim.archived_at is not None:
        return False
    if token.claim_id != claim.id or token.tenant_id != claim.tenant_id:
        return False
    return not expired(claim)


def find_any(raw: str) -> PortalToken | None:
    """The token row for a raw token or a printed short code, whatever its state (to name the shop on
    the "link not working" page). An ended link's short code is forgotten (codes are short)."""
    if not raw or len(raw) > 100:
        return None
    short = normalise_short(raw) if len(raw) <= 12 else None
    column = PortalToken.short_hash if short else PortalToken.token_hash
    digest = hash_token(short or raw)
    session = get_session()
    with unscoped(session):
        token = session.scalar(select(PortalToken).where(column == digest))
    stored = (token.short_hash if short else token.token_hash) if token is not None else None
    return token if stored is not None and hmac.compare_digest(stored, digest) else None


def lookup(raw: str) -> tuple[PortalToken, Claim] | None:
    """The usable (token, claim) for a raw token from a URL, across tenants; None otherwise."""
    token = find_any(raw)
    if token is None:
        return None
    session = get_session()
    with unscoped(session):
        claim = session.get(Claim, token.claim_id)
    if not is_usable(token, claim):
        return None
    return token, claim  # type: ignore[return-value]


def open_session(token: PortalToken, claim: Claim) -> dict[str, int]:
    """Open a portal session through ``token`` for ``claim``: the row, and the entry the browser's
    signed cookie carries (``{"s": shop, "c": claim, "t": link, "i": session}``)."""
    row = PortalSession(tenant_id=claim.tenant_id, token_id=token.id, claim_id=claim.id)
    get_session().add(row)
    get_session().flush()
    return {"c": claim.id, "s": claim.tenant_id, "t": token.id, "i": row.id}


def end_session(session_id: int) -> bool:
    """End one portal session (this device signs out). False when it had already ended or is unknown
    in the current tenant. Ending the row bumps the claim's generation, so no stored page outlives it."""
    row = get_session().get(PortalSession, session_id)
    if row is None or row.ended_at is not None:
        return False
    row.ended_at = utcnow()
    get_session().flush()
    # open live streams of this claim end on it (a copied cookie's included; the others reconnect)
    emit("portal.session_ended", row.tenant_id, {"claim_id": row.claim_id, "session_id": row.id})
    return True


@prepare
def _session_row(session_id: int, token_id: int, claim_id: int) -> Any:
    return select(PortalSession).where(PortalSession.id == session_id, PortalSession.token_id == token_id,
                                       PortalSession.claim_id == claim_id)


@prepare
def _token_row(token_id: int) -> Any:
    return select(PortalToken).where(PortalToken.id == token_id)


@prepare
def _claim_row(claim_id: int) -> Any:
    return select(Claim).where(Claim.id == claim_id)


def load_session_token(token_id: int, claim_id: int, session_id: int) -> tuple[PortalToken, Claim] | None:
    """Re-check a portal session and its link: an ended session (signed out), a revoked link,
    expiry and archiving end it; a replaced (rotated) link no longer opens, but a customer already
    in keeps going. One statement (the session row, its link and claim: a prepared bundle)."""
    from bayline.bundle import load_parts

    found = load_parts({"session": _session_row(session_id, token_id, claim_id), "token": _token_row(token_id),
                        "claim": _claim_row(claim_id)}, get_session())
    if not (found["session"] and found["token"] and found["claim"]):
        return None
    (row,), (token,), (claim,) = found["session"], found["token"], found["claim"]
    if row.ended_at is not None or token.state == "revoked" or claim.archived_at is not None:
        return None
    if token.claim_id != claim.id or token.tenant_id != claim.tenant_id or expired(claim):
        return None
    return token, claim
