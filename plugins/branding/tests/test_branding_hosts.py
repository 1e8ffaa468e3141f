"""Custom portal hosts: a group host serves only its group's claims and landing pages; a claim of
group A on group B's host is a 404, an unknown host is a 404; links issued for a group's claim (portal
links, QR codes, texts) carry the group host."""
from __future__ import annotations

import pytest

from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant

HOST_A, HOST_B = "status.group-a.example", "status.group-b.example"


@pytest.fixture
def app_config():
    return {"trusted_hosts": ["www.bayline.test"]}  # host checking on, as in production


class _OnHost:
    """A test client whose every request says ``Host: host`` (cookies kept per host, as a browser does)."""

    def __init__(self, app, host):
        self.client, self.base = app.test_client(), f"http://{host}"

    def get(self, *args, **kw):
        return self.client.get(*args, base_url=self.base, **kw)

    def post(self, *args, **kw):
        return self.client.post(*args, base_url=self.base, **kw)

    def __getattr__(self, name):
        return getattr(self.client, name)


def _on(app, host):
    return _OnHost(app, host)


def _set_host(app, make_user, client_for, shop, host):
    admin = client_for(make_user(shop, group_admin=True), shop)
    token = csrf_token(admin, "/console/")
    r = admin.put("/api/v1/plugins/branding/host", json={"value": host, "scope": "group"},
                  headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _link(app, claim, purpose="sms"):
    from bayline.events import commit
    from bayline.portal import tokens

    with in_tenant(app, claim.tenant_id) as session:
        issued = tokens.issue(claim, purpose=purpose)
        commit(session)
        return issued.url, issued.raw


@pytest.fixture
def groups(app, make_shop, make_user, client_for, make_claim, set_setting):
    a1 = make_shop(plan="enterprise", name="A Downtown")
    a2 = make_shop(plan="enterprise", name="A Quincy", group_id=a1.group_id)
    b1 = make_shop(plan="enterprise", name="B Main")
    for shop in (a1, a2, b1):
        set_setting(shop, "portal.verification", "off")
    assert _set_host(app, make_user, client_for, a1, HOST_A)["host"] == HOST_A
    _set_host(app, make_user, client_for, b1, HOST_B)
    return a1, a2, b1, {s.id: make_claim(s) for s in (a1, a2, b1)}


def test_links_issued_for_a_groups_claim_carry_the_group_host(app, groups, api_client, sms_outbox):
    a1, a2, b1, claims = groups
    for shop in (a1, a2):
        url, _ = _link(app, claims[shop.id])
        assert url.startswith(f"http://{HOST_A}/c/")
    assert _link(app, claims[b1.id])[0].startswith(f"http://{HOST_B}/c/")
    # the QR on the printed work order and its short URL
    import io

    from pypdf import PdfReader

    r = api_client(a1).post(f"/api/v1/claims/{claims[a1.id].id}/documents", json={"document": "work-order"})
    assert HOST_A in PdfReader(io.BytesIO(r.data)).pages[0].extract_text()
    # a text's {portal_link} (Find my repair on the group host sends one through the messaging core)
    on_a = _on(app, HOST_A)
    token = csrf_token(on_a, f"/p/{a2.slug}")
    r = on_a.post(f"/p/{a2.slug}/find", data={"csrf_token": token, "claim_number": claims[a2.id].number,
                                              "last_name": "Reyes"})
    r.close()
    assert len(sms_outbox) == 1 and f"http://{HOST_A}/c/" in sms_outbox[0].body


def test_a_group_host_serves_only_its_groups_claims(app, groups):
    a1, a2, b1, claims = groups
    on_a = _on(app, HOST_A)
    for shop in (a1, a2):
        _, raw = _link(app, claims[shop.id])
        r = on_a.get(f"/c/{raw}")
        assert r.status_code == 303 and r.headers["Location"] == "/c/s/"
        assert on_a.get("/c/s/").status_code == 200
    _, raw_b = _link(app, claims[b1.id])
    r = on_a.get(f"/c/{raw_b}")
    assert r.status_code == 404 and "B Main" not in r.get_data(as_text=True)
    # group B's customer opened their link on B's host; the same cookie on A's host opens nothing
    on_b = _on(app, HOST_B)
    assert on_b.get(f"/c/{raw_b}").status_code == 303 and on_b.get("/c/s/").status_code == 200
    cookie = on_b.get_cookie("bayline_session", domain=HOST_B)
    stray = _on(app, HOST_A)
    stray.set_cookie("bayline_session", cookie.value, domain=HOST_A)
    assert stray.get("/c/s/").status_code == 404


def test_a_group_host_serves_only_its_landing_pages(app, groups):
    from bayline.tenants.models import Group

    a1, _, b1, _ = groups
    on_a = _on(app, HOST_A)
    assert on_a.get(f"/p/{a1.slug}").status_code == 200
    assert on_a.get(f"/p/{b1.slug}").status_code == 404
    with in_tenant(app) as session:
        slug_a, slug_b = session.get(Group, a1.group_id).slug, session.get(Group, b1.group_id).slug
    assert on_a.get(f"/g/{slug_a}").status_code == 200
    assert on_a.get(f"/g/{slug_b}").status_code == 404
    assert on_a.get(f"/plugins/branding/shops/{b1.slug}/brand.css").status_code == 404


def test_a_custom_host_serves_no_staff_pages(app, groups):
    on_a = _on(app, HOST_A)
    for path in ("/login", "/console/", "/api/v1/claims", "/console/platform/"):
        assert on_a.get(path).status_code == 404, path


def test_an_unknown_host_is_404(app, groups):
    a1, _, _, claims = groups
    _, raw = _link(app, claims[a1.id])
    unknown = _on(app, "status.nobody.example")
    for path in (f"/c/{raw}", f"/p/{a1.slug}", "/login"):
        assert unknown.get(path).status_code == 404
    assert _on(app, "localhost").get("/login").status_code == 200  # the deployment's own host
    assert _on(app, "www.bayline.test").get("/login").status_code == 200


def test_the_host_goes_with_the_plan(app, groups):
    from bayline.events import commit
    from bayline.tenants import features
    from bayline.tenants.models import Shop

    a1, a2, _, claims = groups
    with in_tenant(app) as session:
        for shop in (a1, a2):
            features.change_plan(session.get(Shop, shop.id), "professional")
        commit(session)
    _, raw = _link(app, claims[a1.id])
    assert _link(app, claims[a1.id])[0].startswith("http://localhost/c/")
    assert _on(app, HOST_A).get(f"/c/{raw}").status_code == 404


def test_bad_and_taken_hosts_are_refused(app, groups, make_user, client_for, shop_on):
    a1, _, _, _ = groups
    admin = client_for(make_user(a1, group_admin=True), a1)
    token = csrf_token(admin, "/console/")
    for bad in ("https://x.example/", "not a host", "localhost", "x.example:8443"):
        r = admin.put("/api/v1/plugins/branding/host", json={"value": bad, "scope": "group"},
                      headers={"X-CSRFToken": token})
        assert r.status_code == 422, bad
    r = admin.put("/api/v1/plugins/branding/host", json={"value": HOST_B, "scope": "group"},
                  headers={"X-CSRFToken": token})
    assert r.status_code == 409 and r.get_json()["code"] == "branding_host_taken"
    pro = shop_on("professional")
    r = pro.api.put("/api/v1/plugins/branding/host", json={"value": "status.pro.example"})
    assert r.status_code == 403 and r.get_json()["code"] == "feature_not_in_plan"
