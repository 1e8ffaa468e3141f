"""Consent ledger per (shop number, customer number) and the carrier keywords."""
from __future__ import annotations

from sqlalchemy import select

from bayline.plugin_api import get_session, utcnow

from .models import SmsConsent

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})


def keyword(body: str) -> str | None:
    """The keyword when the *whole* message is one (case-insensitive, surrounding spaces and a final
    full stop or exclamation mark ignored). "please stop the work on my car" is not a keyword."""
    word = (body or "").strip().rstrip(".!").strip().upper()
    if word in OPT_OUT:
        return "STOP"
    if word in OPT_IN:
        return "START"
    if word in HELP:
        return "HELP"
    return None


def record(shop_number: str, customer_number: str) -> SmsConsent | None:
    return get_session().scalars(select(SmsConsent).where(
        SmsConsent.shop_number == shop_number, SmsConsent.customer_number == customer_number)).first()


def is_opted_out(shop_number: str, customer_number: str) -> bool:
    row = record(shop_number, customer_number)
    return row is not None and row.status == "opted_out"


def set_status(shop_number: str, customer_number: str, status: str, source: str, detail: str = "") -> SmsConsent:
    row = record(shop_number, customer_number)
    now = utcnow()
    if row is None:
        row = SmsConsent(shop_number=shop_number, customer_number=customer_number, status=status, source=source,
                         purposes=["transactional"], changed_at=now, history=[])
        get_session().add(row)
    row.history = [*(row.history or []), {"status": status, "source": source, "at": now.isoformat(),
                                          "detail": detail[:200]}]
    row.status = status
    row.source = source
    row.changed_at = now
    return row


def ensure_opted_in(shop_number: str, customer_number: str, source: str) -> SmsConsent:
    """Record implied transactional consent (number given at intake) unless a row exists already."""
    row = record(shop_number, customer_number)
    return row if row is not None else set_status(shop_number, customer_number, "opted_in", source)
