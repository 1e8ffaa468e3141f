"""Estimates, versions, supplement diffs, customer decisions and payments.

Every function works in the caller's transaction and tenant (the request's shop) and raises
:class:`Refused` for what the caller may not do; views commit. Money comes from one place:
:func:`totals` (the shop's :class:`~bayline_quotes.money.RoundingPolicy` over the lines).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask import g, render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Refused,
    SignatureDocument,
    attach,
    commit,
    emit,
    get_session,
    prefetched,
    prepare,
    shop_settings,
    signatures,
    utcnow,
)

from .imports import ImportedEstimate, ImportRejected
from .models import QuoteCheckout, QuoteDecision, QuoteEstimate, QuoteLine, QuotePayment, QuoteVersion
from .money import CATEGORIES, PAYERS, ZERO, MoneyError, RoundingPolicy, Totals, compute, to_decimal

NAME = "quotes"
DECLINE_REASONS = {"price": "The price", "timing": "The timing", "elsewhere": "Going elsewhere",
                   "insurer": "Waiting for / disagree with the insurer", "other": "Other"}
PAYMENT_PAYERS = ("insurer", "deductible", "customer")
# ``points``: the customer paid part with loyalty points (a loyalty plugin earns nothing on it).
PAYMENT_METHODS = ("card", "cash", "check", "ach", "insurer_check", "points", "other")
LINE_FIELDS = ("operation", "description", "part_number", "part_type", "quantity", "unit_price", "labor_type",
               "labor_hours", "labor_rate", "paint_materials", "sublet", "taxable", "payer", "betterment_pct")


# -- policy and totals ---------------------------------------------------------------


def policy(shop_id: int | None = None) -> RoundingPolicy:
    """The shop's rounding policy from its ``quotes.*`` settings (the current shop by default)."""
    s = shop_settings(NAME, shop_id)
    rates = {}
    for cat in CATEGORIES:
        try:
            rates[cat] = to_decimal(s.get_str(f"tax_{cat}") or "0", f"tax_{cat}")
        except MoneyError:
            rates[cat] = ZERO
    return RoundingPolicy(currency=s.get_str("currency") or "USD", mode=s.get_str("rounding") or "line",  # type: ignore[arg-type]
                          tax_inclusive=s.get_bool("tax_inclusive"), rates=rates)


def totals(version: QuoteVersion, pol: RoundingPolicy | None = None, *, scope: bool = False) -> Totals:
    """The version's totals; ``scope=True`` leaves out lines the customer declined (what is owed)."""
    lines = [ln for ln in version.lines if not (scope and ln.decision == "declined")]
    return compute([(ln.id, ln) for ln in lines], pol or policy(), version.deductible)


def portal_mode() -> str:
    return shop_settings(NAME).get_str("portal_lines") or "customer_pay"


def customer_lines(version: QuoteVersion) -> list[QuoteLine]:
    """The lines the customer sees and decides: never shop-only ones; by default the customer-pay ones."""
    mode = portal_mode()
    return [ln for ln in version.lines if not ln.shop_only and (mode == "all" or ln.payer == "customer")]


# -- lookups ---------------------------------------------------------------------------


def get_claim(claim_id: int) -> Claim:
    claim = get_session().scalars(select(Claim).where(Claim.id == claim_id)).first()
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


def get_version(version_id: int, claim_id: int | None = None) -> QuoteVersion:
    q = select(QuoteVersion).where(QuoteVersion.id == version_id)
    if claim_id is not None:
        q = q.where(QuoteVersion.claim_id == claim_id)
    version = get_session().scalars(q).first()
    if version is None:
        raise Refused(404, "not_found", "No such estimate version.")
    return version


ESTIMATES, VERSIONS, LINES, DECISIONS, PAYMENTS = (  # parts of the page bundle (hook prefetch)
    "quotes.estimates", "quotes.versions", "quotes.lines", "quotes.decisions", "quotes.payments")


@prepare
def estimates_stmt(claim_id: int) -> Any:
    return select(QuoteEstimate).where(QuoteEstimate.claim_id == claim_id).order_by(QuoteEstimate.id)


