"""E-signature operations: templates, packages, consent, signing. Run inside a tenant context."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from bayline.plugin_api import (
    Claim,
    Refused,
    attach,
    commit,
    current_tenant_id,
    emit,
    get_session,
    message_templates,
    outbox,
    phones,
    prefetched,
    prepare,
    shop_settings,
    storage,
    utcnow,
)

from .models import (
    EsignConsent,
    EsignDocument,
    EsignOtp,
    EsignPackage,
    EsignSend,
    EsignSignature,
    EsignSigner,
    EsignTemplate,
)
from .templating import BUILTIN, TemplateProblem, check_body, claim_context, render_body

DEFAULT_EXPIRY_DAYS = 14
MAX_SIGNERS = 4
OTP_TTL = timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
OTP_MAX_PER_HOUR = 5
# Texts, on the core template service (``message_templates``: ``{field}`` names only).
OTP_TEXT = "{shop_name}: your signing code is {code}. It expires in 10 minutes. Never share it."
LINK_TEXT = ("{shop_name}: {signer_name}, please review and sign \"{title}\" for repair order {claim_number}: "
             "{portal_link}")
CONSENT_TEXT = (
    "I agree to do business electronically with this shop: to receive, review and sign the documents of "
    "my repair electronically instead of on paper. I can ask the shop for a paper copy at any time, at no "
    "charge, and I can withdraw this consent before I sign; withdrawing does not affect documents I already "
    "signed. I have a device that can open PDF files to keep my copies."
)


# -- templates -----------------------------------------------------------------


def ensure_builtin_templates() -> None:
    """Give the current shop version 1 of every built-in template it does not have yet.

    Called when a shop gets the feature (``tenant_provisioned``, ``entitlements_changed``) and, for the
    shops that existed before, by the data step of migration ``b7e3c1f05a92``; never on a page view
    (a GET writes nothing: tests/api/test_no_writes_on_get.py)."""
    db = get_session()
    have = set(db.scalars(select(EsignTemplate.key)).all())
    for kind, spec in BUILTIN.items():
        if kind not in have:
            db.add(EsignTemplate(key=kind, kind=kind, version=1, title=spec["title"], body=spec["body"],
                                 requires_initials=spec["requires_initials"]))
    db.flush()


TEMPLATES = "esign.templates"  # parts of the page bundle (hook prefetch)
PACKAGES, DOCUMENTS, SIGNERS, SIGNATURES, SENDS = (
    "esign.packages", "esign.documents", "esign.signers", "esign.signatures", "esign.sends")


@prepare
def templates_stmt() -> Any:
    return select(EsignTemplate).order_by(EsignTemplate.key, EsignTemplate.version)


def latest_templates() -> list[EsignTemplate]:
    """The newest version of each of the current shop's templates (read only)."""
    rows = prefetched(TEMPLATES, templates_stmt())
    latest: dict[str, EsignTemplate] = {}
    for row in rows:
        latest[row.key] = row
    return [t for t in latest.values() if t.archived_at is None]


def latest_template(key: str) -> EsignTemplate | None:
    return next((t for t in latest_templates() if t.key == key), None)


def template_problems(key: str, title: str, body: str) -> dict[str, str]:
    """What is wrong with a template before it is saved, by field (``key``, ``title``, ``body``)."""
    problems: dict[str, str] = {}
    key = (key or "").strip().lower()
    if not key or not key.replace("_", "").isalnum() or len(key) > 60:
        problems["key"] = "Template key: letters, digits and underscores (up to 60)."
    if not title.strip():
        problems["title"] = "A template needs a title."
    elif len(title.strip()) > 200:
        problems["title"] = "The title is limited to 200 characters."
    try:
        check_body(body)
    except TemplateProblem as exc:
        problems["body"] = str(exc)
    return problems


def save_template(key: str, title: str, body: str, requires_initials: bool = False) -> EsignTemplate:
    """A new version of template ``key`` (custom keys create a custom template). Earlier versions stay:
    a document prepared from one keeps pointing at it (and keeps its rendered text)."""
    problems = template_problems(key, title, body)
    for field in ("key", "title"):
        if field in problems:
            raise Refused(422, "validation_error", problems[field])
    if "body" in problems:
        raise Refused(422, "template_error", problems["body"])
    key = key.strip().lower()
    current = latest_template(key)
    template = EsignTemplate(key=key, kind=key if key in BUILTIN else "custom",
                             version=(current.version + 1) if current else 1, title=title.strip(), body=body,
                             requires_initials=requires_initials)
    get_session().add(template)
    get_session().flush()
    return template


def template_versions(key: str) -> list[tuple[EsignTemplate, int]]:
    """Every version of template ``key``, newest first, with how many documents were prepared from it."""
    ensure_builtin_templates()
    db = get_session()
    used = dict(db.execute(select(EsignDocument.template_id, func.count(EsignDocument.id))
                           .join(EsignTemplate, EsignTemplate.id == EsignDocument.template_id)
                           .where(EsignTemplate.key == key).group_by(EsignDocument.template_id)).all())
    rows = db.scalars(select(EsignTemplate).where(EsignTemplate.key == key)
                      .order_by(EsignTemplate.version.desc())).all()
    return [(row, int(used.get(row.id, 0))) for row in rows]


