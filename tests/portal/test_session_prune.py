"""Portal session rows that can never open a page again (signed out, link revoked, claim archived)
go 30 days after they ended, through the daily beat task; live sessions and recent history stay."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bayline.claims.models import Claim
from bayline.db import utcnow
from bayline.portal.models import PortalSession, PortalToken
from bayline.testing.plugin import in_tenant


def _sessions(app, claim_ids):
    with in_tenant(app) as session:
        return sorted(session.scalars(select(PortalSession.claim_id).where(PortalSession.claim_id.in_(claim_ids))))


def test_prune_removes_only_sessions_over_for_thirty_days(app, make_shop, make_claim, portal_client):
    from bayline.portal.tasks import prune_sessions

    shops = make_shop(), make_shop()
    live, signed_out, recent, revoked, archived = claims = [
        make_claim(shops[i % 2]) for i in range(5)]
    for claim in claims:
        assert portal_client(claim).get("/c/s/").status_code == 200
    long_ago, yesterday = utcnow() - timedelta(days=31), utcnow() - timedelta(days=1)
    with in_tenant(app) as session:
        session.execute(update(PortalSession).where(PortalSession.claim_id == signed_out.id).values(ended_at=long_ago))
        session.execute(update(PortalSession).where(PortalSession.claim_id == recent.id).values(ended_at=yesterday))
        session.execute(update(PortalToken).where(PortalToken.claim_id == revoked.id)
                        .values(state="revoked", ended_at=long_ago))
        session.execute(update(Claim).where(Claim.id == archived.id).values(archived_at=long_ago))
        session.commit()
    ids = [c.id for c in claims]
    assert _sessions(app, ids) == sorted(ids)

    with app.app_context():
        assert prune_sessions.apply().get() == 3
    assert _sessions(app, ids) == sorted([live.id, recent.id])
    with app.app_context():
        assert prune_sessions.apply().get() == 0  # nothing more to do


def test_prune_is_on_the_beat_schedule(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["bayline.portal.prune_sessions"]["task"] == "bayline.portal.prune_sessions"