@prepare
def versions_stmt(claim_id: int) -> Any:
    return (select(QuoteVersion).where(QuoteVersion.claim_id == claim_id)
            .order_by(QuoteVersion.estimate_id, QuoteVersion.number))


@prepare
def lines_stmt(claim_id: int) -> Any:
    return (select(QuoteLine).join(QuoteVersion, QuoteVersion.id == QuoteLine.version_id)
            .where(QuoteVersion.claim_id == claim_id).order_by(QuoteLine.version_id, QuoteLine.line_no))


@prepare
def decisions_stmt(claim_id: int) -> Any:
    return select(QuoteDecision).where(QuoteDecision.claim_id == claim_id).order_by(QuoteDecision.id)


@prepare
def payments_stmt(claim_id: int) -> Any:
    return select(QuotePayment).where(QuotePayment.claim_id == claim_id).order_by(QuotePayment.id)


def want_claim_rows(claim_id: int, bundle: Any, *, staff: bool) -> None:
    """The page bundle's parts for the claim's estimates (staff: decisions too) and payments."""
    for key, stmt in ((ESTIMATES, estimates_stmt), (VERSIONS, versions_stmt), (LINES, lines_stmt),
                      (PAYMENTS, payments_stmt)):
        bundle.want(key, stmt(claim_id))
    if staff:
        bundle.want(DECISIONS, decisions_stmt(claim_id))


def versions_for_claim(claim_id: int) -> list[QuoteVersion]:
    """Every version of the claim's estimates, each with its estimate and lines; the estimates'
    version lists with them (what :func:`base_version` reads). From the page's bundle when the page
    declared them (:func:`want_claim_rows`), else three statements."""
    versions = prefetched(VERSIONS, versions_stmt(claim_id))
    if not versions:
        return []
    attach(prefetched(ESTIMATES, estimates_stmt(claim_id)), "versions", versions, "estimate_id", back="estimate")
    attach(versions, "lines", prefetched(LINES, lines_stmt(claim_id)), "version_id", back="version")
    return versions


def current_of(versions: list[QuoteVersion]) -> list[QuoteVersion]:
    """The newest version of each estimate among ``versions`` that is not withdrawn."""
    best: dict[int, QuoteVersion] = {}
    for v in versions:
        if v.status != "withdrawn":
            best[v.estimate_id] = v
    return list(best.values())


def current_versions(claim_id: int) -> list[QuoteVersion]:
    """The newest version of each estimate of the claim that is not withdrawn."""
    return current_of(versions_for_claim(claim_id))


# -- import ----------------------------------------------------------------------------


def find_claim(est: ImportedEstimate) -> Claim:
    """The claim the file is for: the RO (our claim number), then the insurer's claim number, then the
    VIN when exactly one open claim has it."""
    db = get_session()
    live = Claim.archived_at.is_(None)
    for ref in (est.ro_number, est.claim_number):
        if ref:
            hit = db.scalars(select(Claim).where(Claim.number == ref)).first()
            if hit is not None:
                return hit
    if est.claim_number:
        hit = db.scalars(select(Claim).where(Claim.insurer_claim_number == est.claim_number)).first()
        if hit is not None:
            return hit
    if est.vin:
        hits = list(db.scalars(select(Claim).where(Claim.vin == est.vin.upper(), live).limit(2)))
        if len(hits) == 1:
            return hits[0]
    raise Refused(422, "quotes_no_matching_claim",
                  "No claim matches the file's RO number, claim number or VIN; import it from the claim.")


def _check_lines(est: ImportedEstimate) -> None:
    bad = [f"line {ln.line_ref}: a shop-only line cannot be paid by the customer"
           for ln in est.lines if ln.shop_only and ln.payer == "customer"]
    if bad:
        raise ImportRejected("quotes_invalid_file", "The file has errors; nothing was imported.", bad)


def _reconcile(version: QuoteVersion, est: ImportedEstimate) -> list[dict[str, str]]:
    t = totals(version)
    mismatches = []
    for key, ours in (("total", t.gross), ("tax", t.tax)):
        theirs = est.file_totals.get(key)
        if theirs is not None and Decimal(theirs) != ours:
            mismatches.append({"total": key, "file": theirs, "computed": str(ours),
                               "difference": str(ours - Decimal(theirs))})
    return mismatches