def preview_text(body: str, claim: Claim, shop_name: str) -> str:
    """``body`` rendered on ``claim``, exactly as a document prepared now would read (TemplateProblem
    when it cannot be)."""
    return render_body(body, claim_context(claim, shop_name))


def preview_pdf(title: str, body: str, claim: Claim, shop_name: str, requires_initials: bool) -> bytes:
    """The unsigned PDF a document prepared from this (unsaved) wording on ``claim`` would have."""
    from . import pdf  # reportlab: imported by the first PDF work, not with the app

    return pdf.render_original(title.strip() or "Untitled", preview_text(body, claim, shop_name),
                               f"{shop_name} - repair order {claim.number}", requires_initials)


# -- packages --------------------------------------------------------------------


def package_state(pkg: EsignPackage, now: datetime | None = None) -> str:
    if pkg.status == "sent" and pkg.expires_at <= (now or utcnow()):
        return "expired"
    return pkg.status


def _signer_specs(claim: Claim, signer_name: str | None, signers: Any) -> list[tuple[str, str | None]]:
    """[(name, E.164 mobile or None)] from the request; default: the claim's customer and mobile."""
    if not signers:
        return [((signer_name or claim.customer_name or "").strip(), claim.customer_mobile or None)]
    if not isinstance(signers, list) or len(signers) > MAX_SIGNERS:
        raise Refused(422, "validation_error", f"Signers: a list of 1 to {MAX_SIGNERS}.")
    out: list[tuple[str, str | None]] = []
    for index, item in enumerate(signers):
        item = item if isinstance(item, dict) else {"name": item}
        name = " ".join(str(item.get("name") or "").split())
        if not name or len(name) > 200:
            raise Refused(422, "validation_error", f"Signer {index + 1} needs a name (up to 200 characters).")
        raw = str(item.get("mobile") or "").strip()
        mobile = None
        if raw:
            try:
                mobile = phones.to_e164(raw)
            except ValueError as exc:
                raise Refused(422, "validation_error", f"Signer {index + 1}'s mobile {exc}.") from None
        elif index == 0:
            mobile = claim.customer_mobile or None
        if index > 0 and not mobile:
            # An additional signer proves who they are with a code texted to their own mobile.
            raise Refused(422, "validation_error",
                          f"Signer {index + 1} needs a mobile number: they confirm a code texted to it.")
        if name.casefold() in {n.casefold() for n, _ in out}:
            raise Refused(422, "validation_error", f"Two signers are called {name!r}.")
        out.append((name, mobile))
    return out


def create_package(claim: Claim, template_keys: Sequence[str], *, shop_name: str, signer_name: str | None = None,
                   title: str | None = None, expires_in_days: int = DEFAULT_EXPIRY_DAYS,
                   user_id: int | None = None, signers: Any = None) -> EsignPackage:
    from . import pdf  # reportlab: imported by the first signing work, not with the app

    specs = _signer_specs(claim, signer_name, signers)
    if not specs[0][0]:
        raise Refused(422, "validation_error", "The signer needs a name.")
    if not template_keys:
        raise Refused(422, "validation_error", "Pick at least one document.")
    if not 1 <= int(expires_in_days) <= 90:
        raise Refused(422, "validation_error", "Expiry must be 1 to 90 days.")
    templates = []
    for key in template_keys:
        template = latest_template(str(key))
        if template is None:
            raise Refused(422, "validation_error", f"Unknown template {key!r}.")
        templates.append(template)
    context = claim_context(claim, shop_name)
    pkg = EsignPackage(claim_id=claim.id, title=(title or ", ".join(t.title for t in templates))[:200],
                       signer_name=specs[0][0], expires_at=utcnow() + timedelta(days=int(expires_in_days)),
                       created_by_user_id=user_id)
    db = get_session()
    db.add(pkg)
    db.flush()
    for position, (name, mobile) in enumerate(specs, start=1):
        db.add(EsignSigner(package_id=pkg.id, position=position, name=name, mobile=mobile))
    header = f"{shop_name} - repair order {claim.number}"
    for position, template in enumerate(templates, start=1):
        try:
            body = render_body(template.body, context)
        except TemplateProblem as exc:
            raise Refused(422, "template_error", f"{template.key}: {exc}") from exc
        original = pdf.render_original(template.title, body, header, template.requires_initials)
        db.add(EsignDocument(package_id=pkg.id, template_id=template.id, position=position, title=template.title,
                             body_text=body, requires_initials=template.requires_initials, original_pdf=original,
                             original_sha256=pdf.sha256(original)))
    db.flush()
    db.refresh(pkg)
    return pkg


