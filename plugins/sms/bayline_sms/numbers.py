"""Which number a shop texts from: the one place numbers are assigned, checked and released.

Rules (issue 17, M4 "number squatting"; docs/security.md):

- A shop's number comes from the platform's Telnyx account only: ordered through it
  (``POST /plugins/sms/numbers/order``), or assigned by a shop admin after the Telnyx SDK confirmed the
  number is an active number of the platform account (``phone_numbers.list``), or mapped by the
  platform operator (``flask sms assign-number``). A shop admin cannot name an arbitrary number.
- A number is held by at most one shop (``sms_numbers.phone_number`` is unique): 409 ``sms_number_taken``.
- A released number (``DELETE /plugins/sms/number``, ``flask sms release-number``, or replaced by a new
  one) is quarantined for ``BAYLINE_PLUGIN_SMS_NUMBER_QUARANTINE_DAYS`` (default 90): its customers
  keep texting it, so no other shop may take it until then (409 ``sms_number_quarantined``); the shop
  that released it may take it back. Inbound texts to a quarantined number reach nobody (the webhook
  answers "ignored").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import Refused, commit, current_tenant_id, get_session, plugin_config, unscoped, utcnow

from . import provider
from .models import SmsNumber, SmsNumberRelease

DEFAULT_QUARANTINE_DAYS = 90


@dataclass(frozen=True)
class AccountNumber:
    """A number of the platform's Telnyx account, as the SDK reported it."""

    phone_number: str
    status: str
    messaging_profile_id: str | None


def quarantine_days() -> int:
    """``BAYLINE_PLUGIN_SMS_NUMBER_QUARANTINE_DAYS`` (platform configuration), default 90; 0 = none."""
    return max(0, plugin_config("sms").get_int("number_quarantine_days", DEFAULT_QUARANTINE_DAYS))


def owner_of(phone: str) -> SmsNumber | None:
    """The number's row, whichever shop holds it (the webhook routes by it)."""
    session = get_session()
    with unscoped(session):
        return session.scalars(select(SmsNumber).where(SmsNumber.phone_number == phone)).first()


def quarantine_for(phone: str, shop_id: int, now: datetime | None = None) -> SmsNumberRelease | None:
    """The live quarantine keeping ``phone`` from ``shop_id``: the number's latest release, when
    another shop made it and it is not over yet (the releasing shop itself is never kept out; a
    shop that took its number back and released it again starts a new quarantine)."""
    session = get_session()
    with unscoped(session):
        latest = session.scalars(select(SmsNumberRelease).where(SmsNumberRelease.phone_number == phone)
                                 .order_by(SmsNumberRelease.released_at.desc(), SmsNumberRelease.id.desc())).first()
    if latest is None or latest.tenant_id == shop_id or latest.quarantined_until <= (now or utcnow()):
        return None
    return latest


def check_assignable(phone: str, shop_id: int, *, ignore_quarantine: bool = False) -> None:
    """Refuse (409) a number another shop holds, or one another shop released during its quarantine."""
    held = owner_of(phone)
    if held is not None and held.tenant_id != shop_id:
        raise Refused(409, "sms_number_taken", "That number belongs to another shop.")
    if ignore_quarantine:
        return
    release = quarantine_for(phone, shop_id)
    if release is not None:
        raise Refused(409, "sms_number_quarantined",
                      f"That number was released by another shop and is quarantined until "
                      f"{release.quarantined_until:%Y-%m-%d} (its customers may still text it). Order a new one.")


def in_platform_account(phone: str) -> AccountNumber | None:
    """Ask Telnyx (SDK ``phone_numbers.list``) whether ``phone`` is a number of the platform's account.
    Raises the SDK's errors / :class:`provider.NotConfigured` when Telnyx cannot be asked."""
    # filter[phone_number] takes digits and matches part of a number: compare the whole number below
    page = provider.client().phone_numbers.list(filter={"phone_number": phone.lstrip("+")}, page_size=100)
    for record in page.data or []:
        if record.phone_number == phone:
            return AccountNumber(record.phone_number, str(record.status),
                                 getattr(record, "messaging_profile_id", None))
    return None


def verify_in_account(phone: str) -> AccountNumber:
    """The number as an active number of the platform account, else :class:`Refused`: 422
    ``sms_number_not_in_account``, or 502 ``provider_error`` when Telnyx cannot be asked."""
    try:
        found = in_platform_account(phone)
    except provider.telnyx_errors() as exc:
        raise Refused(502, "provider_error", f"Could not check the number with Telnyx: {provider.explain(exc)}") \
            from None
    if found is None:
        raise Refused(422, "sms_number_not_in_account",
                      "That number is not one of the platform's Telnyx numbers, so it cannot be assigned here. "
                      "Order a number by area code, or ask the platform operator to map it.",
                      errors={"json": {"phone_number": ["not a number of the platform's Telnyx account"]}})
    if found.status != "active":
        raise Refused(422, "sms_number_not_in_account",
                      f"That number is in the platform's Telnyx account but not active ({found.status}).",
                      errors={"json": {"phone_number": [f"Telnyx status {found.status}"]}})
    return found


def _quarantine(row: SmsNumber, by: str) -> SmsNumberRelease:
    now = utcnow()
    release = SmsNumberRelease(tenant_id=row.tenant_id, phone_number=row.phone_number, released_at=now,
                               quarantined_until=now + timedelta(days=quarantine_days()), released_by=by[:80])
    get_session().add(release)
    return release


def assign(phone: str, *, source: str, by: str, messaging_profile_id: str | None = None,
           order_id: str | None = None, ignore_quarantine: bool = False) -> SmsNumber:
    """Make ``phone`` the current shop's number (after the caller established where it comes from:
    an order, :func:`verify_in_account`, or the platform operator). A different number the shop had
    is released into quarantine. Commits."""
    shop_id = current_tenant_id()
    assert shop_id is not None, "assign() runs in a shop's tenant context"
    check_assignable(phone, shop_id, ignore_quarantine=ignore_quarantine)
    session = get_session()
    current = session.scalars(select(SmsNumber).order_by(SmsNumber.id)).first()
    if current is not None and current.phone_number != phone:
        _quarantine(current, f"replaced ({by})")
        session.delete(current)
        session.flush()
        current = None
    row = current or SmsNumber(phone_number=phone)
    row.messaging_profile_id, row.source, row.telnyx_order_id = messaging_profile_id, source, order_id
    session.add(row)
    try:
        commit(session)
    except IntegrityError:  # another shop took it between the check and the commit
        session.rollback()
        raise Refused(409, "sms_number_taken", "That number belongs to another shop.") from None
    return row


def release(by: str) -> SmsNumberRelease | None:
    """Give up the current shop's number: it is quarantined and texts to it reach nobody. Commits.
    None when the shop has no number."""
    session = get_session()
    current = session.scalars(select(SmsNumber).order_by(SmsNumber.id)).first()
    if current is None:
        return None
    release_row = _quarantine(current, by)
    session.delete(current)
    commit(session)
    return release_row


def release_dict(row: SmsNumberRelease) -> dict[str, Any]:
    return {"phone_number": row.phone_number, "released_at": row.released_at.isoformat(),
            "quarantined_until": row.quarantined_until.isoformat()}
