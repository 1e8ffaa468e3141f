"""Tasks used by the test suite to prove tenant context survives the trip to a real worker."""
from __future__ import annotations

import json

import redis
from celery import shared_task
from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.ops.logs import current_request_id
from bayline.tenancy import current_tenant_id


@shared_task(name="bayline.testing.visible_claims")
def visible_claims(redis_url: str, key: str, probe_claim_id: int) -> None:
    """Report which claims the task can see, whether it can load ``probe_claim_id`` and the request id
    it runs under."""
    session = get_session()
    seen = sorted(session.scalars(select(Claim.id)))
    probe = session.get(Claim, probe_claim_id)
    result = {"tenant": current_tenant_id(), "claims": seen, "probe_visible": probe is not None,
              "request_id": current_request_id()}
    redis.Redis.from_url(redis_url).rpush(key, json.dumps(result))


@shared_task(name="bayline.testing.tenant_of_task")
def tenant_of_task() -> int | None:
    """The tenant the task body runs under (eager-mode check)."""
    return current_tenant_id()
