"""CLI: ``flask db upgrade`` and the ``flask bayline`` administration commands, through the Flask CLI runner."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, inspect, select

from bayline import create_app
from bayline.auth.models import ApiKey, User
from bayline.claims.models import Claim, StageHistory
from bayline.db import get_db
from bayline.tenants.models import Group, Membership, Shop
from bayline.testing.forms import csrf_token
from bayline.testing.plugin import in_tenant


def run(app, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input, catch_exceptions=False)


def ok(app, *args: str, input: str | None = None) -> str:
    result = run(app, *args, input=input)
    assert result.exit_code == 0, result.output
    return result.output


def counts(app) -> dict[str, int]:
    with in_tenant(app) as session:
        return {m.__name__: session.scalar(select(func.count()).select_from(m))
                for m in (Group, Shop, User, Membership, Claim, StageHistory, ApiKey)}


def test_db_upgrade_on_an_empty_database(tmp_path):
    app = create_app({"database_url": f"sqlite:///{tmp_path / 'fresh.db'}", "env": "test",
                      "instance_dir": tmp_path / "instance"})
    try:
        with app.app_context():
            assert "claims" not in inspect(get_db(app).engine).get_table_names()
        assert "upgraded core" in ok(app, "db", "upgrade")
        with app.app_context():
            assert {"claims", "stages", "shops", "users", "api_keys"} <= set(
                inspect(get_db(app).engine).get_table_names())
        ok(app, "db", "upgrade")  # again: nothing to do, no error
        ok(app, "db", "check")
        assert "core:" in ok(app, "db", "current")
        # and the app works on it
        ok(app, "bayline", "seed-demo")
        assert counts(app)["Claim"] == 20
    finally:
        get_db(app).dispose()


def test_db_upgrade_is_idempotent_on_a_migrated_database(app):
    ok(app, "db", "upgrade")
    ok(app, "db", "check")


def test_seed_demo_creates_two_shops_and_twenty_claims(app):
    before = counts(app)
    out = ok(app, "bayline", "seed-demo")
    info = json.loads(out.strip().splitlines()[-1])
    after = counts(app)
    assert after["Shop"] - before["Shop"] == 2
    assert after["Group"] - before["Group"] == 1
    assert after["Claim"] == 20
    assert after["StageHistory"] >= 20  # every claim has at least its opening entry
    with in_tenant(app) as session:
        per_shop = dict(session.execute(select(Claim.tenant_id, func.count()).group_by(Claim.tenant_id)).all())
        assert len(per_shop) == 2 and sum(per_shop.values()) == 20
        assert len(set(session.scalars(select(Claim.stage_id)))) > 1  # spread across stages
    # the printed login and API key work
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    r = client.post("/login", data={"email": info["email"], "password": info["password"], "csrf_token": token})
    assert r.status_code == 302
    r = app.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {info['api_key']}"})
    assert r.status_code == 200 and len(r.json) == 10


def test_seed_demo_if_empty_is_idempotent(app):
    ok(app, "bayline", "seed-demo", "--if-empty")
    seeded = counts(app)
    assert "demo data present" in ok(app, "bayline", "seed-demo", "--if-empty")
    assert counts(app) == seeded
    result = run(app, "bayline", "seed-demo")
    assert result.exit_code != 0 and "exists already" in result.output
    assert counts(app) == seeded


def test_create_shop_and_user(app):
    out = ok(app, "bayline", "create-shop", "--group", "Eastside Auto", "--name", "Eastside Downtown",
             "--plan", "professional")
    shop_id, slug = re.match(r"shop (\d+) (\S+)", out.strip()).groups()
    # a second shop joins the same group by name
    out2 = ok(app, "bayline", "create-shop", "--group", "Eastside Auto", "--name", "Eastside Harbor",
              "--stages", "production")
    with in_tenant(app) as session:
        first = session.get(Shop, int(shop_id))
        second = session.scalar(select(Shop).where(Shop.slug == out2.split()[2]))
        assert first.slug == slug and first.plan_key == "professional"
        assert first.group_id == second.group_id
    bad = run(app, "bayline", "create-shop", "--group", "G", "--name", "X", "--plan", "platinum")
    assert bad.exit_code != 0

    out = ok(app, "bayline", "create-user", "--email", "Lee@Eastside.example", "--name", "Lee",
             "--shop", slug, "--role", "estimator", input="long-enough-pass-9\nlong-enough-pass-9\n")
    assert "estimator at" in out
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = csrf_token(page)
    r = client.post("/login", data={"email": "lee@eastside.example", "password": "long-enough-pass-9",
                                    "csrf_token": token})
    assert r.status_code == 302
    assert "Eastside Downtown" in client.get("/console/").get_data(as_text=True)

    before = counts(app)
    assert run(app, "bayline", "create-user", "--email", "x@e.example", "--name", "X", "--shop", "no-such-shop",
               input="long-enough-pass-9\nlong-enough-pass-9\n").exit_code != 0
    assert run(app, "bayline", "create-user", "--email", "y@e.example", "--name", "Y", "--shop", slug,
               "--role", "overlord", input="long-enough-pass-9\nlong-enough-pass-9\n").exit_code != 0
    assert counts(app) == before


def test_rotate_api_key(app, make_shop, make_claim):
    shop = make_shop()
    make_claim(shop)

    def status(secret: str) -> int:
        return app.test_client().get("/api/v1/claims", headers={"Authorization": f"Bearer {secret}"}).status_code

    old = ok(app, "bayline", "rotate-api-key", "--shop", shop.slug, "--name", "dms").strip()
    assert old.startswith("bl_") and status(old) == 200
    new = ok(app, "bayline", "rotate-api-key", "--shop", shop.slug, "--name", "dms").strip()
    assert new != old
    assert status(old) == 401
    assert status(new) == 200
    # a key with another name is left alone
    other = ok(app, "bayline", "rotate-api-key", "--shop", shop.slug, "--name", "accounting",
               "--scope", "read").strip()
    ok(app, "bayline", "rotate-api-key", "--shop", shop.slug, "--name", "dms")
    assert status(other) == 200 and status(new) == 401
    r = app.test_client().post("/api/v1/claims", json={"number": "R", "customer_first_name": "A",
                                                       "customer_last_name": "B"},
                               headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 403  # read scope
    assert run(app, "bayline", "rotate-api-key", "--shop", "nope", "--name", "dms").exit_code != 0


@pytest.mark.parametrize("args", [["bayline", "demo-info"]])
def test_demo_info_needs_the_demo(app, args):
    assert run(app, *args).exit_code != 0
    ok(app, "bayline", "seed-demo")
    assert "owner@harbor.example" in ok(app, *args)
