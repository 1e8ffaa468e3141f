"""Routes: the staff JSON API under ``/plugins/esign`` (``plugin_esign``), the customer signing flow
under ``/c/s/esign`` (``plugin_esign_portal``; both plan-gated) and the public verification page
(``plugin_esign_public``, from ``register_public_blueprints``, so it is not plan-gated).

A refused operation raises :class:`Refused`; the core answers it with its error shape (JSON) or
the friendly portal page, and rolls the request's transaction back."""
from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, flash, g, jsonify, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Refused,
    commit,
    current_portal_claim,
    current_principal,
    get_session,
    portal_blueprint,
    public_blueprint,
    rate_limit,
    require,
    safe_redirect_target,
    staff_blueprint,
    unscoped,
    wants_json,
)

from . import service
from .models import EsignDocument, EsignPackage

MAX_VERIFY_BYTES = 15 * 1024 * 1024
FORM_KEY = "esign_package_form"  # the console form's typed values after a refusal, read back once


def _client() -> tuple[str | None, str | None]:
    return request.remote_addr, request.headers.get("User-Agent")


def _pdf_response(data: bytes, name: str) -> Response:
    resp = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, as_attachment=True)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# -- staff -------------------------------------------------------------------------


def _principal() -> Any:
    principal = current_principal()
    assert principal is not None  # every staff view is behind @require
    return principal


def _claim(claim_id: int) -> Claim:
    claim = get_session().scalars(select(Claim).where(Claim.id == claim_id)).first()
    if claim is None:
        raise Refused(404, "not_found", "No such claim.")
    return claim


def _recent_claims() -> list[Claim]:
    return list(get_session().scalars(select(Claim).where(Claim.archived_at.is_(None))
                                      .order_by(Claim.updated_at.desc()).limit(30)).all())


def _preview_claim(raw: str | None) -> Claim | None:
    try:
        claim_id = int(raw or "")
    except ValueError:
        return None
    return get_session().scalars(select(Claim).where(Claim.id == claim_id)).first()


def _editor(template: Any, values: dict[str, Any], *, errors: dict[str, str] | None = None,
            preview: dict[str, Any] | None = None) -> str:
    from .templating import FIELDS

    versions = service.template_versions(template.key) if template is not None else []
    return render_template("bayline_esign/console_template_edit.html", template=template, values=values,
                           errors=errors or {}, preview=preview, claims=_recent_claims(), fields=FIELDS,
                           versions=versions, can_edit=_principal().can("esign.templates"),
                           chosen=request.form.get("preview_claim") or request.args.get("claim_id") or "")


def _payload() -> dict[str, Any]:
    if request.is_json:
        return request.get_json(silent=True) or {}
    data: dict[str, Any] = request.form.to_dict()
    if "templates" in request.form:
        data["templates"] = request.form.getlist("templates")
    return data


