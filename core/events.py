"""In-core event dispatcher.

Services call :func:`emit` inside their transaction; events are queued on the
session and delivered to plugins' ``on_event`` only after the commit succeeds
(a rolled-back change announces nothing). Delivery happens in :func:`commit`,
and as a safety net after each request and task.
"""
from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from . import publishing
from .db import get_session, utcnow
from .plugins.calling import call_each
from .plugins.payloads import payload_problems
from .plugins.types import Event, EventType
from .tenancy import TenantSession

_QUEUED = "bayline.events.queued"
_COMMITTED = "bayline.events.committed"


def emit(type_: str, tenant_id: int, payload: dict[str, Any], session: Session | None = None) -> Event:
    """Queue an event; it is delivered once the session's transaction commits."""
    registered = current_app.extensions["bayline.event_types"].get(type_)
    if registered is None:
        raise ValueError(f"unknown event type {type_!r}; declare it with register_event_types")
    if current_app.config.get("BAYLINE_CHECK_EVENT_PAYLOADS"):
        problems = payload_problems(registered.payload, payload)
        if problems:
            raise ValueError(f"{type_} payload does not match its declared shape: {'; '.join(problems)}")
    ev = Event(type=type_, tenant_id=tenant_id, payload=payload, occurred_at=utcnow(), id=uuid.uuid4().hex)
    (session or get_session()).info.setdefault(_QUEUED, []).append(ev)
    return ev


@sa_event.listens_for(TenantSession, "after_commit")
def _promote(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        session.info.setdefault(_COMMITTED, []).extend(queued)


@sa_event.listens_for(TenantSession, "after_soft_rollback")
def _drop(session: Session, _previous: Any) -> None:
    session.info.pop(_QUEUED, None)


def commit(session: Session | None = None) -> None:
    """Commit the session, then deliver the events it committed."""
    session = session or get_session()
    # the generation bump (after_commit) and the events' live updates: one Redis round trip
    with publishing.batched():
        session.commit()
        dispatch_committed(session)


def dispatch_committed(session: Session | None = None) -> None:
    session = session or get_session()
    while True:
        pending: list[Event] = session.info.pop(_COMMITTED, [])
        if not pending:
            return
        for ev in pending:
            deliver(ev, session)


def deliver(ev: Event, session: Session) -> None:
    """Call ``on_event`` of the plugins active for the event's shop, in its tenant context."""
    from bayline.tenants.entitlements import active_features
    from bayline.tenants.models import Shop

    from .tenancy import tenant_scope

    registry = current_app.extensions["bayline.plugins"]
    shop = session.get(Shop, ev.tenant_id)
    if shop is None:
        return
    hooks = registry.hooks_for(active_features(shop))
    with tenant_scope([ev.tenant_id], session):
        # One failing plugin must not stop the others (the portal's live updates, another plugin's texts).
        call_each(hooks.on_event, event=ev)


def event_types() -> dict[str, EventType]:
    """Every registered event type (core default plugins and installed plugins), by name."""
    return current_app.extensions["bayline.event_types"]