def _provided_template(source: str) -> EsignTemplate:
    """The shop's stand-in template row for documents ``source`` provides: key ``provided:<source>``
    (staff keys cannot contain ``:``), archived so it is never offered to staff; the text is the
    document's own."""
    key = f"provided:{source}"[:60]
    db = get_session()
    row = db.scalars(select(EsignTemplate).where(EsignTemplate.key == key)).first()
    if row is None:
        row = EsignTemplate(key=key, kind="provided", version=1, title=f"Documents from {source}"[:200], body="",
                            archived_at=utcnow())
        db.add(row)
        db.flush()
    return row


def create_provided_package(claim: Claim, *, source: str, reference: str, title: str, body: str,
                            shop_name: str, signer_name: str | None = None,
                            expires_in_days: int = DEFAULT_EXPIRY_DAYS) -> EsignPackage:
    """A package of one document another plugin provided (hook ``request_signature``): ``body`` is
    the text shown, signed and sealed; ``source`` and ``reference`` come back in ``document.signed``."""
    from . import pdf

    specs = _signer_specs(claim, signer_name, None)
    title = " ".join((title or "").split())[:200]
    if not specs[0][0]:
        raise Refused(422, "validation_error", "The signer needs a name.")
    if not title or not (body or "").strip():
        raise Refused(422, "validation_error", "The document to sign needs a title and a text.")
    if not 1 <= int(expires_in_days) <= 90:
        raise Refused(422, "validation_error", "Expiry must be 1 to 90 days.")
    db = get_session()
    template = _provided_template(source)
    pkg = EsignPackage(claim_id=claim.id, title=title, signer_name=specs[0][0], source=source[:40],
                       reference=reference[:100], expires_at=utcnow() + timedelta(days=int(expires_in_days)))
    db.add(pkg)
    db.flush()
    name, mobile = specs[0]
    db.add(EsignSigner(package_id=pkg.id, position=1, name=name, mobile=mobile))
    original = pdf.render_original(title, body, f"{shop_name} - repair order {claim.number}", False)
    db.add(EsignDocument(package_id=pkg.id, template_id=template.id, position=1, title=title, body_text=body,
                         requires_initials=False, original_pdf=original, original_sha256=pdf.sha256(original)))
    db.flush()
    db.refresh(pkg)
    return pkg


@prepare
def packages_stmt(claim_id: int) -> Any:
    return select(EsignPackage).where(EsignPackage.claim_id == claim_id).order_by(EsignPackage.id.desc())


def _of_claim(model: Any, claim_id: int, *order: Any) -> Any:
    """Rows of ``model`` (it has ``package_id``) of the claim's packages."""
    return (select(model).join(EsignPackage, EsignPackage.id == model.package_id)
            .where(EsignPackage.claim_id == claim_id).order_by(*order))


@prepare
def documents_stmt(claim_id: int) -> Any:
    return _of_claim(EsignDocument, claim_id, EsignDocument.package_id, EsignDocument.position)


@prepare
def signers_stmt(claim_id: int) -> Any:
    return _of_claim(EsignSigner, claim_id, EsignSigner.package_id, EsignSigner.position)


@prepare
def sends_stmt(claim_id: int) -> Any:
    return _of_claim(EsignSend, claim_id, EsignSend.id)


@prepare
def signatures_stmt(claim_id: int) -> Any:
    return (select(EsignSignature).join(EsignDocument, EsignDocument.id == EsignSignature.document_id)
            .join(EsignPackage, EsignPackage.id == EsignDocument.package_id)
            .where(EsignPackage.claim_id == claim_id).order_by(EsignSignature.id))


def want_claim_rows(claim_id: int, bundle: Any, *, portal: bool) -> None:
    """The page bundle's parts for the claim's packages (portal: packages and documents)."""
    bundle.want(PACKAGES, packages_stmt(claim_id))
    bundle.want(DOCUMENTS, documents_stmt(claim_id))
    if not portal:
        bundle.want(SIGNERS, signers_stmt(claim_id))
        bundle.want(SIGNATURES, signatures_stmt(claim_id))
        bundle.want(SENDS, sends_stmt(claim_id))
        bundle.want(TEMPLATES, templates_stmt())


def packages_for_claim(claim_id: int, *, documents_only: bool = False) -> list[EsignPackage]:
    """The claim's packages, newest first, with their documents; unless ``documents_only`` (what a
    list shows) also their signers and the documents' signatures. From the page's bundle when the
    page declared them (:func:`want_claim_rows`)."""
    packages = prefetched(PACKAGES, packages_stmt(claim_id))
    if not packages:
        return []
    documents = prefetched(DOCUMENTS, documents_stmt(claim_id))
    attach(packages, "documents", documents, "package_id", back="package")
    if not documents_only:
        attach(packages, "signers", prefetched(SIGNERS, signers_stmt(claim_id)), "package_id", back="package")
        attach(documents, "signatures", prefetched(SIGNATURES, signatures_stmt(claim_id)), "document_id")
    return packages


def sends_for_claim(claim_id: int) -> list[EsignSend]:
    return prefetched(SENDS, sends_stmt(claim_id))


