"""Issue 17 extra: the portal verification lockout raced (10 concurrent wrong answers recorded 6 for
a limit of 5). Attempts on one link are serialised on the link's row; exactly five are recorded."""
from __future__ import annotations

import re
import threading

from sqlalchemy import select

from bayline.portal.models import PortalAttempt
from bayline.testing.plugin import in_tenant

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_parallel_wrong_answers_never_pass_the_limit(app, make_shop, make_claim):
    claim = make_claim(make_shop())
    raw = claim.portal_link.raw
    clients = []
    for _ in range(10):
        client = app.test_client()
        token = _TOKEN.search(client.get(f"/c/{raw}").get_data(as_text=True)).group(1)
        clients.append((client, token))
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def guess(client, token):
        start.wait()
        r = client.post(f"/c/{raw}", data={"csrf_token": token, "last_name": "Wrong", "claim_number": claim.number})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {422, 429} and len(statuses) == 10
    with in_tenant(app, claim.tenant_id) as session:
        failed = session.scalars(select(PortalAttempt).where(PortalAttempt.claim_id == claim.id)).all()
    assert len(failed) == 5, statuses
