"""Signatures on documents, asked of the plugins (hook ``request_signature``), never by plugin name:
the asking plugin hands over a :class:`SignatureDocument` and hears the provider's signed event
(an event type the provider registers, carrying ``source`` and ``reference``) back."""
from __future__ import annotations

from typing import Any

from flask import current_app, g

from bayline.claims.models import Claim
from bayline.errors import Refused
from bayline.plugins.types import SignatureDocument, SignatureRequest


def _hooks(shop: Any = None) -> Any:
    if shop is None and g.get("hooks") is not None:
        return g.hooks
    from bayline.tenancy import current_tenant_id
    from bayline.tenants.entitlements import active_features
    from bayline.tenants.models import Shop

    if shop is None:
        shop = g.get("shop")
    if shop is None:
        from bayline.db import get_session
        from bayline.tenancy import unscoped

        tenant = current_tenant_id()
        if tenant is None:
            return None
        session = get_session()
        with unscoped(session):
            shop = session.get(Shop, tenant)
        if shop is None:
            return None
    return current_app.extensions["bayline.plugins"].hooks_for(active_features(shop))


def available(shop: Any = None) -> bool:
    """True when a plugin active for ``shop`` (default: the request's shop, else the current tenant's)
    implements ``request_signature``."""
    hooks = _hooks(shop)
    return hooks is not None and bool(hooks.request_signature.get_hookimpls())


def request(claim: Claim, document: SignatureDocument) -> SignatureRequest:
    """Ask the active signing plugin for a signing request of ``document`` for ``claim``'s customer
    (rows added to the caller's transaction). Raises :class:`Refused` 409
    ``signature_unavailable`` when no active plugin provides signatures."""
    hooks = _hooks()
    answers = hooks.request_signature(claim=claim, document=document) if hooks is not None else []
    for answer in answers:
        if isinstance(answer, SignatureRequest):
            return answer
    raise Refused(409, "signature_unavailable",
                  "Signing is not available for this shop (the e-signature feature is not active).")
