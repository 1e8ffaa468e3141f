"""Migrations build the schema the models describe, and seed the plan catalogue and stage templates."""
from __future__ import annotations

from sqlalchemy import select

from bayline.migrate import current, heads, pending_changes
from bayline.tenants.models import Plan, StageTemplate


def test_models_match_migrations(app):
    assert pending_changes(app) == []


def test_database_is_at_head(app):
    assert current(app)["core"] == heads(app, "core")


def test_plan_catalogue_and_templates_seeded(db):
    plans = {p.key: p.feature_keys for p in db.scalars(select(Plan))}
    assert set(plans) == {"starter", "professional", "elite", "enterprise"}
    assert {"portal", "sms", "esign", "scheduling", "csi", "photos"} <= plans["starter"]
    assert "branding" not in plans["starter"] and "branding" in plans["professional"]
    assert plans["starter"] < plans["professional"] < plans["elite"] < plans["enterprise"]
    templates = {t.key: [s["name"] for s in t.stages] for t in db.scalars(select(StageTemplate))}
    assert templates["production"][0] == "Intake" and templates["production"][-1] == "Ready for pickup"
