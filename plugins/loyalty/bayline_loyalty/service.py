"""The points ledger, earning, redemption, expiry, referrals and reports.

Rules (README): points are earned only on what the customer paid — payer ``customer`` or
``deductible`` of a payment event (the quotes plugin's ``payment.recorded``), never ``insurer``,
never method ``points``; or, without recorded payments, an amount staff enter. A refund claws back
the points its amount earned (never more than the claim earned). Every entry has an idempotency
key per source event (``earn:payment:<id>``...), so a replayed event adds nothing. The member row's
``balance`` is the sum of the ledger and is changed only in the same transaction as an entry; a
debit that must not overdraw (redemption, negative adjustment) is one conditional
``UPDATE ... SET balance = balance - n WHERE balance >= n``: two concurrent redemptions of the last
points serialise on the row and exactly one succeeds. Clawbacks and expiry may not be refused, so a
clawback can take the balance below zero (points spent before the refund).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Refused,
    Shop,
    commit,
    emit,
    get_session,
    is_feature_active,
    outbox,
    phones,
    prefetched,
    prepare,
    shop_settings,
    unscoped,
    utcnow,
)

from .models import LoyaltyEntry, LoyaltyMember, LoyaltyPayment, LoyaltyReferral

NAME = "loyalty"
REFERRALS = "referrals"
CUSTOMER_PAYERS = ("customer", "deductible")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
MAX_POINTS = 10_000_000


def utc() -> datetime:
    return utcnow()


def settings() -> Any:
    return shop_settings(NAME)


def earn_from(shop: Shop) -> str:
    """``payments`` (payment events) or ``staff`` (amounts staff enter), from ``loyalty.earn_from``
    (``auto``: payments when the shop has the ``payments`` feature, whose events we read)."""
    chosen = shop_settings(NAME, shop).get_str("earn_from")
    if chosen == "auto":
        return "payments" if is_feature_active(shop, "payments") else "staff"
    return chosen


def money(value: Any, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError):
        raise Refused(422, "validation_error", "The amount is not a number.",
                      errors={"json": {field: ["a number such as 250.00"]}}) from None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e9") or amount != amount.quantize(Decimal("0.01")):
        raise Refused(422, "validation_error", "The amount must be more than zero, with at most 2 decimals.",
                      errors={"json": {field: ["more than zero, at most 2 decimals"]}})
    return amount


def points_for(amount: Decimal) -> int:
    rate = Decimal(str(settings().get("points_per_unit")))
    return int((amount * rate).to_integral_value(rounding=ROUND_FLOOR))


def point_value() -> Decimal:
    return Decimal(str(settings().get("point_value")))


# -- members --------------------------------------------------------------------------------------


def contact_of(claim: Claim) -> str | None:
    if claim.customer_mobile:
        try:
            return phones.to_e164(claim.customer_mobile)
        except ValueError:
            pass
    return claim.customer_email.strip().lower() if claim.customer_email else None


def contacts_of_claim(claim: Claim) -> set[str]:
    found = set()
    if claim.customer_mobile:
        found.add(claim.customer_mobile)
    if claim.customer_email:
        found.add(claim.customer_email.strip().lower())
    return found


def _new_code() -> str:
    db = get_session()
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        with unscoped(db):
            if db.scalar(select(LoyaltyMember.id).where(LoyaltyMember.referral_code == code)) is None:
                return code


MEMBER, REFERRAL, PAYMENTS, ENTRIES, EARLIER = ("loyalty.member", "loyalty.referral", "loyalty.payments",
                                                "loyalty.claim_entries", "loyalty.earlier_claims")


def member_by_contact(contact: str) -> LoyaltyMember | None:
    return get_session().scalars(select(LoyaltyMember).where(LoyaltyMember.contact == contact)).first()


@prepare
def _member_stmt(contact: str) -> Any:
    return select(LoyaltyMember).where(LoyaltyMember.contact == contact).order_by(LoyaltyMember.id)


def _earlier_stmt(claim: Claim) -> Any:
    """Earlier claims of the claim's contacts (at most two: its mobile and email; a missing one is
    NULL in the list, which matches nothing)."""
    first, second = ([*sorted(contacts_of_claim(claim)), None, None])[:2]
    return _earlier(claim.id, claim.created_at, first, second)


@prepare
def _earlier(claim_id: int, created_at: Any, first: Any, second: Any) -> Any:
    return select(Claim).where(Claim.id != claim_id, Claim.created_at <= created_at, or_(
        Claim.customer_mobile.in_([first, second]), func.lower(Claim.customer_email).in_([first, second]))
    ).order_by(Claim.id)


@prepare
def _referral_stmt(claim_id: int) -> Any:
    return select(LoyaltyReferral).where(LoyaltyReferral.claim_id == claim_id).order_by(LoyaltyReferral.id)


@prepare
def _payments_stmt(claim_id: int) -> Any:
    return select(LoyaltyPayment).where(LoyaltyPayment.claim_id == claim_id).order_by(LoyaltyPayment.id)


def want_claim_rows(claim: Claim, bundle: Any, *, staff: bool) -> None:
    """The page bundle's parts (hook ``prefetch``): the claim customer's member, the claim's referral and,
    for staff, its payments and entries; for the portal, the contact's earlier claims."""
    contact = contact_of(claim)
    if contact is not None:
        bundle.want(MEMBER, _member_stmt(contact))
    bundle.want(REFERRAL, _referral_stmt(claim.id))
    if staff:
        bundle.want(PAYMENTS, _payments_stmt(claim.id))
        bundle.want(ENTRIES, _claim_entries_stmt(claim.id))
    elif contacts_of_claim(claim) and claim.delivered_at is None:
        bundle.want(EARLIER, _earlier_stmt(claim))


