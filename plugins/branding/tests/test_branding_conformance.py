"""The plugin keeps the one-name rules, imports only the public API, its migration matches its
models and round-trips, and its features sit on the plans the issue names."""
from __future__ import annotations


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "branding") == []


def test_features_are_on_the_paid_plans(app, db):
    from sqlalchemy import select

    from bayline.tenants.models import PlanFeature

    rows = set(db.execute(select(PlanFeature.plan_key, PlanFeature.feature)
                          .where(PlanFeature.feature.like("%branding%"))))
    assert {(p, "branding") for p in ("professional", "elite", "enterprise")} <= rows
    assert ("starter", "branding") not in rows
    for extra in ("group_branding", "branding_host", "branding_css"):
        assert {p for p, f in rows if f == extra} == {"enterprise"}


def test_migration_matches_the_models_and_round_trips(app):
    from sqlalchemy import inspect

    from bayline import migrate
    from bayline.db import get_db

    with app.app_context():
        assert migrate.pending_changes(app) == []
        get_db(app).dispose()
        migrate.downgrade(app, "branding", "base")
        get_db(app).dispose()
        assert not [t for t in inspect(get_db(app).engine).get_table_names() if t.startswith("branding_")]
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []


def test_api_resources_join_the_openapi_document(app):
    spec = app.extensions["bayline.api"].spec.to_dict()
    paths = {p for p in spec["paths"] if p.startswith("/api/v1/plugins/branding/")}
    assert {"/api/v1/plugins/branding/brand", "/api/v1/plugins/branding/group",
            "/api/v1/plugins/branding/images/{field}", "/api/v1/plugins/branding/host",
            "/api/v1/plugins/branding/slug"} <= paths
