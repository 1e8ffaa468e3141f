"""Errors to Sentry through its SDK, only when ``BAYLINE_SENTRY_DSN`` is set.

Nothing personal is sent (``send_default_pii=False``) and portal tokens are redacted from every
event before it leaves the process.
"""
from __future__ import annotations

from typing import Any

from bayline.config import Settings


def scrub(event: Any) -> Any:
    """Redact ``/c/<token>`` everywhere in an event (strings inside dicts and lists)."""
    from bayline.portal.redact import redact

    if isinstance(event, str):
        return redact(event)
    if isinstance(event, dict):
        return {k: scrub(v) for k, v in event.items()}
    if isinstance(event, list):
        return [scrub(v) for v in event]
    return event


def init_sentry(settings: Settings) -> bool:
    from .options import option

    dsn = option(settings, "sentry_dsn")
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(dsn=dsn, environment=settings.env, send_default_pii=False,
                    integrations=[FlaskIntegration(), CeleryIntegration()],
                    before_send=lambda event, _hint: scrub(event),
                    traces_sample_rate=float(option(settings, "sentry_traces_sample_rate", "0") or 0))
    return True