def staff_routes() -> Blueprint:
    bp = staff_blueprint("esign")

    @bp.get("/templates")
    @require("claims.read")
    def templates() -> Any:
        """The shop's templates: JSON for API callers, else the console's template list."""
        rows = service.latest_templates()
        if wants_json() or _principal().api_key is not None:
            return jsonify([{"key": t.key, "kind": t.kind, "version": t.version, "title": t.title, "body": t.body,
                             "requires_initials": t.requires_initials} for t in rows])
        return render_template("bayline_esign/console_templates.html", templates=rows,
                               can_edit=_principal().can("esign.templates"))

    @bp.post("/templates")
    @require("esign.templates")
    def save_template() -> Any:
        data = _payload()
        t = service.save_template(str(data.get("key", "")), str(data.get("title", "")), str(data.get("body", "")),
                                  bool(data.get("requires_initials")))
        commit()
        return jsonify({"key": t.key, "version": t.version, "title": t.title}), 201

    @bp.get("/templates/edit")
    @require("claims.read")
    def edit_template() -> Any:
        """The console's editor for template ``key`` (none: a new custom template)."""
        key = (request.args.get("key") or "").strip().lower()
        template = service.latest_template(key) if key else None
        if key and template is None:
            raise Refused(404, "not_found", "No such template.")
        values = {"key": key, "title": template.title if template else "", "body": template.body if template else "",
                  "requires_initials": bool(template and template.requires_initials)}
        return _editor(template, values)

    @bp.post("/templates/edit")
    @require("esign.templates")
    def edit_template_post() -> Any:
        """``action``: ``preview`` (the wording on a chosen claim, nothing saved), ``pdf`` (that preview as
        the unsigned PDF) or ``save`` (a new version; problems answered next to their field, typed text kept)."""
        form = request.form
        key = (form.get("key") or "").strip().lower()
        template = service.latest_template(key) if key else None
        values = {"key": key, "title": form.get("title", ""), "body": form.get("body", ""),
                  "requires_initials": form.get("requires_initials") in ("1", "on", "true", "yes")}
        action = form.get("action", "save")
        if action in ("preview", "pdf"):
            claim = _preview_claim(form.get("preview_claim"))
            problems = service.template_problems(key or "preview", values["title"] or "preview", values["body"])
            errors = {"body": problems["body"]} if "body" in problems else {}
            if claim is None:
                errors["preview_claim"] = "Choose a claim to preview on."
            if errors:
                return _editor(template, values, errors=errors), 422
            assert claim is not None
            if action == "pdf":
                data = service.preview_pdf(values["title"], values["body"], claim, g.shop.name,
                                           values["requires_initials"])
                resp = send_file(io.BytesIO(data), mimetype="application/pdf", download_name="preview.pdf")
                resp.headers["Cache-Control"] = "private, no-store"
                return resp
            text = service.preview_text(values["body"], claim, g.shop.name)
            return _editor(template, values, preview={"claim": claim, "text": text})
        errors = service.template_problems(key, values["title"], values["body"])
        if template is None and key and not errors and not form.get("new_key"):
            errors["key"] = "No such template."
        if template is not None and form.get("new_key"):
            errors["key"] = f"A template {key!r} exists already: open it from the list to change it."
        if errors:
            return _editor(template, values, errors=errors), 422
        saved = service.save_template(key, values["title"], values["body"], values["requires_initials"])
        commit()
        flash(f"Saved {saved.title!r} as version {saved.version}. New documents use it; documents prepared "
              "earlier keep the version they were made from.")
        return redirect(url_for("plugin_esign.edit_template", key=saved.key))

    @bp.get("/claims/<int:claim_id>/packages")
    @require("claims.read")
    def list_packages(claim_id: int) -> Any:
        _claim(claim_id)
        return jsonify([service.package_json(p) for p in service.packages_for_claim(claim_id)])

    @bp.post("/claims/<int:claim_id>/packages")
    @require("esign.send")
    def create_package(claim_id: int) -> Any:
        principal = _principal()
        claim = _claim(claim_id)
        data = _payload()
        keys_ = data.get("templates") or []
        if isinstance(keys_, str):
            keys_ = [keys_]
        if not isinstance(keys_, list) or not all(isinstance(k, str) and len(k) <= 60 for k in keys_):
            raise Refused(422, "validation_error", "templates: a list of template keys.")
        for name in ("signer_name", "title", "second_signer_name", "second_signer_mobile"):
            if data.get(name) is not None and not isinstance(data.get(name), str):
                raise Refused(422, "validation_error", f"{name} must be text.")
        try:
            days = int(data.get("expires_in_days") or service.DEFAULT_EXPIRY_DAYS)
        except (TypeError, ValueError):
            raise Refused(422, "validation_error", "expires_in_days must be a number.") from None
        signers = data.get("signers") or None
        if signers is None and data.get("second_signer_name"):  # the console form: one extra signer
            signers = [{"name": data.get("signer_name") or claim.customer_name},
                       {"name": data.get("second_signer_name"), "mobile": data.get("second_signer_mobile")}]
        console_form = not wants_json() and not request.is_json
        try:
            pkg = service.create_package(claim, list(keys_), shop_name=g.shop.name,
                                         signer_name=data.get("signer_name") or None,
                                         title=data.get("title") or None, expires_in_days=days,
                                         user_id=principal.user_id, signers=signers)
        except Refused as refused:
            if not console_form or refused.status != 422:
                raise
            # The claim page again with the reason and what was typed (the panel reads it back).
            from flask import flash, session

            get_session().rollback()
            flash(refused.message, "error")
            session[FORM_KEY] = {"claim_id": claim.id, "templates": [str(k) for k in keys_][:20],
                                 **{k: str(data.get(k) or "")[:200] for k in
                                    ("second_signer_name", "second_signer_mobile")}}
            return redirect(_back_target(claim.id))
        commit()
        if console_form:
            return redirect(_back_target(claim.id))
        return jsonify(service.package_json(pkg)), 201

    @bp.get("/packages/<public_id>")
    @require("claims.read")
    def show_package(public_id: str) -> Any:
        return jsonify(service.package_json(service.get_package(public_id)))

    @bp.post("/packages/<public_id>/cancel")
    @require("esign.send")
    def cancel(public_id: str) -> Any:
        data = _payload()
        pkg = service.cancel_package(service.get_package(public_id), data.get("reason"))
        commit()
        if not wants_json() and not request.is_json:
            return redirect(_back_target(pkg.claim_id))
        return jsonify(service.package_json(pkg))

    @bp.get("/documents/<public_id>/original.pdf")
    @require("claims.read")
    def original_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id)
        return _pdf_response(doc.original_pdf, f"{doc.public_id}-original.pdf")

    @bp.get("/documents/<public_id>/signed.pdf")
    @require("claims.read")
    def signed_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id)
        data = service.signed_bytes(doc) if doc.status == "signed" else None
        if data is None:
            raise Refused(404, "not_signed", "This document is not signed yet.")
        return _pdf_response(data, f"{doc.public_id}-signed.pdf")

    @bp.post("/packages/<public_id>/send")
    @require("esign.send")
    def send(public_id: str) -> Any:
        principal = _principal()
        pkg = service.get_package(public_id)
        claim = _claim(pkg.claim_id)
        data = _payload()
        key = str(data.get("idempotency_key") or request.headers.get("Idempotency-Key") or "")
        rows, created = service.send_link(pkg, claim, shop=g.shop, features=g.features,
                                          idempotency_key=key, user_id=principal.user_id)
        commit()
        if not wants_json() and not request.is_json:
            return redirect(_back_target(pkg.claim_id))
        body = service.package_json(pkg)
        body["sends"] = [{"to": service.masked(r.to_number), "status": r.status, "detail": r.detail,
                          "idempotency_key": r.idempotency_key} for r in rows]
        return jsonify(body), 201 if created else 200

    return bp


