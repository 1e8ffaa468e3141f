"""Appointment messages through the messaging core, as ``transactional`` outbox rows: request received,
confirmation, change, cancellation, the pickup invitation, and the reminder (default 24 h before),
which is a row ``due_at`` that time (held until then, never a Celery countdown). A move cancels the
pending reminder and schedules the new one; consent, suppression and quiet hours are the core's.
A refusal (no consent, no number) is recorded on nothing and never blocks the booking."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template

from bayline.plugin_api import Claim, Refused, outbox, shop_settings, utcnow

from .models import SchedulingAppointment

NAME = "scheduling"


def _target(claim: Claim | None) -> tuple[str, str] | None:
    if claim is None:
        return None
    if claim.customer_mobile:
        return "sms", claim.customer_mobile
    if claim.customer_email:
        return "email", claim.customer_email
    return None


def _when(appt: SchedulingAppointment) -> str:
    from .service import zone

    return appt.starts_at.astimezone(zone(g.shop)).strftime("%a %d %b at %H:%M")


def _type_name(appt: SchedulingAppointment) -> str:
    from .service import get_type

    spec = get_type(appt.type_key)
    return spec.name if spec else appt.type_key


def _send(claim: Claim | None, what: str, key: str, due_at: Any = None, **values: Any) -> Any:
    target = _target(claim)
    if target is None:
        return None
    body = render_template(f"bayline_scheduling/msg_{what}.txt", shop=g.shop, claim=claim, **values).strip()
    try:
        item, _ = outbox.enqueue(channel=target[0], purpose="transactional", recipient=target[1], body=body,
                                 idempotency_key=key, claim=claim, kind="automatic", due_at=due_at,
                                 subject=f"Your appointment at {g.shop.name}")
        return item
    except Refused:
        return None


def _reminder_key(appt: SchedulingAppointment, sequence: int) -> str:
    return f"scheduling-reminder:{appt.id}:{sequence}"


def _cancel_reminders(appt: SchedulingAppointment) -> None:
    for seq in range(appt.sequence + 1):
        item = outbox.find(_reminder_key(appt, seq))
        if item is not None and item.state in ("queued", "held"):
            outbox.cancel(item)


def _schedule_reminder(appt: SchedulingAppointment, claim: Claim | None) -> None:
    hours = shop_settings(NAME).get_int("reminder_hours")
    due = appt.starts_at - timedelta(hours=hours)
    if due <= utcnow():
        return
    _send(claim, "reminder", _reminder_key(appt, appt.sequence), due_at=due, appt=appt, when=_when(appt),
          type_name=_type_name(appt))


def booked(appt: SchedulingAppointment, claim: Claim | None) -> None:
    what = "confirmed" if appt.status == "confirmed" else "requested"
    _send(claim, what, f"scheduling-{what}:{appt.id}:{appt.sequence}", appt=appt, when=_when(appt),
          type_name=_type_name(appt))
    if appt.status == "confirmed":
        _schedule_reminder(appt, claim)


def confirmed(appt: SchedulingAppointment, claim: Claim | None) -> None:
    _send(claim, "confirmed", f"scheduling-confirmed:{appt.id}:{appt.sequence}", appt=appt, when=_when(appt),
          type_name=_type_name(appt))
    _cancel_reminders(appt)
    _schedule_reminder(appt, claim)


def moved(appt: SchedulingAppointment, claim: Claim | None) -> None:
    _send(claim, "moved", f"scheduling-moved:{appt.id}:{appt.sequence}", appt=appt, when=_when(appt),
          type_name=_type_name(appt))
    _cancel_reminders(appt)
    if appt.status == "confirmed":
        _schedule_reminder(appt, claim)


def ended(appt: SchedulingAppointment, claim: Claim | None) -> None:
    _send(claim, appt.status, f"scheduling-{appt.status}:{appt.id}:{appt.sequence}", appt=appt, when=_when(appt),
          type_name=_type_name(appt))
    _cancel_reminders(appt)


def pickup_invite(claim: Claim) -> None:
    _send(claim, "pickup_invite", f"scheduling-pickup-invite:{claim.id}")