@prepare
def _claim_entries_stmt(claim_id: int) -> Any:
    return select(LoyaltyEntry).where(LoyaltyEntry.claim_id == claim_id,
                                      LoyaltyEntry.kind.in_(("earn", "clawback"))).order_by(LoyaltyEntry.id)


def member_for_claim(claim: Claim, create: bool = True) -> LoyaltyMember | None:
    contact = contact_of(claim)
    if contact is None:
        return None
    if not create:  # a page's read: from the page's bundle when it declared it
        found = [m for m in prefetched(MEMBER, _member_stmt(contact)) if m.contact == contact]
        return found[0] if found else None
    member = member_by_contact(contact)
    if member is None and create:
        db = get_session()
        member = LoyaltyMember(tenant_id=claim.tenant_id, contact=contact, balance=0, referral_code=_new_code(),
                               name=f"{claim.customer_first_name} {claim.customer_last_name[:1]}.".strip())
        db.add(member)
        try:
            db.flush()
        except IntegrityError:  # created by a concurrent event: nothing else was written yet (callers
            db.rollback()       # create the member first)
            member = member_by_contact(contact)
    return member


def get_member(member_id: int) -> LoyaltyMember:
    member = get_session().get(LoyaltyMember, member_id)
    if member is None:
        raise Refused(404, "not_found", "No such loyalty member.")
    return member


def member_claims(member: LoyaltyMember) -> list[Claim]:
    return list(get_session().scalars(select(Claim).where(or_(
        Claim.customer_mobile == member.contact, func.lower(Claim.customer_email) == member.contact))
        .order_by(Claim.created_at.desc())))


def entries(member: LoyaltyMember, limit: int = 200) -> list[LoyaltyEntry]:
    return list(get_session().scalars(select(LoyaltyEntry).where(LoyaltyEntry.member_id == member.id)
                                      .order_by(LoyaltyEntry.id.desc()).limit(limit)))


def ledger_sum(member: LoyaltyMember) -> int:
    return int(get_session().scalar(select(func.coalesce(func.sum(LoyaltyEntry.delta), 0))
                                    .where(LoyaltyEntry.member_id == member.id)) or 0)