def get_package(public_id: str, claim_id: int | None = None) -> EsignPackage:
    stmt = select(EsignPackage).where(EsignPackage.public_id == public_id)
    if claim_id is not None:
        stmt = stmt.where(EsignPackage.claim_id == claim_id)
    pkg = get_session().scalars(stmt).first()
    if pkg is None:
        raise Refused(404, "not_found", "No such signing package.")
    return pkg


def get_document(public_id: str, claim_id: int | None = None) -> EsignDocument:
    stmt = select(EsignDocument).where(EsignDocument.public_id == public_id)
    if claim_id is not None:
        stmt = stmt.join(EsignPackage).where(EsignPackage.claim_id == claim_id)
    doc = get_session().scalars(stmt).first()
    if doc is None:
        raise Refused(404, "not_found", "No such document.")
    return doc


def get_signer(pkg: EsignPackage, public_id: str | None) -> EsignSigner:
    """The signer ``public_id`` of ``pkg``; with a single signer the id may be omitted."""
    if not public_id:
        if len(pkg.signers) == 1:
            return pkg.signers[0]
        raise Refused(422, "signer_required", "Choose who is signing ('I am ...').")
    signer = next((s for s in pkg.signers if s.public_id == public_id), None)
    if signer is None:
        raise Refused(404, "not_found", "No such signer on this request.")
    return signer


def signed_by(doc: EsignDocument, signer: EsignSigner) -> bool:
    return any(s.signer_id == signer.id for s in doc.signatures)


def cancel_package(pkg: EsignPackage, reason: str | None = None) -> EsignPackage:
    state = package_state(pkg)
    if state in ("completed", "cancelled", "declined"):
        raise Refused(409, "conflict", f"The package is already {state}.")
    pkg.status = "cancelled"
    pkg.cancelled_at = utcnow()
    pkg.cancel_reason = (reason or "")[:300] or None
    return pkg


def _require_open(pkg: EsignPackage) -> None:
    state = package_state(pkg)
    if state == "expired":
        raise Refused(409, "package_expired", "This signing request has expired; ask the shop for a new one.")
    if state == "cancelled":
        raise Refused(409, "package_cancelled", "The shop cancelled this signing request.")
    if state == "completed":
        raise Refused(409, "already_signed", "Every document of this request is already signed.")
    if state == "declined":
        raise Refused(409, "package_declined", "This signing request was declined.")


# -- consent ---------------------------------------------------------------------


def active_consent(pkg: EsignPackage, signer: EsignSigner | None = None) -> EsignConsent | None:
    signer = signer or (pkg.signers[0] if len(pkg.signers) == 1 else None)
    if signer is None:
        return None
    return get_session().scalars(
        select(EsignConsent).where(EsignConsent.package_id == pkg.id, EsignConsent.signer_id == signer.id,
                                   EsignConsent.withdrawn_at.is_(None))
        .order_by(EsignConsent.id.desc())).first()


def give_consent(pkg: EsignPackage, signer: EsignSigner, *, ip: str | None, user_agent: str | None,
                 proof_otp_id: int | None = None) -> EsignConsent:
    """Record ``signer``'s consent; an additional signer gives it only after their own code
    (``proof_otp_id``, as for signing), so nobody else records consent in their name."""
    _require_open(pkg)
    if needs_own_proof(signer) and not has_proof(signer, proof_otp_id):
        raise Refused(403, "otp_required", f"{signer.name}: enter the code we text to your mobile first.")
    consent = active_consent(pkg, signer)
    if consent is None:
        consent = EsignConsent(package_id=pkg.id, signer_id=signer.id, signer_name=signer.name,
                               consent_text=CONSENT_TEXT, ip=ip, user_agent=(user_agent or "")[:500] or None)
        get_session().add(consent)
        get_session().flush()
    return consent


def withdraw_consent(pkg: EsignPackage, signer: EsignSigner) -> None:
    consent = active_consent(pkg, signer)
    if consent is not None:
        consent.withdrawn_at = utcnow()


def decline(pkg: EsignPackage, signer: EsignSigner | None, reason: str | None) -> EsignPackage:
    """The customer refuses to sign, with a reason; staff are told through ``esign.declined``."""
    _require_open(pkg)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Refused(422, "reason_required", "Tell the shop why you decline (a few words are enough).")
    if len(reason) > 500:
        raise Refused(422, "validation_error", "The reason is limited to 500 characters.")
    pkg.status = "declined"
    pkg.declined_at = utcnow()
    pkg.decline_reason = reason
    pkg.declined_by = signer.name if signer is not None else "the customer (signer not chosen)"
    tenant_id = current_tenant_id()
    assert tenant_id is not None
    emit("esign.declined", tenant_id, {"claim_id": pkg.claim_id, "package_id": pkg.public_id,
                                       "title": pkg.title, "signer": pkg.declined_by, "reason": reason})
    return pkg


# -- one-time codes ----------------------------------------------------------------


def otp_required(tenant_id: int) -> bool:
    return shop_settings("esign", tenant_id).get_bool("require_otp")


