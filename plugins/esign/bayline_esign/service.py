"""E-signature operations: templates, packages, consent, signing. Run inside a tenant context."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.db import get_session, utcnow
from bayline.events import emit
from bayline.tenancy import current_tenant_id

from . import keys, pdf
from .models import EsignConsent, EsignDocument, EsignPackage, EsignSignature, EsignTemplate
from .templating import BUILTIN, TemplateProblem, check_body, claim_context, render_body

DEFAULT_EXPIRY_DAYS = 14
CONSENT_TEXT = (
    "I agree to do business electronically with this shop: to receive, review and sign the documents of "
    "my repair electronically instead of on paper. I can ask the shop for a paper copy at any time, at no "
    "charge, and I can withdraw this consent before I sign; withdrawing does not affect documents I already "
    "signed. I have a device that can open PDF files to keep my copies."
)


class EsignError(Exception):
    """A refused operation, with the HTTP status and stable code to answer with."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# -- templates -----------------------------------------------------------------


def ensure_builtin_templates() -> None:
    """Give the current shop version 1 of every built-in template it does not have yet."""
    db = get_session()
    have = set(db.scalars(select(EsignTemplate.key)).all())
    for kind, spec in BUILTIN.items():
        if kind not in have:
            db.add(EsignTemplate(key=kind, kind=kind, version=1, title=spec["title"], body=spec["body"],
                                 requires_initials=spec["requires_initials"]))
    db.flush()


def latest_templates() -> list[EsignTemplate]:
    ensure_builtin_templates()
    rows = get_session().scalars(select(EsignTemplate).order_by(EsignTemplate.key, EsignTemplate.version)).all()
    latest: dict[str, EsignTemplate] = {}
    for row in rows:
        latest[row.key] = row
    return [t for t in latest.values() if t.archived_at is None]


def latest_template(key: str) -> EsignTemplate | None:
    return next((t for t in latest_templates() if t.key == key), None)


def save_template(key: str, title: str, body: str, requires_initials: bool = False) -> EsignTemplate:
    """A new version of template ``key`` (custom keys create a custom template)."""
    key = (key or "").strip().lower()
    if not key or not key.replace("_", "").isalnum() or len(key) > 60:
        raise EsignError(422, "validation_error", "Template key: letters, digits and underscores.")
    if not title.strip():
        raise EsignError(422, "validation_error", "A template needs a title.")
    try:
        check_body(body)
    except TemplateProblem as exc:
        raise EsignError(422, "template_error", str(exc)) from exc
    current = latest_template(key)
    template = EsignTemplate(key=key, kind=key if key in BUILTIN else "custom",
                             version=(current.version + 1) if current else 1, title=title.strip(), body=body,
                             requires_initials=requires_initials)
    get_session().add(template)
    get_session().flush()
    return template


# -- packages --------------------------------------------------------------------


def package_state(pkg: EsignPackage, now: datetime | None = None) -> str:
    if pkg.status == "sent" and pkg.expires_at <= (now or utcnow()):
        return "expired"
    return pkg.status


def create_package(claim: Claim, template_keys: Sequence[str], *, shop_name: str, signer_name: str | None = None,
                   title: str | None = None, expires_in_days: int = DEFAULT_EXPIRY_DAYS,
                   user_id: int | None = None) -> EsignPackage:
    if not template_keys:
        raise EsignError(422, "validation_error", "Pick at least one document.")
    if not 1 <= int(expires_in_days) <= 90:
        raise EsignError(422, "validation_error", "Expiry must be 1 to 90 days.")
    templates = []
    for key in template_keys:
        template = latest_template(str(key))
        if template is None:
            raise EsignError(422, "validation_error", f"Unknown template {key!r}.")
        templates.append(template)
    context = claim_context(claim, shop_name)
    signer = (signer_name or claim.customer_name).strip()
    pkg = EsignPackage(claim_id=claim.id, title=title or ", ".join(t.title for t in templates), signer_name=signer,
                       expires_at=utcnow() + timedelta(days=int(expires_in_days)), created_by_user_id=user_id)
    db = get_session()
    db.add(pkg)
    db.flush()
    header = f"{shop_name} - repair order {claim.number}"
    for position, template in enumerate(templates, start=1):
        try:
            body = render_body(template.body, context)
        except TemplateProblem as exc:
            raise EsignError(422, "template_error", f"{template.key}: {exc}") from exc
        original = pdf.render_original(template.title, body, header, template.requires_initials)
        db.add(EsignDocument(package_id=pkg.id, template_id=template.id, position=position, title=template.title,
                             body_text=body, requires_initials=template.requires_initials, original_pdf=original,
                             original_sha256=pdf.sha256(original)))
    db.flush()
    db.refresh(pkg)
    return pkg


