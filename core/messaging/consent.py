"""The one consent ledger per (shop, contact, channel, purpose class) and the one suppression list.

Rules (docs/messaging.md): conversational replies need only that the contact is not suppressed on the
channel; transactional messages need transactional consent not revoked (recorded at intake: the claim
form records how it was given); marketing needs an express written marketing grant. An opt-out (any
reasonable means) revokes every purpose on that channel and suppresses the contact at once."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.db import get_session, utcnow

from .models import ConsentEvent, ConsentRecord, Suppression

CONSENT_PURPOSES = ("transactional", "marketing")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str = ""
    reason: str = ""


def record(contact: str, channel: str, purpose: str) -> ConsentRecord | None:
    return get_session().scalars(select(ConsentRecord).where(
        ConsentRecord.contact == contact, ConsentRecord.channel == channel, ConsentRecord.purpose == purpose)).first()


def records(contact: str | None) -> list[ConsentRecord]:
    """The ledger of ``contact`` (None: every contact of the shop, at most 500 rows)."""
    query = select(ConsentRecord).order_by(ConsentRecord.contact, ConsentRecord.channel, ConsentRecord.purpose)
    if contact is not None:
        query = query.where(ConsentRecord.contact == contact)
    return list(get_session().scalars(query.limit(500)))


def history(contact: str | None) -> list[tuple[ConsentRecord, ConsentEvent]]:
    query = select(ConsentRecord, ConsentEvent).join(ConsentEvent, ConsentEvent.record_id == ConsentRecord.id)
    if contact is not None:
        query = query.where(ConsentRecord.contact == contact)
    rows = get_session().execute(query.order_by(ConsentEvent.at, ConsentEvent.id).limit(1000))
    return [(r, e) for r, e in rows]


def suppression(contact: str, channel: str) -> Suppression | None:
    return get_session().scalars(select(Suppression).where(Suppression.contact == contact,
                                                           Suppression.channel == channel)).first()


def set_consent(contact: str, channel: str, purpose: str, status: str, source: str, *,
                wording_version: str | None = None, wording: str | None = None, detail: str = "",
                ip: str | None = None, user_agent: str | None = None, user_id: int | None = None) -> ConsentRecord:
    """Grant or revoke ``purpose`` on ``channel`` for ``contact``; the change joins the history.
    A grant lifts the channel's suppression only when it is an opt-in by the contact (START) or a
    staff edit recording a new consent."""
    if purpose not in CONSENT_PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(CONSENT_PURPOSES)}")
    if status not in ("granted", "revoked"):
        raise ValueError("status must be granted or revoked")
    session = get_session()
    row = record(contact, channel, purpose)
    now = utcnow()
    if row is None:
        row = ConsentRecord(contact=contact, channel=channel, purpose=purpose, status=status, source=source)
        session.add(row)
    row.status, row.source, row.changed_at = status, source[:40], now
    row.wording_version = wording_version if status == "granted" else row.wording_version
    session.flush()
    session.add(ConsentEvent(record_id=row.id, status=status, source=source[:40], wording_version=wording_version,
                             wording=wording, detail=(detail or "")[:300] or None, ip=ip,
                             user_agent=(user_agent or "")[:300] or None, user_id=user_id, at=now))
    return row


def ensure_transactional(contact: str, channel: str, source: str, wording_version: str | None = None) -> None:
    """Record the transactional consent given at intake unless the ledger knows the contact already."""
    if record(contact, channel, "transactional") is None:
        set_consent(contact, channel, "transactional", "granted", source, wording_version=wording_version)


def opt_out(contact: str, channel: str, source: str, detail: str = "") -> None:
    """Honour a revocation at once: every purpose revoked on ``channel`` and the contact suppressed."""
    for purpose in CONSENT_PURPOSES:
        current = record(contact, channel, purpose)
        if current is None or current.status != "revoked":
            set_consent(contact, channel, purpose, "revoked", source, detail=detail)
    if suppression(contact, channel) is None:
        session = get_session()
        try:
            with session.begin_nested():
                session.add(Suppression(contact=contact, channel=channel, source=source[:40],
                                        detail=(detail or "")[:300] or None))
        except IntegrityError:  # a concurrent STOP suppressed the contact already
            pass


def opt_in(contact: str, channel: str, source: str, detail: str = "") -> None:
    """The contact opted back in (START): transactional consent again, suppression lifted.
    Marketing stays revoked: it needs a new express written consent."""
    found = suppression(contact, channel)
    if found is not None:
        get_session().delete(found)
    set_consent(contact, channel, "transactional", "granted", source, detail=detail)


def is_suppressed(contact: str, channel: str) -> bool:
    return suppression(contact, channel) is not None


def check(contact: str, channel: str, purpose: str) -> Decision:
    """May ``purpose`` go to ``contact`` on ``channel``? (before any provider call)."""
    if is_suppressed(contact, channel):
        return Decision(False, "opted_out", f"{contact} has opted out of {channel} messages from this shop "
                                            "(e.g. replied STOP). Nothing was sent.")
    if purpose == "conversational":
        return Decision(True)
    row = record(contact, channel, purpose)
    if purpose == "marketing":
        if row is None or row.status != "granted":
            return Decision(False, "no_marketing_consent",
                            f"No express written consent to marketing {channel} messages from {contact}: "
                            "marketing is refused. Record the consent (its wording) first.")
        return Decision(True)
    if row is not None and row.status == "revoked":
        return Decision(False, "consent_revoked", f"{contact} revoked consent to {channel} updates.")
    return Decision(True)