# -- the ledger ---------------------------------------------------------------------------------------


def entry_exists(key: str) -> bool:
    return get_session().scalar(select(LoyaltyEntry.id).where(LoyaltyEntry.idempotency_key == key)) is not None


def post(member: LoyaltyMember, delta: int, kind: str, key: str, *, reason: str = "", claim_id: int | None = None,
         amount: Decimal | None = None, user_id: int | None = None, guard: bool = False) -> LoyaltyEntry | None:
    """Append one entry and move the balance with it, in the caller's transaction. A known ``key``
    adds nothing (returns None). ``guard``: refuse when the balance would go below zero."""
    db = get_session()
    if entry_exists(key):
        return None
    condition = [LoyaltyMember.id == member.id]
    if guard and delta < 0:
        condition.append(LoyaltyMember.balance >= -delta)
    # the balance row first: a concurrent debit waits here for the other transaction, then sees its result
    moved = db.execute(update(LoyaltyMember).where(*condition).values(balance=LoyaltyMember.balance + delta)
                       .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        db.refresh(member)
        raise Refused(422, "loyalty_insufficient_points",
                      f"Only {member.balance} points are available; nothing was taken.",
                      errors={"json": {"points": [f"more than the {member.balance} points available"]}})
    row = LoyaltyEntry(tenant_id=member.tenant_id, member_id=member.id, delta=delta, kind=kind, reason=reason[:300],
                       claim_id=claim_id, amount=str(amount) if amount is not None else None, idempotency_key=key,
                       user_id=user_id, created_at=utc())
    db.add(row)
    try:
        db.flush()
    except IntegrityError:  # the same source event, handled concurrently: it counted once there
        db.rollback()
        return None
    db.refresh(member)
    return row


def _clean_reason(reason: Any) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise Refused(422, "validation_error", "Give a reason; nothing was changed.",
                      errors={"json": {"reason": ["required"]}})
    return text[:300]


def _points(value: Any, allow_negative: bool = False) -> int:
    try:
        points = int(str(value).strip())
    except (TypeError, ValueError):
        raise Refused(422, "validation_error", "Points must be a whole number.",
                      errors={"json": {"points": ["a whole number"]}}) from None
    if points == 0 or (points < 0 and not allow_negative) or abs(points) > MAX_POINTS:
        raise Refused(422, "validation_error",
                      "Points must be a whole number " + ("other than zero." if allow_negative else "above zero."),
                      errors={"json": {"points": ["other than zero" if allow_negative else "above zero"]}})
    return points


def _key(given: Any, prefix: str) -> str:
    text = str(given or "").strip()
    if text and (len(text) > 80 or not text.replace("-", "").replace("_", "").isalnum()):
        raise Refused(422, "validation_error", "The idempotency key is letters, digits, - and _ only (80 at most).",
                      errors={"json": {"idempotency_key": ["letters, digits, - and _, at most 80"]}})
    return f"{prefix}:{text or secrets.token_hex(12)}"


def redeem(member: LoyaltyMember, points: Any, reason: Any, user_id: int | None, *, claim_id: int | None = None,
           idempotency_key: Any = None) -> LoyaltyEntry | None:
    """Staff redeem points at the counter, with a reason; refused beyond the balance."""
    n = _points(points)
    why = _clean_reason(reason)
    if claim_id is not None and get_session().get(Claim, claim_id) is None:
        raise Refused(404, "not_found", "No such claim.")
    row = post(member, -n, "redeem", _key(idempotency_key, "redeem"), reason=why, claim_id=claim_id,
               user_id=user_id, guard=True)
    emit("loyalty.redeemed", member.tenant_id, {"member_id": member.id, "points": n, "on_claim_id": claim_id,
                                                "user_id": user_id})
    commit()
    return row


def adjust(member: LoyaltyMember, points: Any, reason: Any, user_id: int | None,
           idempotency_key: Any = None) -> LoyaltyEntry | None:
    """A staff correction (+ or -) with a reason; a negative one cannot overdraw."""
    n = _points(points, allow_negative=True)
    why = _clean_reason(reason)
    row = post(member, n, "adjust", _key(idempotency_key, "adjust"), reason=why, user_id=user_id, guard=True)
    commit()
    return row


# -- earning ----------------------------------------------------------------------------------------


def claim_earned(claim_id: int) -> int:
    """Points the claim earned minus what was clawed back (never below zero)."""
    total = sum(e.delta for e in prefetched(ENTRIES, _claim_entries_stmt(claim_id)) if e.claim_id == claim_id)
    return max(0, int(total))


def net_paid(claim_id: int) -> Decimal:
    total = Decimal("0")
    rows = prefetched(PAYMENTS, _payments_stmt(claim_id))
    for p in rows:
        if p.claim_id != claim_id:
            continue
        total += Decimal(p.amount) if p.kind == "payment" else -Decimal(p.amount)
    return total


def _record_payment(claim: Claim, source: str, ref: str, kind: str, amount: Decimal, *, balance: str | None = None,
                    note: str | None = None, user_id: int | None = None) -> bool:
    db = get_session()
    if db.scalar(select(LoyaltyPayment.id).where(LoyaltyPayment.source == source, LoyaltyPayment.ref == ref)):
        return False
    db.add(LoyaltyPayment(tenant_id=claim.tenant_id, claim_id=claim.id, source=source, ref=ref, kind=kind,
                          amount=str(amount), balance=balance, note=note, user_id=user_id))
    try:
        db.flush()
    except IntegrityError:  # the same event, handled concurrently
        db.rollback()
        return False
    return True


def customer_paid(claim: Claim, source: str, ref: str, amount: Decimal, *, balance: str | None = None,
                  note: str | None = None, user_id: int | None = None) -> LoyaltyEntry | None:
    """Earn on a customer payment (once per source event), then see whether a referral completes."""
    member = member_for_claim(claim)
    if not _record_payment(claim, source, f"payment:{ref}", "payment", amount, balance=balance, note=note,
                           user_id=user_id):
        return None
    row = None
    if member is not None:
        points = points_for(amount)
        if points > 0:
            row = post(member, points, "earn", f"earn:{source}:{ref}", claim_id=claim.id, amount=amount,
                       user_id=user_id, reason=f"Paid {amount} on {claim.number}")
    complete_referral(claim)
    return row


def customer_refunded(claim: Claim, source: str, ref: str, amount: Decimal, *, note: str | None = None,
                      user_id: int | None = None) -> LoyaltyEntry | None:
    """Claw back the points the refunded amount earned (at most what the claim still holds) and a
    referral reward the claim paid for."""
    member = member_for_claim(claim)
    if not _record_payment(claim, source, f"refund:{ref}", "refund", amount, note=note, user_id=user_id):
        return None
    row = None
    if member is not None:
        points = min(points_for(amount), claim_earned(claim.id))
        if points > 0:
            row = post(member, -points, "clawback", f"clawback:{source}:{ref}", claim_id=claim.id, amount=amount,
                       user_id=user_id, reason=f"Refund of {amount} on {claim.number}")
    claw_back_referral(claim)
    return row


def on_payment_event(event_type: str, payload: dict[str, Any], shop: Shop) -> bool:
    """A ``payment.recorded`` / ``payment.refunded`` event: only customer-side money counts."""
    if earn_from(shop) != "payments":
        return False
    if payload.get("payer") not in CUSTOMER_PAYERS or payload.get("method") == "points":
        return False  # insurer money and amounts paid with points never earn
    claim = get_session().get(Claim, int(payload["claim_id"]))
    if claim is None:
        return False
    amount = Decimal(str(payload["amount"]))
    ref = str(payload["payment_id"])
    if event_type == "payment.recorded":
        customer_paid(claim, "payments", ref, amount, balance=str(payload.get("balance")))
    else:
        customer_refunded(claim, "payments", ref, amount)
    return True


def staff_payment(claim: Claim, shop: Shop, kind: Any, amount: Any, note: Any, user_id: int | None,
                  idempotency_key: Any = None) -> LoyaltyEntry | None:
    """What the customer paid (not the insurer, not points), entered by staff when the shop's
    payments are not recorded here."""
    if earn_from(shop) != "staff":
        raise Refused(409, "loyalty_earn_from_payments",
                      "Points are earned from the payments recorded on the claim; enter the payment there.")
    if kind not in ("payment", "refund"):
        raise Refused(422, "validation_error", "Choose payment or refund.",
                      errors={"json": {"kind": ["payment or refund"]}})
    value = money(amount)
    if kind == "refund" and value > net_paid(claim.id):
        raise Refused(422, "loyalty_refund_too_large",
                      f"A refund cannot exceed what the customer paid ({net_paid(claim.id)}).",
                      errors={"json": {"amount": ["more than the customer paid"]}})
    ref = _key(idempotency_key, "staff")
    clean = " ".join(str(note or "").split())[:200] or None
    if kind == "payment":
        row = customer_paid(claim, "staff", ref, value, note=clean, user_id=user_id)
    else:
        row = customer_refunded(claim, "staff", ref, value, note=clean, user_id=user_id)
    commit()
    return row


# -- expiry -----------------------------------------------------------------------------------------------


def expire_member(member: LoyaltyMember, now: datetime, months: int) -> int:
    """Points earned more than ``months`` ago that were not spent expire (oldest spent first)."""
    if months <= 0 or member.balance <= 0:
        return 0
    cutoff = now - timedelta(days=round(months * 30.44))
    db = get_session()
    old_credits = db.scalar(select(func.coalesce(func.sum(LoyaltyEntry.delta), 0)).where(
        LoyaltyEntry.member_id == member.id, LoyaltyEntry.delta > 0, LoyaltyEntry.created_at < cutoff)) or 0
    debits = -(db.scalar(select(func.coalesce(func.sum(LoyaltyEntry.delta), 0)).where(
        LoyaltyEntry.member_id == member.id, LoyaltyEntry.delta < 0)) or 0)
    lapsed = min(int(old_credits) - int(debits), member.balance)
    if lapsed <= 0:
        return 0
    post(member, -lapsed, "expire", f"expire:{member.id}:{now:%Y%m%d%H%M%S}",
         reason=f"Points earned before {cutoff:%Y-%m-%d} expired")
    return lapsed


def expire_shop(now: datetime | None = None) -> int:
    months = settings().get_int("expiry_months")
    if months <= 0:
        return 0
    total = 0
    for member in list(get_session().scalars(select(LoyaltyMember).where(LoyaltyMember.balance > 0))):
        total += expire_member(member, now or utc(), months)
    commit()
    return total


# -- referrals --------------------------------------------------------------------------------------------


def member_by_code(code: str) -> LoyaltyMember | None:
    clean = "".join(c for c in (code or "").upper() if c.isalnum())
    if len(clean) != 8:
        return None
    return get_session().scalars(select(LoyaltyMember).where(LoyaltyMember.referral_code == clean)).first()


def referral_of(claim_id: int) -> LoyaltyReferral | None:
    rows = prefetched(REFERRAL, _referral_stmt(claim_id))
    return next((r for r in rows if r.claim_id == claim_id), None)


def refer(claim: Claim, code: Any, user_id: int | None, source: str = "intake") -> LoyaltyReferral:
    """Record that ``claim`` came through the referral ``code``. Refused: an unknown code, a claim
    already referred, the referrer's own contact (self-referral), a contact already referred or
    already a customer of the shop (duplicate contact)."""
    field = {"json": {"code": []}}

    def refuse(status: int, code_: str, message: str) -> Refused:
        field["json"]["code"] = [message]
        return Refused(status, code_, message, errors=field)

    referrer = member_by_code(str(code or ""))
    if referrer is None:
        raise refuse(422, "loyalty_unknown_code", "No customer has that referral code here.")
    if referral_of(claim.id) is not None:
        raise refuse(409, "loyalty_already_referred", "This claim already has a referral.")
    contacts = contacts_of_claim(claim)
    if not contacts:
        raise refuse(422, "loyalty_no_contact", "The claim needs the customer's mobile or email first.")
    referrer_contacts = {referrer.contact}
    for own in member_claims(referrer):
        referrer_contacts |= contacts_of_claim(own)
    if contacts & referrer_contacts:
        raise refuse(422, "loyalty_self_referral", "A customer cannot refer themselves.")
    db = get_session()
    if db.scalar(select(LoyaltyReferral.id).where(LoyaltyReferral.contact.in_(contacts))):
        raise refuse(409, "loyalty_duplicate_contact", "This customer was already referred.")
    earlier = db.scalar(select(Claim.id).where(
        Claim.id != claim.id, Claim.created_at <= claim.created_at,
        or_(Claim.customer_mobile.in_(contacts), func.lower(Claim.customer_email).in_(contacts))))
    if earlier is not None:
        raise refuse(409, "loyalty_duplicate_contact", "This customer already had a repair here: not a new referral.")
    row = LoyaltyReferral(tenant_id=claim.tenant_id, referrer_id=referrer.id, claim_id=claim.id,
                          contact=contact_of(claim) or sorted(contacts)[0], source=source, state="pending",
                          user_id=user_id)
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        raise refuse(409, "loyalty_already_referred", "This claim already has a referral.") from None
    complete_referral(claim)
    commit()
    return row


def may_be_referred(claim: Claim) -> bool:
    """Whether the portal offers the customer to enter a friend's code: a repair not delivered yet,
    without a referral, of a contact new to the shop (no earlier repair)."""
    if claim.delivered_at is not None or not contacts_of_claim(claim):
        return False
    return not [c for c in prefetched(EARLIER, _earlier_stmt(claim)) if c.id != claim.id]


def is_paid(claim: Claim) -> bool:
    """The customer paid for the repair: something net, and (for payment events) nothing left owing."""
    if net_paid(claim.id) <= 0:
        return False
    last = get_session().scalars(select(LoyaltyPayment).where(LoyaltyPayment.claim_id == claim.id,
                                                              LoyaltyPayment.kind == "payment")
                                 .order_by(LoyaltyPayment.id.desc())).first()
    if last is not None and last.balance not in (None, "None"):
        try:
            return Decimal(last.balance) <= 0
        except InvalidOperation:
            return False
    return True


def complete_referral(claim: Claim) -> LoyaltyEntry | None:
    """Reward the referrer once the referred claim is delivered and paid."""
    ref = referral_of(claim.id)
    if ref is None or ref.state != "pending" or claim.delivered_at is None or not is_paid(claim):
        return None
    if not is_feature_active(get_session().get(Shop, claim.tenant_id), REFERRALS):
        return None
    points = shop_settings(NAME).get_int("referral_points")
    referrer = get_session().get(LoyaltyMember, ref.referrer_id)
    row = post(referrer, points, "referral", f"referral:{ref.id}", claim_id=claim.id,
               reason=f"Referral: {claim.number} delivered and paid") if points > 0 else None
    ref.state, ref.rewarded_at = "rewarded", utc()
    get_session().flush()
    emit("referral.rewarded", claim.tenant_id, {"claim_id": claim.id, "referral_id": ref.id,
                                                "referrer_id": referrer.id, "points": points})
    return row


def claw_back_referral(claim: Claim) -> LoyaltyEntry | None:
    ref = referral_of(claim.id)
    if ref is None or ref.state != "rewarded":
        return None
    referrer = get_session().get(LoyaltyMember, ref.referrer_id)
    given = get_session().scalars(select(LoyaltyEntry).where(
        LoyaltyEntry.idempotency_key == f"referral:{ref.id}")).first()
    row = None
    if given is not None:
        row = post(referrer, -given.delta, "referral_clawback", f"referral-clawback:{ref.id}", claim_id=claim.id,
                   reason=f"Referral clawed back: refund on {claim.number}")
    ref.state, ref.clawed_back_at = "clawed_back", utc()
    get_session().flush()
    return row


# -- offers ---------------------------------------------------------------------------------------------------


def send_offer(member: LoyaltyMember, body: Any, user_id: int | None, idempotency_key: Any = None) -> Any:
    """An offer is a marketing message: the outbox refuses it without marketing consent."""
    text = " ".join(str(body or "").split())
    if not text or len(text) > 640:
        raise Refused(422, "validation_error", "Write the offer (at most 640 characters); nothing was sent.",
                      errors={"json": {"body": ["1 to 640 characters"]}})
    channel = "email" if "@" in member.contact else "sms"
    item, _ = outbox.enqueue(channel=channel, purpose="marketing", recipient=member.contact, body=text,
                             idempotency_key=_key(idempotency_key, f"loyalty-offer:{member.id}"), user_id=user_id,
                             kind="manual", subject="An offer for you" if channel == "email" else None,
                             confirm_quiet_hours=False)
    return item


# -- reports ----------------------------------------------------------------------------------------------------


@dataclass
class Report:
    since: datetime
    until: datetime
    issued: dict[str, int]
    redeemed: int
    expired: int
    clawed_back: int
    referrals: int
    rewarded: int
    referrals_clawed_back: int
    members: int

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since, "until": self.until, "issued": self.issued,
                "issued_total": sum(self.issued.values()), "redeemed": self.redeemed, "expired": self.expired,
                "clawed_back": self.clawed_back, "referrals": self.referrals, "rewarded": self.rewarded,
                "referrals_clawed_back": self.referrals_clawed_back,
                "conversion": round(self.rewarded / self.referrals, 3) if self.referrals else None,
                "members": self.members}