def packages_for_claim(claim_id: int) -> list[EsignPackage]:
    return list(get_session().scalars(
        select(EsignPackage).where(EsignPackage.claim_id == claim_id).order_by(EsignPackage.id.desc())).all())


def get_package(public_id: str, claim_id: int | None = None) -> EsignPackage:
    stmt = select(EsignPackage).where(EsignPackage.public_id == public_id)
    if claim_id is not None:
        stmt = stmt.where(EsignPackage.claim_id == claim_id)
    pkg = get_session().scalars(stmt).first()
    if pkg is None:
        raise EsignError(404, "not_found", "No such signing package.")
    return pkg


def get_document(public_id: str, claim_id: int | None = None) -> EsignDocument:
    stmt = select(EsignDocument).where(EsignDocument.public_id == public_id)
    if claim_id is not None:
        stmt = stmt.join(EsignPackage).where(EsignPackage.claim_id == claim_id)
    doc = get_session().scalars(stmt).first()
    if doc is None:
        raise EsignError(404, "not_found", "No such document.")
    return doc


def cancel_package(pkg: EsignPackage, reason: str | None = None) -> EsignPackage:
    state = package_state(pkg)
    if state in ("completed", "cancelled"):
        raise EsignError(409, "conflict", f"The package is already {state}.")
    pkg.status = "cancelled"
    pkg.cancelled_at = utcnow()
    pkg.cancel_reason = (reason or "")[:300] or None
    return pkg


def _require_open(pkg: EsignPackage) -> None:
    state = package_state(pkg)
    if state == "expired":
        raise EsignError(409, "package_expired", "This signing request has expired; ask the shop for a new one.")
    if state == "cancelled":
        raise EsignError(409, "package_cancelled", "The shop cancelled this signing request.")
    if state == "completed":
        raise EsignError(409, "already_signed", "Every document of this request is already signed.")


# -- consent ---------------------------------------------------------------------


def active_consent(pkg: EsignPackage) -> EsignConsent | None:
    return get_session().scalars(
        select(EsignConsent).where(EsignConsent.package_id == pkg.id, EsignConsent.withdrawn_at.is_(None))
        .order_by(EsignConsent.id.desc())).first()


def give_consent(pkg: EsignPackage, *, ip: str | None, user_agent: str | None) -> EsignConsent:
    _require_open(pkg)
    consent = active_consent(pkg)
    if consent is None:
        consent = EsignConsent(package_id=pkg.id, signer_name=pkg.signer_name, consent_text=CONSENT_TEXT,
                               ip=ip, user_agent=(user_agent or "")[:500] or None)
        get_session().add(consent)
        get_session().flush()
    return consent


def withdraw_consent(pkg: EsignPackage) -> None:
    consent = active_consent(pkg)
    if consent is not None:
        consent.withdrawn_at = utcnow()


def record_view(doc: EsignDocument) -> None:
    if doc.viewed_at is None:
        doc.viewed_at = utcnow()
        if doc.status == "sent":
            doc.status = "viewed"


# -- signing ---------------------------------------------------------------------