def _fill_lines(version: QuoteVersion, est: ImportedEstimate) -> None:
    version.lines.clear()
    get_session().flush()
    for n, src in enumerate(est.lines, start=1):
        version.lines.append(QuoteLine(
            line_no=n, line_ref=src.line_ref, operation=src.operation, description=src.description,
            part_number=src.part_number, part_type=src.part_type, quantity=src.quantity, unit_price=src.unit_price,
            labor_type=src.labor_type, labor_hours=src.labor_hours, labor_rate=src.labor_rate,
            paint_materials=src.paint_materials, sublet=src.sublet, taxable=src.taxable, payer=src.payer,
            betterment_pct=src.betterment_pct, shop_only=src.shop_only, internal_note=src.internal_note,
            tenant_id=version.tenant_id))


@dataclass
class ImportResult:
    version: QuoteVersion
    outcome: str  # created | duplicate | updated


def import_estimate(est: ImportedEstimate, claim: Claim | None, user_id: int | None) -> ImportResult:
    """Store ``est`` as a version of its estimate on ``claim`` (found from the file when None).

    The estimating system re-saves the same estimate many times a minute: the same estimate and
    version number with the same content is the same version (``duplicate``, counted in ``saves``);
    changed content replaces the lines while nobody has decided on them yet (``updated``), and is
    refused once the customer has. A new, higher version supersedes the open one."""
    _check_lines(est)
    db = get_session()
    claim = claim or find_claim(est)
    estimate = db.scalars(select(QuoteEstimate).where(QuoteEstimate.claim_id == claim.id,
                                                      QuoteEstimate.source_ref == est.source_ref)).first()
    if estimate is None:
        estimate = QuoteEstimate(claim_id=claim.id, source=est.source, source_ref=est.source_ref,
                                 estimator=est.estimator, tenant_id=claim.tenant_id)
        db.add(estimate)
        db.flush()
    digest = est.content_hash()
    versions = list(db.scalars(select(QuoteVersion).where(QuoteVersion.estimate_id == estimate.id)
                               .order_by(QuoteVersion.number)))
    same = next((v for v in versions if v.number == est.version_number), None)
    if same is not None:
        if same.content_hash == digest:
            same.saves += 1
            return ImportResult(same, "duplicate")
        if same.status != "open" or any(ln.decision != "pending" for ln in same.lines):
            raise Refused(409, "quotes_version_decided",
                          f"{same.label} was already decided or replaced; send the change as a new supplement.")
        same.content_hash = digest
        same.deductible = est.deductible
        same.file_totals = est.file_totals or None
        same.updated_at = utcnow()
        same.saves += 1
        _fill_lines(same, est)
        db.flush()
        same.mismatches = _reconcile(same, est) or None
        return ImportResult(same, "updated")
    if versions and est.version_number < versions[-1].number:
        raise Refused(409, "quotes_version_out_of_order",
                      f"Version {est.version_number} is older than the stored {versions[-1].label}.")
    days = shop_settings(NAME).get_int("approval_days") or 30
    version = QuoteVersion(estimate_id=estimate.id, claim_id=claim.id, number=est.version_number,
                           content_hash=digest, deductible=est.deductible, file_totals=est.file_totals or None,
                           expires_at=utcnow() + timedelta(days=days), created_by_user_id=user_id,
                           tenant_id=claim.tenant_id)
    db.add(version)
    _fill_lines(version, est)
    db.flush()
    for older in versions:
        if older.status == "open":
            older.status = "superseded"
    version.mismatches = _reconcile(version, est) or None
    d = diff(version)
    emit("quote.imported", claim.tenant_id, {
        "claim_id": claim.id, "version_id": version.id, "version_number": version.number,
        "total": str(totals(version).gross), "summary": d.summary if d else version.label,
        "totals_mismatch": bool(version.mismatches)})
    return ImportResult(version, "created")