# -- customer portal ------------------------------------------------------------------

SIGNER_KEY = "esign_signer"
PROOF_KEY = "esign_proof"  # {signer public id: id of the code verified in this browser session}


def _proof(signer: Any) -> int | None:
    """The code this browser session verified for ``signer`` (an additional signer's proof)."""
    from flask import session

    proofs = session.get(PROOF_KEY)
    value = proofs.get(signer.public_id) if isinstance(proofs, dict) else None
    return value if isinstance(value, int) else None


def _remember_proof(signer: Any, otp_id: int) -> None:
    from flask import session

    proofs = session.get(PROOF_KEY) if isinstance(session.get(PROOF_KEY), dict) else {}
    session[PROOF_KEY] = {**proofs, signer.public_id: otp_id}


def _chosen_signer(pkg: EsignPackage, required: bool) -> Any:
    """The signer named by the request (``signer``), else the one this browser chose for ``pkg``,
    else the only signer. Remembers an explicit choice in the session."""
    from flask import session

    given = request.values.get("signer")
    remembered = session.get(SIGNER_KEY) if isinstance(session.get(SIGNER_KEY), dict) else {}
    public_id = given or remembered.get(pkg.public_id)
    if not public_id and len(pkg.signers) > 1 and not required:
        return None
    signer = service.get_signer(pkg, public_id)
    if given and len(pkg.signers) > 1:
        remembered = dict(remembered)
        remembered[pkg.public_id] = signer.public_id
        session[SIGNER_KEY] = remembered
    return signer


def _portal_claim_id() -> int:
    """The claim of the verified portal session (404 without one: ``current_portal_claim``)."""
    return current_portal_claim().id


def _claim_number(claim_id: int) -> str:
    number = get_session().scalars(select(Claim.number).where(Claim.id == claim_id)).first()
    return number or str(claim_id)


def _back_target(claim_id: int) -> str:
    """The console page a staff form came from (``back``), or the claim's page: never another site."""
    return safe_redirect_target(request.form.get("back"), url_for("console.claim", claim_id=claim_id))


