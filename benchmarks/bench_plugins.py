"""Plugin gating overhead (10 installed plugins vs none) and app start time with bundled plugins."""
from __future__ import annotations

import statistics
import time
import types

from bayline import ClaimPanel, Feature, hookimpl
from bayline.events import commit
from bayline.tenancy import set_tenant
from bayline.tenants import provisioning

from .harness import Result, compare, make_app, tempdir


def fake_plugin(i: int) -> types.ModuleType:
    mod = types.ModuleType(f"bayline_bench{i}")
    name = f"bench{i}"

    @hookimpl
    def register_features():
        return [Feature(name, name)]

    @hookimpl
    def claim_panels(claim, user):
        return [ClaimPanel(name, name, "<p>x</p>")]

    mod.register_features = register_features
    mod.claim_panels = claim_panels
    return mod


def _claim_page_client(app, enable: list[str]):
    from bayline.db import get_session

    with app.app_context():
        group = provisioning.create_group("G", "g")
        shop = provisioning.create_shop(group, "S", slug="s", plan="starter")
        user = provisioning.create_user("b@example.com", "B", "correct-horse-42")
        provisioning.add_membership(user, shop, "owner")
        for name in enable:
            provisioning.set_addon(shop, name, True)
        set_tenant(shop.id)
        from bayline.claims.service import create_claim

        claim = create_claim({"number": "1", "customer_first_name": "A", "customer_last_name": "B"})
        commit(get_session())
        claim_id, login_id = claim.id, user.get_id()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = login_id
    return client, f"/console/claims/{claim_id}"


def run() -> list[Result]:
    results = []
    bare_app = make_app(tempdir())
    bare, url = _claim_page_client(bare_app, [])
    plugins = [(f"bench{i}", fake_plugin(i)) for i in range(10)]
    gated_app = make_app(tempdir(), plugins=plugins)
    # ten installed, none entitled: the same page, so the difference is the gating itself
    gated, url2 = _claim_page_client(gated_app, [])
    base, with_plugins = compare(lambda: bare.get(url), lambda: gated.get(url2))
    ratio = with_plugins / base
    results.append(Result("Plugin gating, staff claim page: 10 installed, inactive plugins vs none",
                          f"{base * 1000:.2f} ms vs {with_plugins * 1000:.2f} ms", ratio,
                          "< 1.05 (under 5 % overhead)", ratio < 1.05))
    starts = []
    tmp = tempdir()
    from bayline import create_app

    for i in range(5):
        start = time.perf_counter()
        create_app({"database_url": f"sqlite:///{tmp}/start.db", "env": "test", "instance_dir": tmp / f"i{i}"})
        starts.append(time.perf_counter() - start)
    start_s = statistics.median(starts)
    results.append(Result("App start (create_app) with all bundled plugins",
                          f"{start_s:.2f} s", None, "< 1.5 s", start_s < 1.5))
    return results