def _otp_hash(signer: EsignSigner, code: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"esign-otp:{signer.public_id}:{code}".encode(), hashlib.sha256).hexdigest()


def masked(number: str | None) -> str:
    return f"mobile ending {number[-4:]}" if number else "-"


def _text(to: str, body: str, key: str, claim: Claim | None, *, kind: str = "automatic", thread: bool = True,
          user_id: int | None = None, secret_fields: dict[str, str] | None = None) -> dict[str, Any]:
    """A transactional text through the core outbox (consent, quiet hours, idempotency, delivery);
    ``{portal_link}`` in it becomes the claim's e-sign text link when the text leaves."""
    try:
        item, _ = outbox.enqueue(channel="sms", purpose="transactional", recipient=to, body=body,
                                 idempotency_key=key, claim=claim, user_id=user_id, kind=kind, thread=thread,
                                 options={"link_purpose": "esign_sms"}, secret_fields=secret_fields)
    except Refused as refused:
        get_session().rollback()
        return {"status": "refused", "message": refused.message}
    return {"status": item.state, "message": item.reason}


def send_otp(pkg: EsignPackage, signer: EsignSigner, *, shop: Any, features: Any) -> EsignOtp:
    """Text a fresh 6-digit code to the signer's mobile on file (10 minutes, 5 attempts)."""
    _require_open(pkg)
    if "sms" not in features:
        raise Refused(409, "otp_unavailable", "This shop cannot send texts; ask the shop to sign in person.")
    if not signer.mobile:
        raise Refused(409, "otp_unavailable", "There is no mobile number on file for you; call the shop.")
    since = utcnow() - timedelta(hours=1)
    recent = get_session().scalar(select(func.count(EsignOtp.id)).where(
        EsignOtp.signer_id == signer.id, EsignOtp.created_at >= since)) or 0
    if recent >= OTP_MAX_PER_HOUR:
        raise Refused(429, "otp_rate_limited", "Too many codes requested; try again in an hour.")
    code = f"{secrets.randbelow(1_000_000):06d}"
    now = utcnow()
    row = EsignOtp(signer_id=signer.id, code_hash=_otp_hash(signer, code), to_number=signer.mobile,
                   created_at=now, expires_at=now + OTP_TTL, attempts=0)
    get_session().add(row)
    get_session().flush()
    commit()  # the code exists before the text leaves (the SMS hook commits its own rows)
    # the code itself is sealed in the outbox row and filled in only when the text leaves
    body = message_templates.render(OTP_TEXT, {"shop_name": shop.name, "code": "{code}"})
    result = _text(signer.mobile, body, f"esign-otp:{row.id}", None, kind="requested", thread=False,
                   secret_fields={"code": code})
    if result.get("status") in ("refused", "failed"):
        detail = (result or {}).get("message") or "no texting provider answered"
        raise Refused(502, "otp_not_sent", f"The code could not be texted: {detail}")
    return row


def needs_own_proof(signer: EsignSigner) -> bool:
    """An additional signer (not the customer whose link opened the portal) always proves who they
    are with a code sent to their own mobile: the portal session belongs to the first signer."""
    return signer.position > 1


def otp_needed(signer: EsignSigner, tenant_id: int, proof_otp_id: int | None) -> bool:
    """Whether ``signer`` must still confirm a code before signing, in the browser session that
    holds ``proof_otp_id`` (the code it verified, for additional signers)."""
    if needs_own_proof(signer):
        return not has_proof(signer, proof_otp_id)
    return otp_required(tenant_id) and signer.otp_verified_at is None


def has_proof(signer: EsignSigner, proof_otp_id: int | None) -> bool:
    """``proof_otp_id`` is a code of ``signer`` that was verified (in the session that holds it)."""
    if not proof_otp_id:
        return False
    row = get_session().get(EsignOtp, int(proof_otp_id))
    return row is not None and row.signer_id == signer.id and row.verified_at is not None


