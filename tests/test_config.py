"""Configuration: embedded defaults, and production refusing to start without real settings."""
from __future__ import annotations

import pytest

from bayline.config import ConfigError, load_settings


def test_development_defaults(tmp_path):
    s = load_settings({"BAYLINE_INSTANCE_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'bayline.db'}"
    assert s.celery_eager and s.redis_url is None
    assert len(s.secret_key) > 40
    assert load_settings({"BAYLINE_INSTANCE_DIR": str(tmp_path)}).secret_key == s.secret_key


def test_production_names_every_missing_setting(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings({"BAYLINE_ENV": "production", "BAYLINE_INSTANCE_DIR": str(tmp_path)})
    for name in ("BAYLINE_SECRET_KEY", "BAYLINE_DATABASE_URL", "BAYLINE_REDIS_URL", "BAYLINE_PUBLIC_URL"):
        assert name in str(err.value)


@pytest.mark.parametrize("override, message", [
    ({"BAYLINE_SECRET_KEY": "short"}, "at least 32"),
    ({"BAYLINE_DATABASE_URL": "sqlite:///x.db"}, "PostgreSQL"),
    ({"BAYLINE_PUBLIC_URL": "http://shop.example"}, "https"),
])
def test_production_rejects_invalid_settings(override, message):
    env = {"BAYLINE_ENV": "production", "BAYLINE_SECRET_KEY": "k" * 40,
           "BAYLINE_DATABASE_URL": "postgresql://db/bayline", "BAYLINE_REDIS_URL": "redis://r:6379/0",
           "BAYLINE_PUBLIC_URL": "https://portal.example", **override}
    with pytest.raises(ConfigError, match=message):
        load_settings(env)


def test_production_settings_accepted():
    s = load_settings({"BAYLINE_ENV": "production", "BAYLINE_SECRET_KEY": "k" * 40,
                       "BAYLINE_DATABASE_URL": "postgresql://db/bayline", "BAYLINE_REDIS_URL": "redis://r:6379/0",
                       "BAYLINE_PUBLIC_URL": "https://portal.example"})
    assert s.celery_broker_url == "redis://r:6379/0" and not s.celery_eager


def test_unknown_environment():
    with pytest.raises(ConfigError, match="BAYLINE_ENV"):
        load_settings({"BAYLINE_ENV": "staging"})


def test_instance_dir_may_be_given_as_text(tmp_path):
    settings = load_settings({}, instance_dir=str(tmp_path / "inst"))
    assert settings.instance_dir == tmp_path / "inst"
    assert (tmp_path / "inst" / "secret_key").exists()