def store_import(est: ImportedEstimate, claim_id: int | None, user_id: int | None) -> ImportResult:
    """:func:`import_estimate` and commit. Re-saves arrive at once: when a concurrent request stored
    the same estimate or version first (a unique constraint refuses ours), the transaction is rolled
    back and the import runs again, now finding that row (``duplicate``)."""
    db = get_session()
    for attempt in range(3):
        try:
            claim = get_claim(claim_id) if claim_id is not None else None
            result = import_estimate(est, claim, user_id)
            commit()
            return result
        except IntegrityError:
            db.rollback()
            if attempt == 2:
                raise Refused(409, "quotes_import_conflict",
                              "The same estimate is being imported right now; try again.") from None
    raise AssertionError("unreachable")


# -- diff ------------------------------------------------------------------------------


@dataclass
class LineChange:
    kind: str  # added | removed | changed
    line_ref: str
    description: str
    before: QuoteLine | None
    after: QuoteLine | None
    payer: str
    delta: Decimal  # gross change of this line


@dataclass
class Diff:
    version: QuoteVersion
    base: QuoteVersion | None
    changes: list[LineChange] = field(default_factory=list)
    payer_delta: dict[str, Decimal] = field(default_factory=dict)
    total_delta: Decimal = ZERO
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"base_version_id": self.base.id if self.base else None,
                "base_label": self.base.label if self.base else None,
                "total_delta": str(self.total_delta), "summary": self.summary,
                "payer_delta": {k: str(v) for k, v in self.payer_delta.items()},
                "lines": [{"change": c.kind, "line_ref": c.line_ref, "description": c.description,
                           "payer": c.payer, "delta": str(c.delta)} for c in self.changes]}


def base_version(version: QuoteVersion) -> QuoteVersion | None:
    """The last version before this one the customer approved (fully or partly), else the previous one."""
    older = [v for v in version.estimate.versions if v.number < version.number]
    approved = [v for v in older if v.approval in ("approved", "partly")]
    return (approved or older or [None])[-1]


def _signature(line: QuoteLine) -> tuple[Any, ...]:
    return tuple(getattr(line, f) for f in LINE_FIELDS)


def diff(version: QuoteVersion, pol: RoundingPolicy | None = None, visible_only: bool = False) -> Diff | None:
    """Lines added, removed and changed since :func:`base_version`, with the change per payer."""
    base = base_version(version)
    if base is None:
        return None
    pol = pol or policy()
    new_t, old_t = totals(version, pol), totals(base, pol)
    keep = (lambda ln: ln in customer_lines(ln.version)) if visible_only else (lambda ln: True)
    before = {ln.line_ref: ln for ln in base.lines}
    after = {ln.line_ref: ln for ln in version.lines}
    out = Diff(version, base)
    for ref, ln in after.items():
        old = before.get(ref)
        if old is None:
            kind, delta = "added", new_t.lines[ln.id].gross
        elif _signature(old) != _signature(ln):
            kind, delta = "changed", new_t.lines[ln.id].gross - old_t.lines[old.id].gross
        else:
            continue
        if keep(ln):
            out.changes.append(LineChange(kind, ref, ln.description, old, ln, ln.payer, delta))
    for ref, old in before.items():
        if ref not in after and keep(old):
            out.changes.append(LineChange("removed", ref, old.description, old, None, old.payer,
                                          -old_t.lines[old.id].gross))
    out.payer_delta = {p: new_t.payers[p] - old_t.payers[p] for p in PAYERS}
    out.total_delta = new_t.gross - old_t.gross
    parts = [f"insurer {pol.format(out.payer_delta['insurer'], signed=True)}",
             f"you {pol.format(out.payer_delta['customer'], signed=True)}"]
    if out.payer_delta["warranty"]:
        parts.append(f"goodwill {pol.format(out.payer_delta['warranty'], signed=True)}")
    out.summary = f"{version.label}: {pol.format(out.total_delta, signed=True)} ({', '.join(parts)})"
    return out


# -- customer decisions -----------------------------------------------------------------


def _refuse_closed(version: QuoteVersion) -> None:
    if version.status == "withdrawn":
        raise Refused(409, "quotes_version_withdrawn", "The shop withdrew this estimate; it cannot be approved.")
    if version.status == "superseded":
        raise Refused(409, "quotes_version_superseded",
                      "A newer version of this estimate replaced this one; review the newest one.")
    if version.expires_at is not None and version.expires_at < utcnow():
        raise Refused(409, "quotes_version_expired", "This estimate has expired; ask the shop for a new one.")