def verify_otp(pkg: EsignPackage, signer: EsignSigner, code: str | None) -> EsignOtp:
    """Check ``code`` against the signer's newest code. Each try takes one of the code's attempts
    with one atomic ``UPDATE ... SET attempts = attempts + 1 WHERE attempts < max`` committed before
    the comparison, so concurrent wrong guesses can never exceed the limit. Returns the verified row
    (the caller keeps its id in the browser session as the signer's proof)."""
    _require_open(pkg)
    db = get_session()
    row = db.scalars(select(EsignOtp).where(EsignOtp.signer_id == signer.id)
                     .order_by(EsignOtp.id.desc())).first()
    if row is None:
        raise Refused(409, "otp_required", "Ask for a code first.")
    if row.verified_at is not None:
        raise Refused(409, "otp_used", "That code was already used; ask for a new one if needed.")
    if utcnow() >= row.expires_at:
        raise Refused(422, "otp_expired", "The code expired. Ask for a new one.")
    taken = db.execute(update(EsignOtp).where(EsignOtp.id == row.id, EsignOtp.attempts < OTP_MAX_ATTEMPTS,
                                              EsignOtp.verified_at.is_(None))
                       .values(attempts=EsignOtp.attempts + 1).execution_options(synchronize_session=False))
    commit()  # the attempt counts even though the request may fail
    db.refresh(row)
    if taken.rowcount != 1:
        if row.verified_at is not None:
            raise Refused(409, "otp_used", "That code was already used; ask for a new one if needed.")
        raise Refused(429, "otp_locked", "Too many wrong codes. Ask for a new code.")
    given = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(given) != 6 or not hmac.compare_digest(row.code_hash, _otp_hash(signer, given)):
        left = OTP_MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise Refused(429, "otp_locked", "Too many wrong codes. Ask for a new code.")
        raise Refused(422, "otp_invalid", f"That code is not right ({left} tries left).")
    now = utcnow()
    used = db.execute(update(EsignOtp).where(EsignOtp.id == row.id, EsignOtp.verified_at.is_(None))
                      .values(verified_at=now).execution_options(synchronize_session=False))
    if used.rowcount != 1:  # a concurrent request used the same code first
        raise Refused(409, "otp_used", "That code was already used; ask for a new one if needed.")
    row.verified_at = now
    signer.otp_verified_at = now
    return row


# -- sending the link ----------------------------------------------------------------


def send_link(pkg: EsignPackage, claim: Claim, *, shop: Any, features: Any, idempotency_key: str,
              user_id: int | None = None) -> tuple[list[EsignSend], bool]:
    """Text a fresh portal link to every signer with a mobile who has documents left to sign.

    Returns (send rows, created). A known ``idempotency_key`` returns the earlier rows and sends
    nothing (a double click); a new key is a re-send. Every send carries the claim's e-sign text
    link (the same link while it works; printed and other links untouched);
    the texting plugin stores the text with the link masked.
    """
    key = (idempotency_key or "").strip()
    if not key or len(key) > 100:
        raise Refused(422, "validation_error", "idempotency_key: 1 to 100 characters.")
    db = get_session()
    keys_ = {f"{key}:{s.position}" for s in pkg.signers}
    earlier = list(db.scalars(select(EsignSend).where(EsignSend.idempotency_key.in_(keys_))
                              .order_by(EsignSend.id)).all())
    if earlier:
        if any(e.package_id != pkg.id for e in earlier):
            raise Refused(409, "conflict", "That idempotency key was used for another package.")
        return earlier, False
    _require_open(pkg)
    if "sms" not in features:
        raise Refused(409, "sms_unavailable", "Texting is not active for this shop.")
    targets = [s for s in pkg.signers if s.mobile and not all(signed_by(d, s) for d in pkg.documents)]
    if not targets:
        raise Refused(422, "no_mobile", "No signer with documents left has a mobile number.")
    rows = [EsignSend(package_id=pkg.id, signer_id=s.id, idempotency_key=f"{key}:{s.position}",
                      to_number=s.mobile or "", status="pending", user_id=user_id) for s in targets]
    db.add_all(rows)
    pkg.last_sent_at = utcnow()
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        return list(db.scalars(select(EsignSend).where(EsignSend.idempotency_key.in_(keys_)))), False
    commit()  # link and send rows exist before any text leaves
    for row, signer in zip(rows, targets, strict=True):
        # {portal_link} is filled only in the provider request: the claim's e-sign text link
        body = message_templates.render(LINK_TEXT, {"shop_name": shop.name, "signer_name": signer.name,
                                                    "title": pkg.title, "claim_number": claim.number})
        result = _text(signer.mobile or "", body, _outbox_key(pkg, row), claim, user_id=user_id)
        row.status = str((result or {}).get("status") or "not_sent")[:40]
        row.detail = str((result or {}).get("message") or "")[:300] or None
    commit()
    return rows, True


def _outbox_key(pkg: EsignPackage, row: EsignSend) -> str:
    return f"esign-send:{pkg.public_id}:{row.idempotency_key}"


def send_state(pkg: EsignPackage, row: EsignSend) -> tuple[str, str]:
    """(state, words for staff) of one text of the link, live from its outbox item: ``waiting to send:
    quiet hours until 8:00 AM`` while held, ``failed: <reason>``, ``sent``, ``delivered`` ..."""
    item = outbox.find(_outbox_key(pkg, row))
    state, reason = (item.state, item.reason) if item is not None else (row.status, row.detail)
    reason = (reason or "").strip()
    if state == "held":
        return state, "waiting to send: " + (reason.removeprefix("waiting: ") or "held in the outbox")
    if state in ("failed", "refused", "not_sent"):
        return state, f"{'failed' if state == 'failed' else 'not sent'}: {reason or 'no reason given'}"
    if state in ("draft", "queued", "sending"):
        return state, "sending"
    return state, state


def latest_sends(pkg: EsignPackage) -> list[tuple[EsignSigner, EsignSend, str, str]]:
    """The last text of the link to each signer: (signer, send row, state, words)."""
    rows = [row for row in sends_for_claim(pkg.claim_id) if row.package_id == pkg.id]
    last: dict[int, EsignSend] = {}
    for row in rows:
        last[row.signer_id] = row
    out = []
    for signer in pkg.signers:
        row = last.get(signer.id)
        if row is not None:
            out.append((signer, row, *send_state(pkg, row)))
    return out


