"""A GET writes nothing (issue 18 item 2).

Every GET route of the isolation sweep (the id-bearing routes, on the caller's own objects) and every
GET route without an id (listings, console and portal pages, ops probes) is requested as each caller
that may use it — shop A's API key, A's logged-in owner, A's customer on the portal, an anonymous
visitor — while a ``before_cursor_execute`` listener on the app's engine records every INSERT,
UPDATE or DELETE. Any is reported with the route, the caller and the statement.

Deliberate exceptions, each written at most once and never by the page's own read:

- an API key's ``last_used_at``: at most every 5 minutes per key, a conditional UPDATE in its own
  short transaction at authentication that bumps no page-cache generation (core/auth/context.py,
  ``stamp_last_used``). The walk makes one request per caller before it listens.
- :data:`FIRST_VIEW_STAMPS`: audit evidence stamped on the first view only (the e-sign audit page
  shows when the signer first opened the document). The walk views each once before it listens,
  allows only that table there, and then the route must write nothing.

Routes with a token or file name in the URL (NOT_OBJECT_IDS) are covered by their own tests.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from bayline.db import get_db

from .test_isolation import NOT_OBJECT_IDS, Probe, Tenant, build_tenant, make_probes

WRITE = re.compile(r"^\s*(?:WITH\b.*?\)\s*)?(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE | re.DOTALL)


@contextmanager
def recorded_writes(app: Flask) -> Iterator[list[str]]:
    """Every INSERT/UPDATE/DELETE the app's engine sends while the block runs."""
    writes: list[str] = []
    engine = get_db(app).engine

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITE.match(statement):
            writes.append(" ".join(statement.split())[:160])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", listener)


# Route -> the one table its first view may stamp (see the module docstring).
FIRST_VIEW_STAMPS = {"/c/s/esign/documents/<public_id>": "esign_documents"}


def test_the_write_matcher() -> None:
    assert WRITE.match("INSERT INTO esign_templates (key) VALUES (?)")
    assert WRITE.match("  update api_keys set last_used_at=?")
    assert WRITE.match("WITH x AS (SELECT 1) DELETE FROM t")
    assert not WRITE.match("SELECT id FROM claims WHERE number = 'UPDATE'")
    assert not WRITE.match("SELECT claims.id FROM claims FOR UPDATE")


def get_rules(app: Flask) -> list[Any]:
    """GET routes whose parameters the walk can fill (none, or the sweep's object ids)."""
    rules = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.endpoint.startswith("api-docs"):
            continue
        if rule.arguments & NOT_OBJECT_IDS:
            continue
        rules.append(rule)
    return rules


def callers(rule: str, probes: list[Probe]) -> list[Probe]:
    """Who may call ``rule``: the portal's customer on /c/, API keys on /api/, the owner elsewhere, a
    group admin on the group routes and a platform admin on the platform's."""
    out = []
    for probe in probes:
        if probe.name == "group admin":
            out += [probe] if "/group" in rule else []
        elif probe.name == "platform admin":
            out += [probe] if "/platform" in rule or rule.startswith("/-/") else []
        elif probe.name == "anonymous":
            out.append(probe)
        elif rule.startswith("/c/"):
            out += [probe] if probe.name == "portal" else []
        elif probe.name == "api key":
            out += [probe] if rule.startswith("/api/") else []
        elif probe.name == "staff owner":
            out.append(probe)
    return out


@pytest.fixture
def shop_a(app, make_shop, make_user, make_claim) -> Tenant:
    return build_tenant(app, make_shop, make_user, make_claim, "A")


def esign_ids(app: Flask, tenant: Tenant, api_client: Any) -> dict[str, str]:
    """A signing package on the tenant's claim: its public id and its document's, by route kind."""
    if "esign" not in app.extensions["bayline.plugins"].plugins:
        return {}
    r = api_client(tenant.shop).post(f"/plugins/esign/claims/{tenant.claim.id}/packages",
                                     json={"templates": ["repair_authorization"]})
    assert r.status_code == 201, r.get_json()
    return {"/packages/": r.json["id"], "/documents/": r.json["documents"][0]["id"]}


