"""Configuration from environment variables (12-factor).

Every setting is read from a ``BAYLINE_*`` variable. The embedded default needs
none of them: SQLite under ``instance/``, no Redis, Celery eager. In production
(``BAYLINE_ENV=production``) the settings that have no safe default must be given;
a missing or invalid one stops the app at start with a message naming it.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INSTANCE_DIR = Path(os.environ.get("BAYLINE_INSTANCE_DIR", Path.cwd() / "instance"))

ENVIRONMENTS = ("development", "test", "production")

# Flask config keys that may also come from the environment variable of the same name (a
# ``create_app({...})`` value wins): platform mail, live-update limits and the two test-default checks.
FLASK_ENV_KEYS: dict[str, type] = {
    "BAYLINE_SMTP_URL": str, "BAYLINE_MAIL_FROM": str,
    "BAYLINE_SSE_HEARTBEAT": float, "BAYLINE_SSE_MAX_SECONDS": float,
    "BAYLINE_SSE_MAX_PER_IP": int, "BAYLINE_SSE_MAX_PER_SESSION": int,
    "BAYLINE_RAISE_HOOK_ERRORS": bool, "BAYLINE_CHECK_EVENT_PAYLOADS": bool,
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def flask_env_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """The :data:`FLASK_ENV_KEYS` set (non-empty) in ``environ``, converted; ConfigError naming a bad one."""
    out: dict[str, Any] = {}
    for name, kind in FLASK_ENV_KEYS.items():
        raw = (environ.get(name) or "").strip()
        if not raw:
            continue
        if kind is bool:
            if raw.lower() not in _TRUE | _FALSE:
                raise ConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")
            out[name] = raw.lower() in _TRUE
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {raw!r}") from None
        if kind is not str and value <= 0:
            raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
        out[name] = value
    return out


class ConfigError(RuntimeError):
    """A setting is missing or invalid; the message names it."""


@dataclass
class Settings:
    env: str = "development"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:5000"
    celery_broker_url: str | None = None
    plugins_allow: list[str] | None = None
    plugins_deny: list[str] = field(default_factory=list)
    max_content_length: int = 20 * 1024 * 1024
    trusted_hosts: list[str] | None = None
    """Host names the app answers to (``BAYLINE_TRUSTED_HOSTS``, plus the host of the public URL); any
    other ``Host`` header gets a 400. Production always checks; elsewhere only when the variable is set."""
    proxy_hops: int = 0
    """Reverse proxies in front of the app (``BAYLINE_PROXY_HOPS``): their ``X-Forwarded-*`` headers are
    believed (werkzeug ``ProxyFix``) for client IP and scheme, and never more of them."""
    instance_dir: Path = INSTANCE_DIR
    db_pool_size: int = 16
    """Connections each process keeps (``BAYLINE_DB_POOL_SIZE``); default: the web worker's thread
    count (``BAYLINE_WEB_THREADS``, 16, what deploy/gunicorn.conf.py runs), one per request thread."""
    db_max_overflow: int = 4
    """Extra connections beyond the pool for a burst (``BAYLINE_DB_MAX_OVERFLOW``); closed after use."""
    db_pool_recycle: int = 1800
    """Seconds before a pooled connection is replaced (``BAYLINE_DB_POOL_RECYCLE``), ahead of server and
    firewall idle timeouts."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def public_host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.public_url).netloc

    @property
    def allowed_hosts(self) -> list[str] | None:
        """``TRUSTED_HOSTS`` for Flask: None (no check) outside production unless configured."""
        if self.trusted_hosts is None and not self.production:
            return None
        hosts = [self.public_host.rsplit(":", 1)[0] if not self.public_host.startswith("[") else self.public_host]
        return list(dict.fromkeys(hosts + list(self.trusted_hosts or [])))

    @property
    def celery_eager(self) -> bool:
        return not self.celery_broker_url