def _fmt(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "-"


def sign_document(doc: EsignDocument, *, method: str, drawn: str | None = None, typed_name: str | None = None,
                  initials: str | None = None, intent: bool = False, ip: str | None = None,
                  user_agent: str | None = None, time_zone: str | None = None, shop_name: str,
                  claim_number: str) -> EsignDocument:
    """Sign ``doc``: validate, render with signature and audit page, seal with pyHanko, store, emit."""
    pkg = doc.package
    _require_open(pkg)
    if doc.status == "signed":
        raise EsignError(409, "already_signed", "This document is already signed.")
    earlier = [d for d in pkg.documents if d.position < doc.position and d.status != "signed"]
    if earlier:
        raise EsignError(409, "out_of_order", f"Sign {earlier[0].title!r} first.")
    consent = active_consent(pkg)
    if consent is None:
        raise EsignError(422, "consent_required",
                         "Agree to do business electronically before signing (or ask the shop for paper).")
    if not intent:
        raise EsignError(422, "intent_required", "Confirm that you mean to sign (the Sign button).")
    if doc.requires_initials and not (initials or "").strip():
        raise EsignError(422, "initials_required", "Add your initials.")
    try:
        if method == "drawn":
            image = pdf.decode_drawn(drawn or "")
        elif method == "typed":
            image = pdf.render_typed(typed_name or "")
        else:
            raise EsignError(422, "validation_error", "Signature method must be 'drawn' or 'typed'.")
    except pdf.SignatureImageError as exc:
        raise EsignError(422, "signature_invalid", str(exc)) from exc

    now = utcnow()
    if doc.viewed_at is None:
        doc.viewed_at = now
    signer_name = pkg.signer_name if method == "drawn" else (typed_name or pkg.signer_name).strip()
    audit = [
        ("Document", f"{doc.title} ({doc.public_id})"),
        ("Template", f"{doc.template.key} version {doc.template.version}"),
        ("Signing session", pkg.public_id),
        ("Repair order", claim_number),
        ("Shop", shop_name),
        ("Signer", signer_name),
        ("Signature method", "drawn on screen" if method == "drawn" else "typed name"),
        ("Verification", "portal link of the claim (no one-time code)"),
        ("IP address", ip or "-"),
        ("Device / user agent", (user_agent or "-")[:300]),
        ("Time zone", (time_zone or "-")[:64]),
        ("Viewed", _fmt(doc.viewed_at)),
        ("Consent to e-business", _fmt(consent.consented_at)),
        ("Signed", _fmt(now)),
        ("SHA-256 original", doc.original_sha256),
        ("SHA-256 signature image", pdf.sha256(image)),
    ]
    header = f"{shop_name} - repair order {claim_number}"
    rendered = pdf.render_signed(doc.title, doc.body_text, header, signature_png=image, signer_name=signer_name,
                                 initials=(initials or "").strip()[:10] or None, signed_at=_fmt(now), audit=audit)
    sealed = keys.seal(rendered, signer_name=signer_name,
                       reason=f"{doc.title} signed electronically by {signer_name}", location=shop_name[:100])
    db = get_session()
    db.add(EsignSignature(document_id=doc.id, consent_id=consent.id, signer_name=signer_name, method=method,
                          image_png=image, initials=(initials or "").strip()[:10] or None, ip=ip,
                          user_agent=(user_agent or "")[:500] or None, signed_at=now))
    doc.signed_pdf = sealed
    doc.signed_sha256 = pdf.sha256(sealed)
    doc.signed_at = now
    doc.status = "signed"
    if all(d.status == "signed" for d in pkg.documents):
        pkg.status = "completed"
        pkg.completed_at = now
    db.flush()
    tenant_id = current_tenant_id()
    assert tenant_id is not None
    emit("document.signed", tenant_id, {
        "claim_id": pkg.claim_id, "package_id": pkg.public_id, "document_id": doc.public_id,
        "title": doc.title, "signer": signer_name, "sha256": doc.signed_sha256,
        "package_completed": pkg.status == "completed",
    })
    return doc


def package_json(pkg: EsignPackage, include_urls: Any = None) -> dict[str, Any]:
    return {
        "id": pkg.public_id, "claim_id": pkg.claim_id, "title": pkg.title, "signer_name": pkg.signer_name,
        "status": package_state(pkg), "expires_at": pkg.expires_at.isoformat(),
        "created_at": pkg.created_at.isoformat(),
        "cancelled_at": pkg.cancelled_at.isoformat() if pkg.cancelled_at else None,
        "cancel_reason": pkg.cancel_reason,
        "completed_at": pkg.completed_at.isoformat() if pkg.completed_at else None,
        "documents": [{
            "id": d.public_id, "position": d.position, "title": d.title, "status": d.status,
            "template": d.template.key, "template_version": d.template.version,
            "original_sha256": d.original_sha256, "signed_sha256": d.signed_sha256,
            "viewed_at": d.viewed_at.isoformat() if d.viewed_at else None,
            "signed_at": d.signed_at.isoformat() if d.signed_at else None,
        } for d in pkg.documents],
    }