def _approval_state(version: QuoteVersion) -> str:
    mine = customer_lines(version)
    decisions = {ln.decision for ln in mine}
    if not mine:
        return version.approval
    if decisions == {"approved"}:
        return "approved"
    if "approved" in decisions:
        return "partly"
    if decisions == {"declined"}:
        return "declined"
    return "pending"


@dataclass(frozen=True)
class Actor:
    kind: str  # customer | staff
    name: str
    user_id: int | None = None
    ip: str | None = None
    user_agent: str | None = None


def decide(version: QuoteVersion, *, action: str, approve: list[int], reason: str | None,
           reason_text: str | None, actor: Actor) -> QuoteVersion:
    """The customer's decision on ``version``:

    * ``approve_all`` - every pending or declined line they see is approved;
    * ``approve_selected`` - the lines in ``approve`` are approved, the other pending ones declined
      (with ``reason``); declined lines may be approved later;
    * ``decline_all`` - every pending line is declined with ``reason``.

    Approved lines are final (only staff reverse them). With the shop's ``quotes.signed_approval`` the
    approval is the signing plugin's request first (hook ``request_signature``): the lines stay
    pending until ``document.signed`` comes back (:func:`finish_signed_approval`); declines count now."""
    _refuse_closed(version)
    if version.signature_status == "pending":
        raise Refused(409, "quotes_signature_pending",
                      "Your approval is waiting for your signature; sign it, or ask the shop to change it.")
    if action not in ("approve_all", "approve_selected", "decline_all"):
        raise Refused(422, "validation_error", "Choose approve all, approve selected lines, or decline.",
                      errors={"form": {"action": ["unknown action"]}})
    mine = {ln.id: ln for ln in customer_lines(version)}
    unknown = [i for i in approve if i not in mine]
    if unknown:
        raise Refused(422, "quotes_unknown_line", "A chosen line is not on this estimate.",
                      errors={"form": {"lines": [f"unknown line {i}" for i in unknown]}})
    if action == "approve_all":
        approve = [i for i, ln in mine.items() if ln.decision != "approved"]
        if not approve and mine:
            raise Refused(409, "quotes_already_approved", "You already approved this estimate.")
        if not mine and version.approval == "approved":
            raise Refused(409, "quotes_already_approved", "You already approved this estimate.")
    if action == "approve_selected" and not approve:
        raise Refused(422, "validation_error", "Tick the lines you approve, or decline the estimate.",
                      errors={"form": {"lines": ["choose at least one line"]}})
    again = [i for i in approve if mine[i].decision == "approved"]
    if again:
        raise Refused(409, "quotes_already_approved", "You already approved these lines; they cannot change now.",
                      errors={"form": {"lines": [f"line {i} is already approved" for i in again]}})
    decline = ([i for i, ln in mine.items() if ln.decision == "pending" and i not in approve]
               if action != "approve_all" else [])
    if action == "decline_all" and not decline:
        raise Refused(409, "quotes_nothing_to_decline", "There is nothing left to decline on this estimate.")
    if decline:
        if reason not in DECLINE_REASONS:
            raise Refused(422, "validation_error", "Tell the shop why you decline.",
                          errors={"form": {"reason": [f"one of {', '.join(DECLINE_REASONS)}"]}})
        reason_text = " ".join((reason_text or "").split())[:500] or None
        if reason == "other" and not reason_text:
            raise Refused(422, "validation_error", "Say in a few words why you decline.",
                          errors={"form": {"reason_text": ["required with 'Other'"]}})
    now = utcnow()
    db = get_session()
    signed = signed_approval_on() and bool(approve or (action == "approve_all" and not mine))
    if signed:
        _request_signature(version, sorted(approve), actor, now)
        approve = []
    for i in approve:
        mine[i].decision, mine[i].decided_at = "approved", now
    for i in decline:
        mine[i].decision, mine[i].decided_at = "declined", now
    if not mine and action == "approve_all":
        version.approval = "pending" if signed else "approved"
    elif not mine:
        version.approval = "declined"
    else:
        version.approval = _approval_state(version)
    base = {"version_id": version.id, "claim_id": version.claim_id, "actor": actor.kind, "actor_name": actor.name,
            "user_id": actor.user_id, "ip": actor.ip, "user_agent": (actor.user_agent or "")[:500] or None,
            "tenant_id": version.tenant_id, "created_at": now}
    scope = totals(version, scope=True)
    if not signed and (approve or (action == "approve_all" and not mine)):
        db.add(QuoteDecision(action="approve", line_ids=sorted(approve), **base))
        emit("quote.approved", version.tenant_id, {
            "claim_id": version.claim_id, "version_id": version.id, "version_number": version.number,
            "line_ids": sorted(approve), "approval": version.approval,
            "customer_amount": str(scope.payers["customer"]), "by": actor.kind})
    if decline:
        db.add(QuoteDecision(action="decline", line_ids=sorted(decline), reason=reason, reason_text=reason_text,
                             **base))
        emit("quote.declined", version.tenant_id, {
            "claim_id": version.claim_id, "version_id": version.id, "version_number": version.number,
            "line_ids": sorted(decline), "reason": reason or "", "reason_text": reason_text or "",
            "approval": version.approval})
    version.updated_at = now
    return version