def record_view(doc: EsignDocument) -> None:
    if doc.viewed_at is None:
        doc.viewed_at = utcnow()
        if doc.status == "sent":
            doc.status = "viewed"


# -- signing ---------------------------------------------------------------------


def _fmt(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S UTC") if dt else "-"


def _verification(signer: EsignSigner, tenant_id: int) -> str:
    if signer.otp_verified_at is not None:
        return (f"portal link of the claim + one-time code texted to the {masked(signer.mobile)}, "
                f"verified {_fmt(signer.otp_verified_at)}")
    return "portal link of the claim (no one-time code)"


def sign_document(doc: EsignDocument, *, method: str, drawn: str | None = None, typed_name: str | None = None,
                  initials: str | None = None, intent: bool = False, ip: str | None = None,
                  user_agent: str | None = None, time_zone: str | None = None, shop_name: str,
                  claim_number: str, signer: EsignSigner | None = None,
                  proof_otp_id: int | None = None) -> EsignDocument:
    """``signer`` signs ``doc``: validate and record. Once every signer has signed, render the
    document with all signatures and the audit page, seal it with one pyHanko signature per signer,
    store it and emit ``document.signed``.

    An additional signer (position 2+) signs only with ``proof_otp_id``: the id of a code sent to
    their own mobile and verified in the same browser session (the portal session is the first
    signer's, so it alone proves nothing about the others)."""
    from . import pdf

    # Row lock: two signers finishing the same document at once must not both miss the seal.
    db = get_session()
    db.execute(select(EsignDocument.id).where(EsignDocument.id == doc.id).with_for_update())
    db.expire(doc, ["signatures", "status"])
    pkg = doc.package
    signer = signer or get_signer(pkg, None)
    if signer.package_id != pkg.id:
        raise Refused(404, "not_found", "No such signer on this request.")
    _require_open(pkg)
    if doc.status == "signed" or signed_by(doc, signer):
        raise Refused(409, "already_signed", "This document is already signed.")
    earlier = [d for d in pkg.documents if d.position < doc.position and not signed_by(d, signer)
               and d.status != "signed"]
    if earlier:
        raise Refused(409, "out_of_order", f"Sign {earlier[0].title!r} first.")
    consent = active_consent(pkg, signer)
    if consent is None:
        raise Refused(422, "consent_required",
                         "Agree to do business electronically before signing (or ask the shop for paper).")
    tenant_id = current_tenant_id()
    assert tenant_id is not None
    if otp_needed(signer, tenant_id, proof_otp_id):
        raise Refused(403, "otp_required", f"{signer.name}: enter the code we text to your mobile first.")
    if not intent:
        raise Refused(422, "intent_required", "Confirm that you mean to sign (the Sign button).")
    if doc.requires_initials and not (initials or "").strip():
        raise Refused(422, "initials_required", "Add your initials.")
    try:
        if method == "drawn":
            image = pdf.decode_drawn(drawn or "")
        elif method == "typed":
            image = pdf.render_typed(typed_name or "")
        else:
            raise Refused(422, "validation_error", "Signature method must be 'drawn' or 'typed'.")
    except pdf.SignatureImageError as exc:
        raise Refused(422, "signature_invalid", str(exc)) from exc

    now = utcnow()
    if doc.viewed_at is None:
        doc.viewed_at = now
    db.add(EsignSignature(document_id=doc.id, signer_id=signer.id, consent_id=consent.id, signer_name=signer.name,
                          method=method, image_png=image, initials=(initials or "").strip()[:10] or None, ip=ip,
                          user_agent=(user_agent or "")[:500] or None, signed_at=now,
                          verification=_verification(signer, tenant_id)[:300],
                          time_zone=(time_zone or "")[:64] or None))
    db.flush()
    db.refresh(doc)
    if len(doc.signatures) < len(pkg.signers):
        doc.status = "partially_signed"
        db.flush()
        return doc
    _seal_document(doc, pkg, shop_name=shop_name, claim_number=claim_number, now=now)
    if all(d.status == "signed" for d in pkg.documents):
        pkg.status = "completed"
        pkg.completed_at = now
    db.flush()
    emit("document.signed", tenant_id, {
        "claim_id": pkg.claim_id, "package_id": pkg.public_id, "document_id": doc.public_id,
        "title": doc.title, "signer": ", ".join(s.name for s in pkg.signers), "sha256": doc.signed_sha256,
        "signers": [s.name for s in pkg.signers], "package_completed": pkg.status == "completed",
        "source": pkg.source or "", "reference": pkg.reference or "",
    })
    return doc


def _seal_document(doc: EsignDocument, pkg: EsignPackage, *, shop_name: str, claim_number: str,
                   now: datetime) -> None:
    from . import keys, pdf  # pyHanko, asn1crypto, reportlab

    by_signer = {s.signer_id: s for s in doc.signatures}
    consents = {c.id: c for c in get_session().scalars(
        select(EsignConsent).where(EsignConsent.package_id == pkg.id)).all()}
    audit = [
        ("Document", f"{doc.title} ({doc.public_id})"),
        ("Template", f"{doc.template.key} version {doc.template.version}" if not pkg.source
         else f"provided by {pkg.source} ({pkg.reference})"),
        ("Signing session", pkg.public_id),
        ("Repair order", claim_number),
        ("Shop", shop_name),
        ("Signers", str(len(pkg.signers))),
        ("Viewed", _fmt(doc.viewed_at)),
        ("SHA-256 original", doc.original_sha256),
    ]
    blocks = []
    for signer in pkg.signers:
        sig = by_signer[signer.id]
        consent = consents.get(sig.consent_id)
        n = signer.position
        audit += [
            (f"Signer {n}", sig.signer_name),
            (f"Signer {n} method", "drawn on screen" if sig.method == "drawn" else "typed name (script font)"),
            (f"Signer {n} verification", sig.verification or "-"),
            (f"Signer {n} IP address", sig.ip or "-"),
            (f"Signer {n} device / user agent", (sig.user_agent or "-")[:300]),
            (f"Signer {n} time zone", sig.time_zone or "-"),
            (f"Signer {n} consent to e-business", _fmt(consent.consented_at if consent else None)),
            (f"Signer {n} signed", _fmt(sig.signed_at)),
            (f"Signer {n} SHA-256 signature image", pdf.sha256(sig.image_png)),
        ]
        blocks.append(pdf.SignatureBlock(sig.signer_name, sig.image_png, sig.initials, _fmt(sig.signed_at)))
    header = f"{shop_name} - repair order {claim_number}"
    rendered = pdf.render_signed(doc.title, doc.body_text, header, blocks=blocks, audit=audit)
    sealed = keys.seal_signers(
        rendered, [(s.name, f"{doc.title} signed electronically by {s.name}") for s in pkg.signers],
        location=shop_name[:100])
    store_signed(doc, sealed)
    doc.signed_sha256 = pdf.sha256(sealed)
    doc.signed_at = now
    doc.status = "signed"


def store_signed(doc: EsignDocument, data: bytes) -> None:
    """Put the sealed PDF in the core storage backend; the row keeps its key."""
    tenant_id = current_tenant_id()
    assert tenant_id is not None
    key = f"{storage.new_key(tenant_id, 'esign')}/{doc.public_id}.pdf"
    storage.get_storage().put(key, data, "application/pdf")
    doc.signed_pdf_key = key
    doc.signed_pdf = None


def signed_bytes(doc: EsignDocument) -> bytes | None:
    """The sealed PDF: from storage, or from the row for documents signed before storage existed."""
    if doc.signed_pdf_key:
        return storage.get_storage().get(doc.signed_pdf_key)
    return doc.signed_pdf


def signer_state(pkg: EsignPackage, signer: EsignSigner) -> str:
    done = sum(1 for d in pkg.documents if signed_by(d, signer))
    return "signed" if done == len(pkg.documents) else ("signing" if done else "waiting")


def package_json(pkg: EsignPackage, include_urls: Any = None) -> dict[str, Any]:
    return {
        "id": pkg.public_id, "claim_id": pkg.claim_id, "title": pkg.title, "signer_name": pkg.signer_name,
        "status": package_state(pkg), "expires_at": pkg.expires_at.isoformat(),
        "created_at": pkg.created_at.isoformat(),
        "cancelled_at": pkg.cancelled_at.isoformat() if pkg.cancelled_at else None,
        "cancel_reason": pkg.cancel_reason,
        "completed_at": pkg.completed_at.isoformat() if pkg.completed_at else None,
        "declined_at": pkg.declined_at.isoformat() if pkg.declined_at else None,
        "decline_reason": pkg.decline_reason, "declined_by": pkg.declined_by,
        "last_sent_at": pkg.last_sent_at.isoformat() if pkg.last_sent_at else None,
        "sends": [{"signer": signer.public_id, "to": masked(row.to_number), "state": state, "text": words,
                   "sent_at": row.created_at.isoformat()} for signer, row, state, words in latest_sends(pkg)],
        "signers": [{"id": s.public_id, "position": s.position, "name": s.name,
                     "mobile": masked(s.mobile) if s.mobile else None, "state": signer_state(pkg, s),
                     "otp_verified": s.otp_verified_at is not None} for s in pkg.signers],
        "documents": [{
            "id": d.public_id, "position": d.position, "title": d.title, "status": d.status,
            "template": d.template.key, "template_version": d.template.version,
            "original_sha256": d.original_sha256, "signed_sha256": d.signed_sha256,
            "viewed_at": d.viewed_at.isoformat() if d.viewed_at else None,
            "signed_at": d.signed_at.isoformat() if d.signed_at else None,
            "signed_by": [sig.signer_name for sig in d.signatures],
        } for d in pkg.documents],
    }
