"""Claim operations used by the API, the console and plugins.

Each function works in the current tenant context, validates its input
(raising marshmallow ``ValidationError`` with field messages), records history
and queues events; the caller commits with :func:`bayline.events.commit`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Select, func, or_, select

from bayline import settings_registry
from bayline.db import MAX_ID, get_session, utcnow
from bayline.events import emit
from bayline.messaging import intake
from bayline.phones import to_e164
from bayline.portal import tokens as portal_tokens
from bayline.tenancy import current_tenant_id
from bayline.tenants.models import Shop

from .models import Claim, EtaHistory, Stage, StageHistory
from .stages import active_stages
from .vin import normalise_vin, vin_error

EDITABLE = {
    "number", "claim_type", "customer_first_name", "customer_last_name", "customer_mobile", "customer_email",
    "vehicle_year", "vehicle_make", "vehicle_model", "vehicle_color", "vin", "plate", "insurer",
    "insurer_claim_number", "adjuster_name", "adjuster_email", "adjuster_phone", "internal_notes",
    "estimator_id",
}


def staff_choices() -> list[tuple[int, str]]:
    """``(user id, name)`` of the current shop's active staff, by name: who may be a claim's estimator."""
    from bayline.auth.models import User
    from bayline.tenants.models import Membership

    shop_id = current_tenant_id()
    if shop_id is None:
        raise RuntimeError("staff_choices needs a single-shop tenant context")
    # The shop is named explicitly: the tenant criteria do not reach a join inside a column select.
    rows = get_session().execute(select(User.id, User.name).join(Membership, Membership.user_id == User.id)
                                 .where(Membership.tenant_id == shop_id, User.is_active.is_(True))
                                 .order_by(User.name, User.id)).all()
    return [(uid, name) for uid, name in rows]


def _check_estimator(user_id: int | None) -> str | None:
    """A field error when ``user_id`` is not an active staff member of the current shop (another
    shop's user looks unknown)."""
    if user_id is None:
        return None
    if user_id not in {uid for uid, _ in staff_choices()}:
        return "no such staff member at this shop"
    return None


def _clean(data: dict[str, Any], shop_id: int) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out = dict(data)
    region = settings_registry.get(shop_id, "claims.phone_region")
    for field in ("customer_mobile", "adjuster_phone"):
        if out.get(field):
            try:
                out[field] = to_e164(out[field], region)
            except ValueError as exc:
                errors[field] = [str(exc)]
    if out.get("vin"):
        out["vin"] = normalise_vin(out["vin"])
        problem = vin_error(out["vin"])
        if problem:
            errors["vin"] = [problem]
    if "number" in out:
        out["number"] = (out["number"] or "").strip()
        if not out["number"]:
            errors["number"] = ["must not be blank"]
    for field in ("customer_first_name", "customer_last_name"):
        if field in out:
            out[field] = (out[field] or "").strip()
            if not out[field]:  # spaces only would be stored as an empty name
                errors[field] = ["must not be blank"]
    if out.get("plate"):
        out["plate"] = out["plate"].strip().upper()
    if "estimator_id" in out:
        problem = _check_estimator(out["estimator_id"])
        if problem:
            errors["estimator_id"] = [problem]
    if errors:
        raise ValidationError(errors)
    return out


def _number_taken(number: str, exclude_id: int | None = None) -> bool:
    stmt = select(Claim.id).where(Claim.number == number)
    if exclude_id is not None:
        stmt = stmt.where(Claim.id != exclude_id)
    return get_session().scalar(stmt) is not None


class DuplicateClaimNumber(ValidationError):
    """The claim/RO number is already used at this shop."""


def get_stage(stage_id: int) -> Stage:
    """A live stage of the current shop, or a field error (another shop's id looks unknown)."""
    stage = get_session().get(Stage, stage_id) if 0 < stage_id <= MAX_ID else None
    if stage is None or stage.archived_at is not None:
        raise ValidationError({"stage_id": ["no such stage at this shop"]})
    return stage


def create_claim(data: dict[str, Any], user_id: int | None = None) -> Claim:
    shop_id = current_tenant_id()
    if shop_id is None:
        raise RuntimeError("create_claim needs a single-shop tenant context")
    text_consent = data.pop("text_consent", None) if "text_consent" in data else None
    marketing = list(data.pop("marketing_consent", None) or [])
    data = _clean(data, shop_id)
    consent_errors = intake.problems(text_consent, marketing)
    if consent_errors:
        raise ValidationError(consent_errors)
    stage_id = data.pop("stage_id", None)
    eta: date | None = data.pop("eta", None)
    if _number_taken(data["number"]):
        raise DuplicateClaimNumber({"number": ["is already used by another claim at this shop"]})
    if stage_id is not None:
        stage = get_stage(stage_id)
    else:
        stages = active_stages()
        if not stages:
            raise ValidationError({"stage_id": ["this shop has no stages yet"]})
        stage = stages[0]
    now = utcnow()
    claim = Claim(tenant_id=shop_id, stage=stage, stage_entered_at=now, eta=eta,
                  eta_updated_at=now if eta else None, **{k: v for k, v in data.items() if k in EDITABLE})
    session = get_session()
    session.add(claim)
    session.flush()
    session.add(StageHistory(claim_id=claim.id, from_stage_id=None, to_stage_id=stage.id, user_id=user_id, at=now))
    if eta:
        session.add(EtaHistory(claim_id=claim.id, old_eta=None, new_eta=eta, user_id=user_id, at=now))
    if text_consent or marketing:
        intake.record_intake(claim, session.get(Shop, shop_id), text_consent, marketing, user_id)
    emit("claim.created", shop_id, {"claim_id": claim.id, "stage_id": stage.id, "user_id": user_id})
    # The raw link exists only now (just its hash is stored): callers may show it once.
    claim.portal_link = portal_tokens.issue(claim, user_id)
    return claim


def update_claim(claim: Claim, data: dict[str, Any], user_id: int | None = None) -> Claim:
    data = _clean(data, claim.tenant_id)
    unknown = set(data) - EDITABLE
    if unknown:
        raise ValidationError({k: ["cannot be changed here"] for k in sorted(unknown)})
    if "number" in data and data["number"] != claim.number and _number_taken(data["number"], claim.id):
        raise DuplicateClaimNumber({"number": ["is already used by another claim at this shop"]})
    changed = [k for k, v in data.items() if getattr(claim, k) != v]
    for key in changed:
        setattr(claim, key, data[key])
    if "estimator_id" in changed:
        get_session().expire(claim, ["estimator"])  # the view-only relationship reloads from the new id
    if changed:
        claim.updated_at = utcnow()
        emit("claim.updated", claim.tenant_id, {"claim_id": claim.id, "fields": changed, "user_id": user_id})
    return claim


def change_stage(claim: Claim, stage: Stage, user_id: int | None = None) -> StageHistory | None:
    """Move ``claim`` to ``stage`` (a live stage of its shop). No-op if already there."""
    if stage.tenant_id != claim.tenant_id or stage.archived_at is not None:
        raise ValidationError({"stage_id": ["no such stage at this shop"]})
    if claim.stage_id == stage.id:
        return None
    now = utcnow()
    entry = StageHistory(claim_id=claim.id, from_stage_id=claim.stage_id, to_stage_id=stage.id, user_id=user_id, at=now)
    get_session().add(entry)
    previous = claim.stage_id
    claim.stage = stage
    claim.stage_id = stage.id
    claim.stage_entered_at = now
    claim.updated_at = now
    payload = {"claim_id": claim.id, "from_stage_id": previous, "to_stage_id": stage.id, "user_id": user_id}
    emit("claim.stage_changed", claim.tenant_id, payload)
    if stage.terminal and claim.delivered_at is None:
        claim.delivered_at = now
        emit("claim.delivered", claim.tenant_id, {"claim_id": claim.id, "user_id": user_id})
    elif not stage.terminal:
        claim.delivered_at = None
    return entry


def set_eta(claim: Claim, eta: date | None, user_id: int | None = None, reason: str | None = None) -> EtaHistory | None:
    if claim.eta == eta:
        return None
    now = utcnow()
    entry = EtaHistory(claim_id=claim.id, old_eta=claim.eta, new_eta=eta, reason=reason, user_id=user_id, at=now)
    get_session().add(entry)
    claim.eta = eta
    claim.eta_updated_at = now
    claim.updated_at = now
    emit("claim.eta_changed", claim.tenant_id, {
        "claim_id": claim.id, "old_eta": entry.old_eta.isoformat() if entry.old_eta else None,
        "new_eta": eta.isoformat() if eta else None, "user_id": user_id})
    return entry


CLOSE_REASON_MAX = 200


def archive_claim(claim: Claim, user_id: int | None = None, reason: str | None = None) -> None:
    """Soft-close (archive): the claim leaves the board and lists but keeps its history; ``reason``
    (up to 200 characters) is shown on the claim page. Its customer links stop working."""
    reason = " ".join((reason or "").split()) or None
    if reason and len(reason) > CLOSE_REASON_MAX:
        raise ValidationError({"reason": [f"must be at most {CLOSE_REASON_MAX} characters"]})
    if claim.archived_at is None:
        claim.archived_at = utcnow()
        claim.archive_reason = reason
        claim.updated_at = claim.archived_at
        emit("claim.archived", claim.tenant_id, {"claim_id": claim.id, "user_id": user_id})


def reopen_claim(claim: Claim, user_id: int | None = None) -> None:
    """Undo :func:`archive_claim`: the claim is back on the board and in the lists (a ``claim.updated``
    event names ``archived_at``). Links revoked by hand stay revoked."""
    if claim.archived_at is not None:
        claim.archived_at = None
        claim.archive_reason = None
        claim.updated_at = utcnow()
        emit("claim.updated", claim.tenant_id, {"claim_id": claim.id, "fields": ["archived_at"],
                                                "user_id": user_id})


HISTORY_STAGES, HISTORY_ETAS = "core.stage_history", "core.eta_history"  # page bundle parts (bayline.bundle)


def history_stmts(claim: Claim) -> dict[str, Any]:
    return {HISTORY_STAGES: select(StageHistory).where(StageHistory.claim_id == claim.id)
            .order_by(StageHistory.at, StageHistory.id),
            HISTORY_ETAS: select(EtaHistory).where(EtaHistory.claim_id == claim.id)
            .order_by(EtaHistory.at, EtaHistory.id)}


def history(claim: Claim) -> dict[str, list[Any]]:
    """The claim's stage moves and ETA changes, oldest first (from the page's bundle when declared)."""
    from bayline.bundle import prefetched

    stmts = history_stmts(claim)
    return {"stages": prefetched(HISTORY_STAGES, stmts[HISTORY_STAGES]),
            "etas": prefetched(HISTORY_ETAS, stmts[HISTORY_ETAS])}


SEARCH_PAGE_SIZE = 25


@dataclass(frozen=True)
class ClaimPage:
    """One page of a claim search: the claims, how many matched in all, and the page asked for."""

    claims: list[Claim]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, with ``%``, ``_`` and the escape character taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_statement(q: str | None = None, stage_id: int | None = None, archived: bool = False,
                     updated_since: datetime | None = None) -> Select[tuple[Claim]]:
    """The claims of the current shop matching ``q`` (in the number, customer first, last or full
    name, VIN or plate, insurer claim number, make, model or "make model"; a phone number in any
    format against the customer's mobile and the adjuster's phone; case-insensitive, runs of spaces
    count as one), in ``stage_id``, changed since
    ``updated_since``; archived ones only when ``archived``. Newest activity first."""
    stmt = select(Claim)
    if not archived:
        stmt = stmt.where(Claim.archived_at.is_(None))
    if stage_id is not None:
        stmt = stmt.where(Claim.stage_id == stage_id)
    if updated_since is not None:
        stmt = stmt.where(Claim.updated_at >= updated_since)
    text = " ".join((q or "").split())
    if text:
        like = _like(text)
        full_name = Claim.customer_first_name + " " + Claim.customer_last_name
        vehicle = func.coalesce(Claim.vehicle_make, "") + " " + func.coalesce(Claim.vehicle_model, "")
        matches = [col.ilike(like, escape="\\") for col in (
            Claim.number, Claim.customer_first_name, Claim.customer_last_name, full_name, Claim.vin, Claim.plate,
            Claim.insurer_claim_number, Claim.vehicle_make, Claim.vehicle_model, vehicle)]
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) >= 4 and not any(ch.isalpha() for ch in text):
            # a phone number in any format (caller ID "+1 (617) 555-0142", "617.555.0142", "6175550142"):
            # mobiles are stored E.164, so its digits (a leading 1 of a NANP number dropped) match inside
            national = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
            matches += [Claim.customer_mobile.like(_like(national), escape="\\"),
                        Claim.adjuster_phone.like(_like(national), escape="\\")]
        stmt = stmt.where(or_(*matches))
    return stmt.order_by(Claim.updated_at.desc(), Claim.id.desc())


def search(q: str | None = None, stage_id: int | None = None, archived: bool = False, page: int = 1,
           page_size: int = SEARCH_PAGE_SIZE, updated_since: datetime | None = None) -> ClaimPage:
    """One page of :func:`search_statement` (the console's claim list and ``GET /api/v1/claims``).

    A page past the end is empty without asking the database for it (its OFFSET is a 64-bit integer:
    ``page=10**20`` must not become an error)."""
    stmt = search_statement(q, stage_id, archived, updated_since)
    session = get_session()
    total = session.scalar(stmt.with_only_columns(func.count(Claim.id)).order_by(None)) or 0
    first = (page - 1) * page_size
    if page < 1 or first >= total:
        return ClaimPage([], total, page, page_size)
    return ClaimPage(list(session.scalars(stmt.offset(first).limit(page_size))), total, page, page_size)
