"""Celery task ``bayline.portal.prune_sessions``: portal session rows that can never open a page
again are deleted once they have been over for ``KEEP``, so the table holds live sessions and recent
history only."""
from __future__ import annotations

from datetime import datetime, timedelta

from celery import shared_task
from sqlalchemy import delete, or_, select

from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.tenancy import unscoped

from .models import PortalSession, PortalToken

KEEP = timedelta(days=30)  # recent sign-outs stay visible to staff and to support for a month
DAILY = 24 * 3600.0


def prune(now: datetime | None = None) -> int:
    """Delete, across every shop, sessions signed out, or opened through a link revoked, or of a claim
    archived, more than ``KEEP`` ago. Returns how many went."""
    cutoff = (now or utcnow()) - KEEP
    session = get_session()
    with unscoped(session):
        revoked = select(PortalToken.id).where(PortalToken.state == "revoked", PortalToken.ended_at < cutoff)
        archived = select(Claim.id).where(Claim.archived_at < cutoff)
        result = session.execute(delete(PortalSession).where(or_(
            PortalSession.ended_at < cutoff, PortalSession.token_id.in_(revoked),
            PortalSession.claim_id.in_(archived))).execution_options(synchronize_session=False))
    session.commit()
    return int(result.rowcount or 0)


@shared_task(name="bayline.portal.prune_sessions")
def prune_sessions() -> int:
    """Periodic (beat, daily)."""
    return prune()
