"""The claim of the verified customer portal session of this request (``/c/s/...`` pages)."""
from __future__ import annotations

from flask import g

from bayline.claims.models import Claim
from bayline.errors import Refused


def current_portal_claim() -> Claim:
    """The claim whose portal session this request carries; a 404 (the portal's friendly "this
    link isn't working" page) without a verified session, or when the shop's portal is off.

    The session's shop is bound and its tenant set before any view runs (the portal's shop
    resolver), so tenant-scoped queries work in the view."""
    claim = g.get("portal_claim")
    if claim is None or g.get("shop") is None or "portal" not in g.get("features", frozenset()):
        raise Refused(404, "not_found", "This page is not available.")
    return claim