def _csv(value: str | None) -> list[str] | None:
    if value is None or not value.strip():
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _dev_secret_key(instance_dir: Path) -> str:
    """A per-checkout random key kept under instance/ so dev sessions survive restarts."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) plus overrides."""
    env = dict(os.environ if environ is None else environ)
    name = env.get("BAYLINE_ENV", "development")
    if name not in ENVIRONMENTS:
        raise ConfigError(f"BAYLINE_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}")
    instance_dir = Path(env.get("BAYLINE_INSTANCE_DIR", INSTANCE_DIR))
    plugins = env.get("BAYLINE_PLUGINS", "")
    allow = [p for p in (_csv(plugins) or []) if not p.startswith("-")] or None
    deny = [p[1:] for p in (_csv(plugins) or []) if p.startswith("-")]
    settings = Settings(
        env=name,
        database_url=env.get("BAYLINE_DATABASE_URL", ""),
        redis_url=env.get("BAYLINE_REDIS_URL") or None,
        secret_key=env.get("BAYLINE_SECRET_KEY", ""),
        public_url=env.get("BAYLINE_PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/"),
        celery_broker_url=env.get("BAYLINE_CELERY_BROKER_URL") or None,
        plugins_allow=allow,
        plugins_deny=deny,
        instance_dir=instance_dir,
        trusted_hosts=_csv(env.get("BAYLINE_TRUSTED_HOSTS")),
    )
    if "BAYLINE_PROXY_HOPS" in env:
        try:
            settings.proxy_hops = int(env["BAYLINE_PROXY_HOPS"])
        except ValueError:
            raise ConfigError("BAYLINE_PROXY_HOPS must be a whole number (reverse proxies in front)") from None
    for var, attr, low in (("BAYLINE_DB_POOL_SIZE", "db_pool_size", 1),
                           ("BAYLINE_DB_MAX_OVERFLOW", "db_max_overflow", 0),
                           ("BAYLINE_DB_POOL_RECYCLE", "db_pool_recycle", 1)):
        raw = env.get(var) or (env.get("BAYLINE_WEB_THREADS") if attr == "db_pool_size" else None)
        if raw:
            source = var if env.get(var) else "BAYLINE_WEB_THREADS"
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{source} must be a whole number") from None
            if value < low:
                raise ConfigError(f"{source} must be at least {low}")
            setattr(settings, attr, value)
    if "BAYLINE_MAX_CONTENT_LENGTH" in env:
        try:
            settings.max_content_length = int(env["BAYLINE_MAX_CONTENT_LENGTH"])
        except ValueError:
            raise ConfigError("BAYLINE_MAX_CONTENT_LENGTH must be a whole number of bytes") from None
    for key, value in overrides.items():
        if key == "instance_dir":
            value = Path(value)  # a str works as well as a Path
        if hasattr(settings, key):
            setattr(settings, key, value)
        else:
            settings.extra[key] = value
    if settings.celery_broker_url is None and settings.redis_url and settings.production:
        settings.celery_broker_url = settings.redis_url
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Fill development defaults, or refuse to start production without real settings."""
    if settings.production:
        missing = [
            var
            for var, value in (
                ("BAYLINE_SECRET_KEY", settings.secret_key),
                ("BAYLINE_DATABASE_URL", settings.database_url),
                ("BAYLINE_REDIS_URL", settings.redis_url),
                ("BAYLINE_PUBLIC_URL", settings.public_url if "127.0.0.1" not in settings.public_url else ""),
            )
            if not value
        ]
        if missing:
            raise ConfigError("production mode needs " + ", ".join(missing))
        if len(settings.secret_key) < 32:
            raise ConfigError("BAYLINE_SECRET_KEY must be at least 32 characters in production")
        if settings.database_url.startswith("sqlite"):
            raise ConfigError("BAYLINE_DATABASE_URL must point at PostgreSQL in production, not SQLite")
        if not settings.public_url.startswith("https://"):
            raise ConfigError("BAYLINE_PUBLIC_URL must be an https:// URL in production")
        return
    if not settings.database_url:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
        settings.database_url = f"sqlite:///{settings.instance_dir / 'bayline.db'}"
    if not settings.secret_key:
        settings.secret_key = _dev_secret_key(settings.instance_dir)
    for prefix in ("sqlite", "postgresql"):
        if settings.database_url.startswith(prefix):
            break
    else:
        raise ConfigError("BAYLINE_DATABASE_URL must be a sqlite:// or postgresql:// URL")
