"""Run by ``test_new_plugin.py`` with the child virtualenv's Python, where the scaffolded plugin is
``pip install -e``-ed, against the database that ``flask db upgrade`` migrated and on which
``flask bayline features grant`` granted the plugin: its claim panel shows and its form posts, its
card shows on the customer's page, and its API resource is in ``/api/v1/openapi.json``.

``python scaffold_check.py NAME SHOP_SLUG OWNER_EMAIL`` prints ``ok`` (an AssertionError otherwise).
"""
from __future__ import annotations

import sys
from urllib.parse import urlsplit

from sqlalchemy import select

from bayline import create_app, settings_registry
from bayline.auth.models import User
from bayline.claims import service
from bayline.db import get_session
from bayline.events import commit
from bayline.tenancy import set_tenant, unscoped
from bayline.tenants.models import Shop
from bayline.testing.forms import csrf_token


def main(name: str, slug: str, email: str) -> None:
    app = create_app()
    info = app.extensions["bayline.plugins"].plugins[name]
    assert info.state == "installed" and info.distribution == f"bayline-{name}", (info.state, info.error)
    with app.app_context():
        session = get_session()
        with unscoped(session):
            shop = session.scalar(select(Shop).where(Shop.slug == slug))
            login = session.scalar(select(User).where(User.email == email)).get_id()
        set_tenant(shop.id)
        settings_registry.set_values(shop.id, {"portal.verification": "off", f"{name}.greeting": "From the shop"},
                                     None)
        claim = service.create_claim({"number": "RO-1", "customer_first_name": "Dana",
                                      "customer_last_name": "Reyes"})
        commit()
        shop_id, claim_id = shop.id, claim.id

    staff = app.test_client()
    with staff.session_transaction() as s:
        s["_user_id"], s["_fresh"], s["shop_id"] = login, True, shop_id
    page = staff.get(f"/console/claims/{claim_id}")
    assert page.status_code == 200 and f'data-panel="{name}"' in page.text, page.status_code
    token = csrf_token(page)
    posted = staff.post(f"/plugins/{name}/claims/{claim_id}/notes", data={"body": "Paint matched", "csrf_token": token})
    assert posted.status_code == 303, posted.status_code
    assert "Paint matched" in staff.get(f"/console/claims/{claim_id}").text

    link = staff.post(f"/api/v1/claims/{claim_id}/portal-link", headers={"X-CSRFToken": token})
    assert link.status_code in (200, 201), link.get_json()
    customer = app.test_client()
    landing = customer.get(urlsplit(link.get_json()["url"]).path)
    assert landing.status_code in (302, 303), landing.status_code
    card = customer.get(landing.headers["Location"]).text
    assert "From the shop" in card and "Paint matched" in card

    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert f"/api/v1/plugins/{name}/claims/{{claim_id}}/notes" in spec["paths"], sorted(spec["paths"])
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:4])
