"""The plugin keeps the one-name rules, imports only the public API, and its migration matches its
models, downgrades and upgrades again."""
from __future__ import annotations


def test_conformance(app):
    from bayline.testing.conformance import check_plugin

    assert check_plugin(app, "email") == []


def test_migration_matches_the_models_and_round_trips(app):
    from sqlalchemy import inspect

    from bayline import migrate
    from bayline.db import get_db

    with app.app_context():
        assert migrate.pending_changes(app) == []
        get_db(app).dispose()
        migrate.downgrade(app, "email", "base")
        get_db(app).dispose()
        assert not [t for t in inspect(get_db(app).engine).get_table_names() if t.startswith("email_")]
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
