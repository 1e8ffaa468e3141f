"""The plugin keeps the one-name rules, imports only the public API, and its migration matches its
models (no pending autogenerate changes), downgrades and upgrades again."""
from __future__ import annotations


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "quotes") == []


def test_features_and_routes_are_registered(app):
    assert {"quotes", "payments"} <= set(app.extensions["bayline.features"])
    spec = app.extensions["bayline.api"].spec.to_dict()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/plugins/quotes/")}
    assert {"/api/v1/plugins/quotes/claims/{claim_id}/versions", "/api/v1/plugins/quotes/claims/{claim_id}/imports",
            "/api/v1/plugins/quotes/imports", "/api/v1/plugins/quotes/versions/{version_id}",
            "/api/v1/plugins/quotes/versions/{version_id}/decisions",
            "/api/v1/plugins/quotes/versions/{version_id}/reverse",
            "/api/v1/plugins/quotes/claims/{claim_id}/payments",
            "/api/v1/plugins/quotes/claims/{claim_id}/payment-summary"} <= paths


def test_migration_matches_the_models_and_round_trips(app, quotes_shop, q):
    from sqlalchemy import inspect

    from bayline import migrate
    from bayline.db import get_db

    assert quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml")).status_code == 201
    with app.app_context():
        assert migrate.pending_changes(app) == []
        get_db(app).dispose()
        migrate.downgrade(app, "quotes", "base")
        get_db(app).dispose()
        assert not [t for t in inspect(get_db(app).engine).get_table_names() if t.startswith("quotes_")]
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
    r = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml"))
    assert r.status_code == 201 and r.get_json()["version"]["totals"]["total"] == "1030.00"


def test_signed_approval_revision_keeps_the_estimates(app, quotes_shop, q):
    """Revision 8d2e6b4f1a93 only adds columns: down and up again, versions and lines stay."""
    from bayline import migrate
    from bayline.db import get_db

    v = quotes_shop.api.post("/api/v1/plugins/quotes/imports", json=q.bms("bms_original.xml")).get_json()["version"]
    with app.app_context():
        get_db(app).dispose()
        migrate.downgrade(app, "quotes", "3f1c9a7e5b21")
        get_db(app).dispose()
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
    after = quotes_shop.api.get(f"/api/v1/plugins/quotes/versions/{v['id']}").get_json()
    assert len(after["lines"]) == len(v["lines"]) and after["totals"]["total"] == "1030.00"
    assert after["signature"] is None
