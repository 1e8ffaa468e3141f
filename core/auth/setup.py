"""Flask-Login, CSRF (Flask-WTF) and rate limiting (Flask-Limiter) for the app."""
from __future__ import annotations

import hmac

from flask import Flask

from bayline.config import Settings
from bayline.db import get_session
from bayline.extensions import csrf, limiter, login_manager

from .models import User
from .sessions import CachedSerializerSessionInterface


def init_auth(app: Flask, settings: Settings) -> None:
    app.session_interface = CachedSerializerSessionInterface()
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # explicit, because the Limiter instance is shared: it would otherwise keep the last app's choice
    app.config.setdefault("RATELIMIT_ENABLED", True)
    from bayline.live import deployment_namespace

    # namespaced per deployment: two deployments on one Redis never share (or reset) each other's counters
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"bayline-rl:{deployment_namespace(settings.database_url)}")
    # Redis down must not take pages down: count in memory until it answers again (per process).
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load_user(session_id: str) -> User | None:
        """The user of a login session id (``User.get_id``), if active and the password is unchanged."""
        user_id, _, fingerprint = str(session_id).partition(":")
        try:
            user = get_session().get(User, int(user_id))
        except (TypeError, ValueError):
            return None
        if user is None or not user.is_active:
            return None
        return user if hmac.compare_digest(fingerprint, user.credential_fingerprint()) else None