def reverse(version: QuoteVersion, line_ids: list[int], reason: str | None, actor: Actor) -> QuoteVersion:
    """Staff put approved or declined lines back to pending (all decided ones when ``line_ids`` is
    empty), with a reason that goes into the history."""
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise Refused(422, "validation_error", "Give the reason for reversing the customer's decision.",
                      errors={"json": {"reason": ["required"]}})
    lines = {ln.id: ln for ln in version.lines}
    unknown = [i for i in line_ids if i not in lines]
    if unknown:
        raise Refused(422, "quotes_unknown_line", "A line is not on this estimate.",
                      errors={"json": {"line_ids": [f"unknown line {i}" for i in unknown]}})
    chosen = [lines[i] for i in line_ids] if line_ids else [ln for ln in lines.values() if ln.decision != "pending"]
    chosen = [ln for ln in chosen if ln.decision != "pending"]
    if version.signature_status == "pending":
        version.signature_status = "cancelled"  # a later document.signed for it changes nothing
    elif not chosen and version.approval == "pending":
        raise Refused(409, "quotes_nothing_to_reverse", "Nothing on this estimate was decided yet.")
    for ln in chosen:
        ln.decision, ln.decided_at = "pending", None
    version.approval = _approval_state(version) if customer_lines(version) else "pending"
    version.updated_at = utcnow()
    get_session().add(QuoteDecision(
        version_id=version.id, claim_id=version.claim_id, action="reverse", line_ids=sorted(ln.id for ln in chosen),
        reason="other", reason_text=reason, actor=actor.kind, actor_name=actor.name, user_id=actor.user_id,
        ip=actor.ip, user_agent=actor.user_agent, tenant_id=version.tenant_id))
    emit("quote.reversed", version.tenant_id, {"claim_id": version.claim_id, "version_id": version.id,
                                               "line_ids": sorted(ln.id for ln in chosen), "reason": reason})
    return version


# -- signed approval ---------------------------------------------------------------------


def signed_approval_on() -> bool:
    return bool(shop_settings(NAME).get_bool("signed_approval"))


def signature_text(version: QuoteVersion, line_ids: list[int], customer: str) -> str:
    """The text the customer signs: the lines they approve with their amounts and their part."""
    pol = policy()
    t = totals(version, pol)
    chosen = [ln for ln in customer_lines(version) if ln.id in line_ids]
    return render_template("bayline_quotes/signature_body.txt", version=version, lines=chosen, totals=t,
                           pol=pol, customer=customer, shop=g.shop,
                           amount=sum((t.lines[ln.id].gross for ln in chosen), ZERO)).strip()