def _back(body: dict[str, Any]) -> Any:
    """JSON for API callers; the page named by ``next`` (a portal path) for the phone form."""
    nxt = safe_redirect_target(request.form.get("next"), "", prefix="/c/s/esign/")
    if wants_json() or not nxt:
        return jsonify(body)
    return redirect(nxt)


def portal_routes() -> Blueprint:
    """The customer flow under ``/c/s/esign`` (``plugin_esign_portal.*``), with its static files
    (the signing pad's script and styles) behind the same portal session check."""
    bp = portal_blueprint("esign", static_folder="static", static_url_path="/static")
    route = bp.route

    @route("/")
    def index() -> Any:
        claim_id = _portal_claim_id()
        pkgs = [p for p in service.packages_for_claim(claim_id) if service.package_state(p) != "cancelled"]
        if wants_json():
            return jsonify([service.package_json(p) for p in pkgs])
        return render_template("bayline_esign/index.html", title="Documents", shop=g.shop, back="/c/s/",
                               static_endpoint="plugin_esign_portal.static",
                               packages=[(p, service.package_state(p)) for p in pkgs])

    def document_page(doc: EsignDocument, signer: Any, *, otp_error: str | None = None, status: int = 200) -> Any:
        pkg = doc.package
        state = service.package_state(pkg)
        consent = service.active_consent(pkg, signer) if signer is not None else None
        otp_needed = signer is not None and service.otp_needed(signer, g.shop.id, _proof(signer))
        if wants_json():
            data = service.package_json(pkg)
            data["signer"] = signer.public_id if signer is not None else None
            data["consent"] = consent is not None
            data["consent_text"] = service.CONSENT_TEXT
            data["otp_needed"] = otp_needed
            return jsonify(data)
        waiting = [s.name for s in pkg.signers if not service.signed_by(doc, s)]
        return render_template("bayline_esign/document.html", title=doc.title, shop=g.shop, back="/c/s/",
                               static_endpoint="plugin_esign_portal.static", doc=doc, pkg=pkg, state=state,
                               signer=signer, signed_by=service.signed_by, waiting=waiting, otp_needed=otp_needed,
                               masked=service.masked, consent=consent, consent_text=service.CONSENT_TEXT,
                               otp_error=otp_error), status

    @route("/documents/<public_id>")
    def document(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        if service.package_state(doc.package) == "sent":
            service.record_view(doc)
            commit()
        return document_page(doc, _chosen_signer(doc.package, required=False))

    @route("/documents/<public_id>/original.pdf")
    def original_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        return _pdf_response(doc.original_pdf, f"{doc.title}.pdf")

    @route("/documents/<public_id>/signed.pdf")
    def signed_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        data = service.signed_bytes(doc) if doc.status == "signed" else None
        if data is None:
            raise Refused(404, "not_signed", "This document is not signed yet.")
        return _pdf_response(data, f"{doc.title} (signed).pdf")

    @route("/packages/<public_id>/consent", methods=["POST"])
    def consent(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        if request.form.get("agree") not in ("1", "true", "on", "yes"):
            raise Refused(422, "consent_required", "Tick 'I agree' to sign electronically.")
        ip, ua = _client()
        signer = _chosen_signer(pkg, required=True)
        service.give_consent(pkg, signer, ip=ip, user_agent=ua, proof_otp_id=_proof(signer))
        commit()
        return _back({"consent": True})

    @route("/packages/<public_id>/consent/withdraw", methods=["POST"])
    def withdraw(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        service.withdraw_consent(pkg, _chosen_signer(pkg, required=True))
        commit()
        if wants_json():
            return jsonify({"consent": False})
        return redirect(url_for("plugin_esign_portal.index"))

    @route("/packages/<public_id>/decline", methods=["POST"])
    def decline(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        service.decline(pkg, _chosen_signer(pkg, required=False), request.form.get("reason"))
        commit()
        if wants_json():
            return jsonify(service.package_json(pkg))
        return redirect(url_for("plugin_esign_portal.index"))

    def otp_form_document(pkg: EsignPackage) -> EsignDocument | None:
        """The document page a phone form came from (``document``), to answer it in place."""
        public_id = request.form.get("document")
        if wants_json() or not public_id:
            return None
        doc = service.get_document(public_id, pkg.claim_id)
        return doc if doc.package_id == pkg.id else None

    @route("/packages/<public_id>/otp", methods=["POST"])
    def otp_send(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        signer = _chosen_signer(pkg, required=True)
        doc = otp_form_document(pkg)
        try:
            row = service.send_otp(pkg, signer, shop=g.shop, features=g.features)
        except Refused as refused:
            if doc is None:
                raise
            get_session().rollback()
            return document_page(doc, signer, otp_error=refused.message, status=refused.status)
        commit()
        return _back({"sent": True, "to": service.masked(row.to_number),
                      "expires_at": row.expires_at.isoformat()})

    @route("/packages/<public_id>/otp/verify", methods=["POST"])
    def otp_verify(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        signer = _chosen_signer(pkg, required=True)
        doc = otp_form_document(pkg)
        try:
            row = service.verify_otp(pkg, signer, request.form.get("code"))
        except Refused as refused:
            if doc is None:
                raise
            # Wrong, expired or locked code: the same page again, with the reason and the way on
            # (a new code); consent and earlier signatures stay as they were.
            get_session().rollback()
            return document_page(doc, signer, otp_error=refused.message, status=refused.status)
        commit()
        _remember_proof(signer, row.id)
        return _back({"verified": True})

    @route("/documents/<public_id>/sign", methods=["POST"])
    def sign(public_id: str) -> Any:
        claim_id = _portal_claim_id()
        doc = service.get_document(public_id, claim_id)
        form = request.form
        ip, ua = _client()
        method = form.get("method", "drawn")
        if method == "drawn" and not form.get("signature") and form.get("typed_name") and not wants_json():
            method = "typed"  # the phone form falls back to the typed name when nothing was drawn
        signer = _chosen_signer(doc.package, required=True)
        service.sign_document(
            doc, signer=signer, method=method, drawn=form.get("signature"), typed_name=form.get("typed_name"),
            initials=form.get("initials"), intent=form.get("intent") in ("1", "true", "on", "yes"), ip=ip,
            user_agent=ua, time_zone=form.get("time_zone"), shop_name=g.shop.name,
            claim_number=_claim_number(claim_id), proof_otp_id=_proof(signer))
        commit()
        if wants_json():
            return jsonify(service.package_json(doc.package))
        return redirect(url_for("plugin_esign_portal.document", public_id=doc.public_id, signer=signer.public_id))

    return bp


# -- public verification --------------------------------------------------------------

def verify_upload(data: bytes) -> dict[str, Any]:
    """Hash lookup plus pyHanko validation of an uploaded PDF."""
    from . import keys, pdf  # pyHanko: imported by the first verification, not with the app

    digest = pdf.sha256(data)
    db = get_session()
    with unscoped(db):
        doc = db.scalars(select(EsignDocument).where(EsignDocument.signed_sha256 == digest)).first()
        known = None
        if doc is not None:
            pkg = db.get(EsignPackage, doc.package_id)
            number = db.scalars(select(Claim.number).where(Claim.id == pkg.claim_id)).first() if pkg else None
            known = {"id": doc.public_id, "title": doc.title, "claim_number": number,
                     "signed_at": doc.signed_at.isoformat() if doc.signed_at else None}
    verdict = keys.verify(data)
    result = verdict.as_dict()
    for sig in result["signatures"]:
        sig.pop("name", None)  # signers' names are private: the holder of the file can read them there
    result["sha256"] = digest
    result["known"] = known is not None
    result["document"] = known
    result["ok"] = verdict.ok and known is not None
    return result


def public_routes() -> Blueprint:
    """The anonymous verification page (rate limited: 20 uploads a minute per address)."""
    bp = public_blueprint("esign", static_folder="static", static_url_path="/static")

    @bp.route("/verify", methods=["GET", "POST"])
    @rate_limit("20/minute", methods=["POST"])
    def verify() -> Any:
        result = None
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None:
                raise Refused(422, "validation_error", "Upload the PDF to verify as 'file'.")
            data = upload.read(MAX_VERIFY_BYTES + 1)
            if len(data) > MAX_VERIFY_BYTES:
                raise Refused(413, "payload_too_large", "PDF too large.")
            result = verify_upload(data)
            if wants_json():
                return jsonify(result)
        return render_template("bayline_esign/verify.html", title="Verify a document", result=result, back=None,
                               static_endpoint="plugin_esign_public.static")

    return bp
