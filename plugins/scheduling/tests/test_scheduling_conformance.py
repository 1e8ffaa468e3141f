"""The plugin keeps the one-name rules, imports only the public API, and its migration matches its
models, downgrades and upgrades again."""
from __future__ import annotations


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "scheduling") == []


def test_feature_settings_and_routes_are_registered(app):
    assert "scheduling" in app.extensions["bayline.features"]
    spec = app.extensions["bayline.api"].spec.to_dict()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/plugins/scheduling/")}
    assert {"/api/v1/plugins/scheduling/availability", "/api/v1/plugins/scheduling/appointments",
            "/api/v1/plugins/scheduling/appointments/{appointment_id}",
            "/api/v1/plugins/scheduling/appointments/{appointment_id}/ics",
            "/api/v1/plugins/scheduling/reservations",
            "/api/v1/plugins/scheduling/reservations/{reservation_id}",
            "/api/v1/plugins/scheduling/types"} <= paths
    assert "Appointment" in spec["components"]["schemas"]


def test_migration_matches_the_models_and_round_trips(app):
    from sqlalchemy import inspect

    from bayline import migrate
    from bayline.db import get_db

    with app.app_context():
        assert migrate.pending_changes(app) == []
        get_db(app).dispose()
        migrate.downgrade(app, "scheduling", "base")
        get_db(app).dispose()
        assert not [t for t in inspect(get_db(app).engine).get_table_names() if t.startswith("scheduling_")]
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
