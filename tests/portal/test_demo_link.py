"""``flask bayline demo-info`` prints a working customer link for demo claim RO-24100 (a new one each
time: only hashes are stored), and the demo's Downtown shop opens it without verification."""
from __future__ import annotations

import re

from bayline import settings_registry
from bayline.tenants.models import Shop
from bayline.testing.plugin import in_tenant


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_info_prints_a_working_portal_link(app):
    _cli(app, "bayline", "seed-demo")
    out = _cli(app, "bayline", "demo-info")
    assert "owner@harbor.example" in out and "Customer page:" in out and "RO-24100" in out
    url = re.search(r"Customer page: (\S+)", out).group(1)
    assert url.startswith("http://localhost/c/")
    path = url.removeprefix("http://localhost")
    client = app.test_client()
    r = client.get(path)
    assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/")  # verification is off
    page = client.get("/c/s/").get_data(as_text=True)
    assert "RO-24100" in page and "Harbor Collision — Downtown" in page
    # asking again issues a new link; the printed one before it stops
    again = re.search(r"Customer page: (\S+)", _cli(app, "bayline", "demo-info")).group(1)
    assert again != url
    assert app.test_client().get(path).status_code == 404
    assert app.test_client().get(again.removeprefix("http://localhost")).status_code == 303


def test_demo_info_names_what_to_type_when_verification_is_on(app):
    _cli(app, "bayline", "seed-demo")
    with in_tenant(app) as session:
        shop = session.query(Shop).filter_by(slug="harbor-downtown").one()
        settings_registry.set_values(shop.id, {"portal.verification": "name_claim"}, role=None)
        session.commit()
    out = _cli(app, "bayline", "demo-info")
    assert "type last name 'Lopez' and claim number RO-24100" in out
    with in_tenant(app) as session:
        quincy = session.query(Shop).filter_by(slug="harbor-quincy").one()
        assert settings_registry.get(quincy.id, "portal.verification") == "name_claim"