def report(since: datetime, until: datetime) -> Report:
    db = get_session()
    sums = dict(db.execute(select(LoyaltyEntry.kind, func.sum(LoyaltyEntry.delta)).where(
        LoyaltyEntry.created_at >= since, LoyaltyEntry.created_at < until).group_by(LoyaltyEntry.kind)).all())
    issued = {k: int(sums.get(k) or 0) for k in ("earn", "referral")}
    issued["adjust"] = int(db.scalar(select(func.coalesce(func.sum(LoyaltyEntry.delta), 0)).where(
        LoyaltyEntry.kind == "adjust", LoyaltyEntry.delta > 0, LoyaltyEntry.created_at >= since,
        LoyaltyEntry.created_at < until)) or 0)

    def count(*conditions: Any) -> int:
        return int(db.scalar(select(func.count(LoyaltyReferral.id)).where(*conditions)) or 0)

    return Report(since, until, issued, -int(sums.get("redeem") or 0), -int(sums.get("expire") or 0),
                  -int(sums.get("clawback") or 0) - int(sums.get("referral_clawback") or 0),
                  count(LoyaltyReferral.created_at >= since, LoyaltyReferral.created_at < until),
                  count(LoyaltyReferral.rewarded_at >= since, LoyaltyReferral.rewarded_at < until),
                  count(LoyaltyReferral.clawed_back_at >= since, LoyaltyReferral.clawed_back_at < until),
                  int(db.scalar(select(func.count(LoyaltyMember.id))) or 0))


def search_members(q: str | None, limit: int = 100) -> list[LoyaltyMember]:
    query = select(LoyaltyMember).order_by(LoyaltyMember.id.desc()).limit(limit)
    text = (q or "").strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        digits = "".join(c for c in text if c.isdigit())
        conditions = [LoyaltyMember.name.ilike(f"%{escaped}%", escape="\\"),
                      LoyaltyMember.contact.ilike(f"%{escaped}%", escape="\\"),
                      LoyaltyMember.referral_code == text.upper()]
        if len(digits) >= 4:
            conditions.append(LoyaltyMember.contact.like(f"%{digits}%"))
        query = query.where(or_(*conditions))
    return list(get_session().scalars(query))
