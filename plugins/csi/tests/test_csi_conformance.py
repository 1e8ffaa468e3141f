"""The plugin keeps the one-name rules, imports only the public API, and its migration matches its
models, downgrades and upgrades again."""
from __future__ import annotations


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "csi") == []


def test_features_and_routes_are_registered(app):
    assert {"csi", "reviews"} <= set(app.extensions["bayline.features"])
    spec = app.extensions["bayline.api"].spec.to_dict()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/plugins/csi/")}
    assert {"/api/v1/plugins/csi/responses", "/api/v1/plugins/csi/claims/{claim_id}/survey",
            "/api/v1/plugins/csi/followups", "/api/v1/plugins/csi/followups/{task_id}",
            "/api/v1/plugins/csi/summary", "/api/v1/plugins/csi/scorecard", "/api/v1/plugins/csi/scorecard/recompute",
            "/api/v1/plugins/csi/group/scorecard"} <= paths
    assert {"CsiResponse", "CsiScorecard", "Figures", "LocationFigures"} <= set(spec["components"]["schemas"])
    assert "nps" in spec["components"]["schemas"]["Figures"]["properties"]
    assert {r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith("plugin_csi_public.")} >= {
        "/plugins/csi/t/<token>", "/plugins/csi/t/<token>/thanks"}


def test_migration_matches_the_models_and_round_trips(app):
    from sqlalchemy import inspect

    from bayline import migrate
    from bayline.db import get_db

    with app.app_context():
        assert migrate.pending_changes(app) == []
        get_db(app).dispose()
        migrate.downgrade(app, "csi", "base")
        get_db(app).dispose()
        assert not [t for t in inspect(get_db(app).engine).get_table_names() if t.startswith("csi_")]
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