def _request_signature(version: QuoteVersion, line_ids: list[int], actor: Actor, now: Any) -> None:
    claim = get_claim(version.claim_id)
    doc = SignatureDocument(source=NAME, reference=f"version:{version.id}",
                            title=f"Repair approval: {version.label}"[:200],
                            body=signature_text(version, line_ids, actor.name),
                            signer_name=None if actor.kind != "customer" else actor.name)
    req = signatures.request(claim, doc)
    version.signature_status, version.signature_package = "pending", req.package_id
    version.signature_url, version.signature_line_ids = req.url[:300], line_ids
    version.signature_requested_at, version.signed_at = now, None
    get_session().add(QuoteDecision(
        version_id=version.id, claim_id=version.claim_id, action="sign_request", line_ids=line_ids,
        actor=actor.kind, actor_name=actor.name, user_id=actor.user_id, ip=actor.ip,
        user_agent=(actor.user_agent or "")[:500] or None, tenant_id=version.tenant_id, created_at=now))


def version_for_package(package_id: str) -> QuoteVersion | None:
    return get_session().scalars(select(QuoteVersion).where(QuoteVersion.signature_package == package_id)).first()


def finish_signed_approval(reference: str, package_id: str, signer: str) -> QuoteVersion | None:
    """``document.signed`` for a signature this plugin asked for: the approval now counts (lines
    approved, ``quote.approved``). A version closed, or a request staff cancelled, meanwhile stays
    as it is (``lapsed``). Returns the version, None when the event is not ours."""
    kind, _, raw = reference.partition(":")
    if kind != "version" or not raw.isdigit():
        return None
    version = get_session().get(QuoteVersion, int(raw))
    if version is None or version.signature_package != package_id:
        return None
    if version.signature_status != "pending":
        return version
    now = utcnow()
    try:
        _refuse_closed(version)
    except Refused:
        version.signature_status = "lapsed"
        return version
    mine = {ln.id: ln for ln in customer_lines(version)}
    ids = [i for i in (version.signature_line_ids or []) if i in mine and mine[i].decision != "approved"]
    for i in ids:
        mine[i].decision, mine[i].decided_at = "approved", now
    version.approval = _approval_state(version) if mine else "approved"
    version.signature_status, version.signed_at, version.updated_at = "signed", now, now
    get_session().add(QuoteDecision(
        version_id=version.id, claim_id=version.claim_id, action="approve", line_ids=sorted(ids), actor="customer",
        actor_name=signer[:200] or "customer", reason_text=f"signed electronically ({package_id})",
        tenant_id=version.tenant_id, created_at=now))
    emit("quote.approved", version.tenant_id, {
        "claim_id": version.claim_id, "version_id": version.id, "version_number": version.number,
        "line_ids": sorted(ids), "approval": version.approval,
        "customer_amount": str(totals(version, scope=True).payers["customer"]), "by": "customer"})
    return version


def signature_declined(package_id: str) -> QuoteVersion | None:
    """The customer declined to sign: the approval never counted; they may decide again."""
    version = version_for_package(package_id)
    if version is None or version.signature_status != "pending":
        return None
    version.signature_status, version.updated_at = "declined", utcnow()
    return version


def signature_dict(version: QuoteVersion) -> dict[str, Any] | None:
    if version.signature_status is None:
        return None
    return {"status": version.signature_status, "package_id": version.signature_package,
            "line_ids": version.signature_line_ids or [], "requested_at": version.signature_requested_at,
            "signed_at": version.signed_at, "url": version.signature_url}


def withdraw(version: QuoteVersion, reason: str | None) -> QuoteVersion:
    if version.status == "withdrawn":
        return version
    version.status = "withdrawn"
    version.withdrawn_reason = " ".join((reason or "").split())[:300] or None
    version.updated_at = utcnow()
    return version


def decisions_for(version_id: int, claim_id: int | None = None) -> list[QuoteDecision]:
    """The version's decisions; ``claim_id`` given: read with the claim's others (the page bundle)."""
    if claim_id is not None:
        return [d for d in prefetched(DECISIONS, decisions_stmt(claim_id)) if d.version_id == version_id]
    return list(get_session().scalars(select(QuoteDecision).where(QuoteDecision.version_id == version_id)
                                      .order_by(QuoteDecision.id)))


# -- payments ---------------------------------------------------------------------------


