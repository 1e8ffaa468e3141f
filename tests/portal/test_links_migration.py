"""Revision 5c1e7a2b9d40 masks portal links already stored in clear (message bodies, SMS logs, any
text column) and gives old links the staff-copy purpose; they keep working."""
from __future__ import annotations

from sqlalchemy import inspect, text

from bayline import migrate
from bayline.db import get_db
from bayline.portal.links import MASK

from ..test_upgrade import CORE, PREVIOUS_RELEASE


def test_upgrade_masks_stored_links_and_keeps_old_links_working(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop)
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": "hello"}).status_code == 201
    raw = claim.portal_link.raw
    with app.app_context():
        get_db(app).dispose()
        for component in reversed(list(migrate.components(app))):  # plugins the release did not ship
            if component not in PREVIOUS_RELEASE:  # may reference core tables it did not have
                migrate.downgrade(app, component, "base")
        migrate.downgrade(app, "core", PREVIOUS_RELEASE[CORE])
        get_db(app).dispose()
        assert "purpose" not in {c["name"] for c in inspect(get_db(app).engine).get_columns("portal_tokens")}
        with get_db(app).engine.begin() as conn:  # what the previous version stored
            conn.execute(text("UPDATE messages SET body = :b"), {"b": f"Track it: http://localhost/c/{raw} thanks"})
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
        with get_db(app).engine.begin() as conn:
            bodies = [r[0] for r in conn.execute(text("SELECT body FROM messages"))]
            purposes = {r[0] for r in conn.execute(text("SELECT purpose FROM portal_tokens"))}
    assert bodies == [f"Track it: {MASK} thanks"] and purposes == {"staff_copy"}
    assert app.test_client().get(f"/c/{raw}").status_code == 200