def url_values(rule: Any, tenant: Tenant, public_ids: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param in rule.arguments:
        if param == "public_id":
            kind = next((k for k in public_ids if k in rule.rule), None)
            assert kind, f"{rule.rule}: no object for public_id; add one to esign_ids()"
            values[param] = public_ids[kind]
        else:
            assert param in tenant.ids, f"{rule.rule}: no object for {param}; add one to the isolation sweep"
            values[param] = tenant.ids[param]
    return values


def test_no_get_route_writes(app, shop_a, make_user, api_client, client_for, portal_client) -> None:
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.testing.plugin import in_tenant

    app.config["BAYLINE_SSE_MAX_SECONDS"] = 0.05  # the live-update streams end at once
    public_ids = esign_ids(app, shop_a, api_client)
    with in_tenant(app) as session:
        admin = provisioning.create_user("zq-platform@example.com", "Platform", platform_admin=True)
        commit(session)
    probes = [*make_probes(app, shop_a, api_client, client_for, portal_client),
              Probe("group admin", client_for(make_user(shop_a.shop, group_admin=True), shop_a.shop), {}, ()),
              Probe("platform admin", client_for(admin), {}, ())]
    for probe in probes:  # each key's throttled last-used stamp is written once, before the walk listens
        probe.client.get("/api/v1/claims", headers=probe.headers)
    problems, walked = [], 0
    for rule in get_rules(app):
        url = rule.build(url_values(rule, shop_a, public_ids), append_unknown=False)[1]
        for probe in callers(rule.rule, probes):
            if rule.rule in FIRST_VIEW_STAMPS:
                with recorded_writes(app) as writes:
                    probe.client.get(url, headers=probe.headers)
                table = FIRST_VIEW_STAMPS[rule.rule]
                problems += [f"GET {rule.rule} as {probe.name}, first view: {w}" for w in writes
                             if not w.upper().startswith(f"UPDATE {table.upper()} ")]
            with recorded_writes(app) as writes:
                r = probe.client.get(url, headers=probe.headers)
                r.get_data()  # streamed answers run their generator here
            walked += 1
            assert r.status_code < 500, f"GET {rule.rule} as {probe.name}: {r.status_code}"
            problems += [f"GET {rule.rule} as {probe.name} ({r.status_code}): {w}" for w in writes]
    assert walked > 100, walked  # the walk reached the app's pages, not an empty map
    assert not problems, "\n".join(problems)


def test_the_walk_catches_a_writing_view(app, shop_a, client_for) -> None:
    """A GET that stamps a row is reported (the listener sees the statement)."""
    from flask import Blueprint

    from bayline.claims.models import Claim
    from bayline.db import get_session
    from bayline.events import commit
    from bayline.tenancy import set_tenant

    bp = Blueprint("writing_test", __name__)

    @bp.get("/console/writing-test")
    def writing() -> str:
        session = get_session()
        set_tenant(shop_a.shop.id, session)
        session.get(Claim, shop_a.claim.id).vehicle_color = "Stamped"
        commit(session)
        return "ok"

    app.register_blueprint(bp)
    with recorded_writes(app) as writes:
        assert client_for(shop_a.owner, shop_a.shop).get("/console/writing-test").status_code == 200
    assert any(w.upper().startswith("UPDATE CLAIMS") for w in writes), writes


def test_an_api_key_stamp_is_throttled_and_changes_no_page(app, make_shop, make_claim, api_client) -> None:
    """The one write a GET may make: a key's last use, once per 5 minutes, without invalidating the
    shop's stored portal pages (a key's use changes no page)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from bayline.auth.models import ApiKey
    from bayline.testing.plugin import in_tenant

    shop = make_shop()
    claim = make_claim(shop)
    client = api_client(shop)
    store = app.extensions["bayline.generations"]
    pages = store.current(shop.id, claim.id)

    def stamp() -> Any:
        with in_tenant(app, shop.id) as session:
            return session.scalar(select(ApiKey.last_used_at))

    with recorded_writes(app) as writes:
        assert client.get("/api/v1/claims").status_code == 200
    assert [w.split(" SET")[0] for w in writes] == ["UPDATE api_keys"] and stamp() is not None
    with recorded_writes(app) as writes:
        assert client.get("/api/v1/claims").status_code == 200
    assert writes == []
    first = stamp()
    with in_tenant(app, shop.id) as session:  # six minutes later
        session.execute(update(ApiKey).values(last_used_at=first - timedelta(minutes=6)))
        session.commit()
    pages = store.current(shop.id, claim.id)
    with recorded_writes(app) as writes:
        assert client.get("/api/v1/claims").status_code == 200
    assert len(writes) == 1 and stamp() > first - timedelta(minutes=6)
    assert store.current(shop.id, claim.id) == pages  # the stored pages stay valid