@dataclass
class Summary:
    currency: str
    total: Decimal
    customer_part: Decimal
    insurer_part: Decimal
    paid: Decimal  # by the customer (deductible included)
    insurer_paid: Decimal
    balance: Decimal  # what the customer still owes

    def as_dict(self) -> dict[str, str]:
        return {"currency": self.currency, "total": str(self.total), "customer_part": str(self.customer_part),
                "insurer_part": str(self.insurer_part), "paid": str(self.paid),
                "insurer_paid": str(self.insurer_paid), "balance": str(self.balance)}


def payments_for(claim_id: int) -> list[QuotePayment]:
    return prefetched(PAYMENTS, payments_stmt(claim_id))


def summary(claim_id: int, pol: RoundingPolicy | None = None,
            current: list[QuoteVersion] | None = None) -> Summary:
    """Total of the current versions (declined lines left out), the customer's and insurer's parts,
    what each paid (refunds subtract), and the customer's balance. ``current``: the claim's current
    versions when already loaded."""
    pol = pol or policy()
    total = customer = insurer = ZERO
    for v in (current_versions(claim_id) if current is None else current):
        t = totals(v, pol, scope=True)
        total += t.gross
        customer += t.payers["customer"]
        insurer += t.payers["insurer"]
    paid = insurer_paid = ZERO
    for p in payments_for(claim_id):
        amount = p.amount if p.kind == "payment" else -p.amount
        if p.payer == "insurer":
            insurer_paid += amount
        else:
            paid += amount
    r = pol.round
    return Summary(pol.currency, r(total), r(customer), r(insurer), r(paid), r(insurer_paid), r(customer - paid))


def record_payment(claim: Claim, *, kind: str, payer: str, method: str, amount: Any, reference: str | None,
                   user_id: int | None, provider: str = "manual", provider_ref: str | None = None) -> QuotePayment:
    errors: dict[str, list[str]] = {}
    if kind not in ("payment", "refund"):
        errors["kind"] = ["payment or refund"]
    if payer not in PAYMENT_PAYERS:
        errors["payer"] = [f"one of {', '.join(PAYMENT_PAYERS)}"]
    if method not in PAYMENT_METHODS:
        errors["method"] = [f"one of {', '.join(PAYMENT_METHODS)}"]
    pol = policy()
    try:
        value = to_decimal(amount, "amount")
        if value <= 0:
            errors["amount"] = ["must be more than zero"]
        elif value != pol.round(value):
            errors["amount"] = [f"at most {abs(pol.quantum.as_tuple().exponent)} decimals"]
        elif value >= Decimal("1e9"):
            errors["amount"] = ["too large"]
    except MoneyError as exc:
        errors["amount"] = [str(exc)]
        value = ZERO
    if errors:
        raise Refused(422, "validation_error", "The payment has errors; nothing was recorded.",
                      errors={"json": errors})
    if kind == "refund":
        paid = sum((p.amount if p.kind == "payment" else -p.amount for p in payments_for(claim.id)
                    if (p.payer == "insurer") == (payer == "insurer")), ZERO)
        if value > paid:
            raise Refused(422, "quotes_refund_too_large", f"A refund cannot exceed what was paid ({pol.format(paid)}).",
                          errors={"json": {"amount": ["more than was paid"]}})
    row = QuotePayment(claim_id=claim.id, kind=kind, payer=payer, method=method, amount=value,
                       reference=" ".join((reference or "").split())[:120] or None, currency=pol.currency,
                       provider=provider, provider_ref=provider_ref, user_id=user_id, tenant_id=claim.tenant_id)
    get_session().add(row)
    get_session().flush()
    s = summary(claim.id, pol)
    emit("payment.recorded" if kind == "payment" else "payment.refunded", claim.tenant_id, {
        "claim_id": claim.id, "payment_id": row.id, "payer": payer, "method": method, "amount": str(value),
        "currency": pol.currency, "balance": str(s.balance), "provider": provider})
    return row


def checkout_for(session_ref: str, provider: str) -> QuoteCheckout | None:
    return get_session().scalars(select(QuoteCheckout).where(QuoteCheckout.session_ref == session_ref,
                                                             QuoteCheckout.provider == provider)).first()
