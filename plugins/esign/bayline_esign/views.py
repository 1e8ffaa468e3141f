"""Routes: staff JSON API under ``/plugins/esign`` and the customer signing flow under ``/c/s/esign``
(both blueprint ``plugin_esign``, plan-gated), and the public verification page
(``plugin_esign_public``, from ``register_public_blueprints``, so it is not plan-gated)."""
from __future__ import annotations

import io
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    redirect,
    render_template_string,
    request,
    send_file,
    send_from_directory,
    url_for,
)
from flask_smorest import abort
from sqlalchemy import select

from bayline.claims.models import Claim
from bayline.db import get_session
from bayline.events import commit
from bayline.tenancy import current_tenant_id, set_tenant, unscoped

from . import keys, pdf, service
from .models import EsignDocument, EsignPackage
from .service import EsignError

MAX_VERIFY_BYTES = 15 * 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"


def _errors(view: Callable) -> Callable:
    """Turn :class:`EsignError` into the core's error shape (JSON or HTML page)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except EsignError as exc:
            get_session().rollback()
            abort(exc.status, error_code=exc.code, message=exc.message)

    return wrapped


def _wants_json() -> bool:
    if request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _client() -> tuple[str | None, str | None]:
    return request.remote_addr, request.headers.get("User-Agent")


def _pdf_response(data: bytes, name: str) -> Response:
    resp = send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name, as_attachment=True)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# -- staff -------------------------------------------------------------------------


def _staff(permission: str) -> Any:
    principal = g.get("principal")
    if principal is None:
        abort(401, error_code="unauthorized", message="Log in or send an API key.")
    if not principal.can(permission):
        abort(403, error_code="permission_denied", message=f"Your role may not do this ({permission}).")
    return principal


def _claim(claim_id: int) -> Claim:
    claim = get_session().scalars(select(Claim).where(Claim.id == claim_id)).first()
    if claim is None:
        abort(404, error_code="not_found", message="No such claim.")
    return claim


def _payload() -> dict[str, Any]:
    if request.is_json:
        return request.get_json(silent=True) or {}
    data: dict[str, Any] = request.form.to_dict()
    if "templates" in request.form:
        data["templates"] = request.form.getlist("templates")
    return data


def staff_blueprint() -> Blueprint:
    bp = Blueprint("plugin_esign", __name__, url_prefix="/plugins/esign")
    add_portal_routes(bp)

    @bp.get("/templates")
    @_errors
    def templates() -> Any:
        _staff("claims.read")
        rows = service.latest_templates()
        commit()
        return jsonify([{"key": t.key, "kind": t.kind, "version": t.version, "title": t.title, "body": t.body,
                         "requires_initials": t.requires_initials} for t in rows])

    @bp.post("/templates")
    @_errors
    def save_template() -> Any:
        _staff("esign.templates")
        data = _payload()
        t = service.save_template(str(data.get("key", "")), str(data.get("title", "")), str(data.get("body", "")),
                                  bool(data.get("requires_initials")))
        commit()
        return jsonify({"key": t.key, "version": t.version, "title": t.title}), 201

    @bp.get("/claims/<int:claim_id>/packages")
    @_errors
    def list_packages(claim_id: int) -> Any:
        _staff("claims.read")
        _claim(claim_id)
        return jsonify([service.package_json(p) for p in service.packages_for_claim(claim_id)])

    @bp.post("/claims/<int:claim_id>/packages")
    @_errors
    def create_package(claim_id: int) -> Any:
        principal = _staff("esign.send")
        claim = _claim(claim_id)
        data = _payload()
        keys_ = data.get("templates") or []
        if isinstance(keys_, str):
            keys_ = [keys_]
        try:
            days = int(data.get("expires_in_days") or service.DEFAULT_EXPIRY_DAYS)
        except (TypeError, ValueError):
            raise EsignError(422, "validation_error", "expires_in_days must be a number.") from None
        signers = data.get("signers") or None
        if signers is None and data.get("second_signer_name"):  # the console form: one extra signer
            signers = [{"name": data.get("signer_name") or claim.customer_name},
                       {"name": data.get("second_signer_name"), "mobile": data.get("second_signer_mobile")}]
        pkg = service.create_package(claim, list(keys_), shop_name=g.shop.name,
                                     signer_name=data.get("signer_name") or None, title=data.get("title") or None,
                                     expires_in_days=days, user_id=principal.user_id, signers=signers)
        commit()
        if not _wants_json() and not request.is_json:
            return redirect(request.form.get("back") or url_for("console.claim", claim_id=claim.id))
        return jsonify(service.package_json(pkg)), 201

    @bp.get("/packages/<public_id>")
    @_errors
    def show_package(public_id: str) -> Any:
        _staff("claims.read")
        return jsonify(service.package_json(service.get_package(public_id)))

    @bp.post("/packages/<public_id>/cancel")
    @_errors
    def cancel(public_id: str) -> Any:
        _staff("esign.send")
        data = _payload()
        pkg = service.cancel_package(service.get_package(public_id), data.get("reason"))
        commit()
        if not _wants_json() and not request.is_json:
            return redirect(request.form.get("back") or url_for("console.claim", claim_id=pkg.claim_id))
        return jsonify(service.package_json(pkg))

    @bp.get("/documents/<public_id>/original.pdf")
    @_errors
    def original_pdf(public_id: str) -> Any:
        _staff("claims.read")
        doc = service.get_document(public_id)
        return _pdf_response(doc.original_pdf, f"{doc.public_id}-original.pdf")

    @bp.get("/documents/<public_id>/signed.pdf")
    @_errors
    def signed_pdf(public_id: str) -> Any:
        _staff("claims.read")
        doc = service.get_document(public_id)
        data = service.signed_bytes(doc) if doc.status == "signed" else None
        if data is None:
            raise EsignError(404, "not_signed", "This document is not signed yet.")
        return _pdf_response(data, f"{doc.public_id}-signed.pdf")

    @bp.post("/packages/<public_id>/send")
    @_errors
    def send(public_id: str) -> Any:
        principal = _staff("esign.send")
        pkg = service.get_package(public_id)
        claim = _claim(pkg.claim_id)
        data = _payload()
        key = str(data.get("idempotency_key") or request.headers.get("Idempotency-Key") or "")
        rows, created = service.send_link(pkg, claim, shop=g.shop, hooks=g.hooks, features=g.features,
                                          idempotency_key=key, user_id=principal.user_id)
        commit()
        if not _wants_json() and not request.is_json:
            return redirect(request.form.get("back") or url_for("console.claim", claim_id=pkg.claim_id))
        body = service.package_json(pkg)
        body["sends"] = [{"to": service.masked(r.to_number), "status": r.status, "detail": r.detail,
                          "idempotency_key": r.idempotency_key} for r in rows]
        return jsonify(body), 201 if created else 200

    return bp


# -- customer portal ------------------------------------------------------------------

PORTAL_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for(static_endpoint, filename='esign.css') }}">
<script src="{{ url_for(static_endpoint, filename='esign.js') }}" defer></script></head><body>
<p class="esign-back"><a href="/c/s/">&larr; Back to your repair</a></p>
{% block content %}{% endblock %}</body></html>"""

PORTAL_INDEX = PORTAL_PAGE.replace("{% block content %}{% endblock %}", """
<h1>Documents to sign</h1>
{% for pkg, state in packages %}<section><h2>{{ pkg.title }}</h2><p class="muted">{{ state }}</p><ol>
{% for d in pkg.documents %}<li><a href="{{ url_for('plugin_esign.portal_document', public_id=d.public_id) }}">
{{ d.title }}</a> &mdash; {{ d.status }}{% if d.status == 'signed' %} (<a
href="{{ url_for('plugin_esign.portal_signed_pdf', public_id=d.public_id) }}">download</a>){% endif %}</li>
{% endfor %}</ol></section>{% else %}<p>Nothing to sign right now.</p>{% endfor %}""")

PORTAL_DOCUMENT = PORTAL_PAGE.replace("{% block content %}{% endblock %}", """
<h1>{{ doc.title }}</h1>
<div class="doc">{{ doc.body_text }}</div>
<p><a href="{{ url_for('plugin_esign.portal_original_pdf', public_id=doc.public_id) }}">View as PDF</a></p>
{% if signer and pkg.signers|length > 1 and state == 'sent' %}<p class="esign-as">Signing as
<strong>{{ signer.name }}</strong>.{% for s in pkg.signers if s.id != signer.id %} <a
href="{{ url_for('plugin_esign.portal_document', public_id=doc.public_id, signer=s.public_id) }}">I am
{{ s.name }}</a>{% endfor %}</p>{% endif %}
{% if state != 'sent' %}<p><strong>This request is {{ state }}.</strong></p>
{% elif doc.status == 'signed' %}<p>Signed. <a href="{{ url_for('plugin_esign.portal_signed_pdf',
 public_id=doc.public_id) }}">Download your copy</a>.</p>
{% elif signer is none %}
<h2>Who is signing?</h2><ul class="esign-who">{% for s in pkg.signers %}
<li><a href="{{ url_for('plugin_esign.portal_document', public_id=doc.public_id, signer=s.public_id) }}">I am
{{ s.name }}</a>{% if signed_by(doc, s) %} (signed){% endif %}</li>{% endfor %}</ul>
{% elif signed_by(doc, signer) %}<p>{{ signer.name }}, you signed this document. It is sealed when
{{ waiting|join(', ') }} {{ 'has' if waiting|length == 1 else 'have' }} signed too.</p>
{% elif not consent %}
<form method="post" action="{{ url_for('plugin_esign.portal_consent', public_id=pkg.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="signer" value="{{ signer.public_id }}">
<input type="hidden" name="next" value="{{ request.full_path }}">
<h2>Consent to do business electronically</h2><p>{{ consent_text }}</p>
<label><input type="checkbox" name="agree" value="1" required> I agree</label>
<p><button type="submit">Continue</button></p></form>
{% elif otp_needed %}
<h2>Confirm it is you</h2><p>We text a 6-digit code to your {{ masked(signer.mobile) }}.</p>
<form method="post" action="{{ url_for('plugin_esign.portal_otp_send', public_id=pkg.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="signer" value="{{ signer.public_id }}">
<input type="hidden" name="next" value="{{ request.full_path }}">
<button type="submit">Text me a code</button></form>
<form method="post" action="{{ url_for('plugin_esign.portal_otp_verify', public_id=pkg.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="signer" value="{{ signer.public_id }}">
<input type="hidden" name="next" value="{{ request.full_path }}">
<label>Code <input name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required></label>
<button type="submit">Confirm</button></form>
{% else %}
<form method="post" id="sign" action="{{ url_for('plugin_esign.portal_sign', public_id=doc.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="signer" value="{{ signer.public_id }}">
<input type="hidden" name="signature" id="sigdata"><input type="hidden" name="time_zone" id="tz">
<p><label><input type="radio" name="method" value="drawn" checked> Draw</label>
<label><input type="radio" name="method" value="typed"> Type</label></p>
<canvas id="pad" width="600" height="160"></canvas>
<p><label>Or type your name <input name="typed_name" autocomplete="name" value="{{ signer.name }}"></label></p>
{% if doc.requires_initials %}<p><label>Initials <input name="initials" maxlength="10" required></label></p>{% endif %}
<p><label><input type="checkbox" name="intent" value="1" required> I intend to sign this document
electronically.</label></p>
<p><button type="submit">Sign</button></p></form>
<form method="post" action="{{ url_for('plugin_esign.portal_withdraw', public_id=pkg.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<input type="hidden" name="signer" value="{{ signer.public_id }}">
<button class="muted" type="submit">Withdraw consent (ask for paper)</button></form>
{% endif %}
{% if state == 'sent' and doc.status != 'signed' %}
<details><summary>Decline to sign</summary>
<form method="post" action="{{ url_for('plugin_esign.portal_decline', public_id=pkg.public_id) }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
{% if signer %}<input type="hidden" name="signer" value="{{ signer.public_id }}">{% endif %}
<label>Why? <textarea name="reason" maxlength="500" required></textarea></label>
<button type="submit">Decline</button></form></details>{% endif %}""")

SIGNER_KEY = "esign_signer"


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
    """The claim of the verified portal session (the core portal's shop resolver sets
    ``g.portal_claim_id`` for ``/c/s/`` requests), or 404."""
    shop = g.get("shop")
    claim_id = g.get("portal_claim_id")
    if shop is None or claim_id is None:
        abort(404)
    if current_tenant_id() is None:
        set_tenant(shop.id)
    return int(claim_id)


def _claim_number(claim_id: int) -> str:
    number = get_session().scalars(select(Claim.number).where(Claim.id == claim_id)).first()
    return number or str(claim_id)


def _back(body: dict[str, Any]) -> Any:
    """JSON for API callers; the page named by ``next`` (a portal path) for the phone form."""
    nxt = request.form.get("next") or ""
    if _wants_json() or not nxt.startswith("/c/s/esign/") or "//" in nxt:
        return jsonify(body)
    return redirect(nxt)


def add_portal_routes(bp: Blueprint) -> None:
    """Mount the customer flow under ``/c/s/esign`` as endpoints of ``bp`` (``plugin_esign.portal_*``).

    One blueprint per plugin carries one URL prefix (``/plugins/esign``), so the portal rules are
    added to the app when ``bp`` is registered, with endpoints in ``bp``'s namespace: the core's
    feature gate (404 on ``/c/`` when esign is off) applies to them as to the staff routes.
    """
    routes: list[tuple[str, Callable, list[str]]] = []

    def route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Callable], Callable]:
        def deco(view: Callable) -> Callable:
            routes.append((rule, view, list(methods)))
            return view

        return deco

    @route("/static/<path:filename>")
    def static(filename: str) -> Any:
        _portal_claim_id()
        return send_from_directory(STATIC_DIR, filename, max_age=3600)

    @route("/")
    @_errors
    def index() -> Any:
        claim_id = _portal_claim_id()
        pkgs = [p for p in service.packages_for_claim(claim_id) if service.package_state(p) != "cancelled"]
        if _wants_json():
            return jsonify([service.package_json(p) for p in pkgs])
        return render_template_string(PORTAL_INDEX, title="Documents",
                                      static_endpoint="plugin_esign.portal_static",
                                      packages=[(p, service.package_state(p)) for p in pkgs])

    @route("/documents/<public_id>")
    @_errors
    def document(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        pkg = doc.package
        state = service.package_state(pkg)
        if state == "sent":
            service.record_view(doc)
            commit()
        signer = _chosen_signer(pkg, required=False)
        consent = service.active_consent(pkg, signer) if signer is not None else None
        otp_needed = (signer is not None and service.otp_required(g.shop.id) and signer.otp_verified_at is None)
        if _wants_json():
            data = service.package_json(pkg)
            data["signer"] = signer.public_id if signer is not None else None
            data["consent"] = consent is not None
            data["consent_text"] = service.CONSENT_TEXT
            data["otp_needed"] = otp_needed
            return jsonify(data)
        waiting = [s.name for s in pkg.signers if not service.signed_by(doc, s)]
        return render_template_string(PORTAL_DOCUMENT, title=doc.title, static_endpoint="plugin_esign.portal_static",
                                      doc=doc, pkg=pkg, state=state, signer=signer, signed_by=service.signed_by,
                                      waiting=waiting, otp_needed=otp_needed, masked=service.masked,
                                      consent=consent, consent_text=service.CONSENT_TEXT)

    @route("/documents/<public_id>/original.pdf")
    @_errors
    def original_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        return _pdf_response(doc.original_pdf, f"{doc.title}.pdf")

    @route("/documents/<public_id>/signed.pdf")
    @_errors
    def signed_pdf(public_id: str) -> Any:
        doc = service.get_document(public_id, _portal_claim_id())
        data = service.signed_bytes(doc) if doc.status == "signed" else None
        if data is None:
            raise EsignError(404, "not_signed", "This document is not signed yet.")
        return _pdf_response(data, f"{doc.title} (signed).pdf")

    @route("/packages/<public_id>/consent", methods=("POST",))
    @_errors
    def consent(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        if request.form.get("agree") not in ("1", "true", "on", "yes"):
            raise EsignError(422, "consent_required", "Tick 'I agree' to sign electronically.")
        ip, ua = _client()
        service.give_consent(pkg, _chosen_signer(pkg, required=True), ip=ip, user_agent=ua)
        commit()
        return _back({"consent": True})

    @route("/packages/<public_id>/consent/withdraw", methods=("POST",))
    @_errors
    def withdraw(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        service.withdraw_consent(pkg, _chosen_signer(pkg, required=True))
        commit()
        if _wants_json():
            return jsonify({"consent": False})
        return redirect(url_for("plugin_esign.portal_index"))

    @route("/packages/<public_id>/decline", methods=("POST",))
    @_errors
    def decline(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        service.decline(pkg, _chosen_signer(pkg, required=False), request.form.get("reason"))
        commit()
        if _wants_json():
            return jsonify(service.package_json(pkg))
        return redirect(url_for("plugin_esign.portal_index"))

    @route("/packages/<public_id>/otp", methods=("POST",))
    @_errors
    def otp_send(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        signer = _chosen_signer(pkg, required=True)
        row = service.send_otp(pkg, signer, shop=g.shop, hooks=g.hooks, features=g.features)
        commit()
        return _back({"sent": True, "to": service.masked(row.to_number),
                      "expires_at": row.expires_at.isoformat()})

    @route("/packages/<public_id>/otp/verify", methods=("POST",))
    @_errors
    def otp_verify(public_id: str) -> Any:
        pkg = service.get_package(public_id, _portal_claim_id())
        signer = _chosen_signer(pkg, required=True)
        service.verify_otp(pkg, signer, request.form.get("code"))
        commit()
        return _back({"verified": True})

    @route("/documents/<public_id>/sign", methods=("POST",))
    @_errors
    def sign(public_id: str) -> Any:
        claim_id = _portal_claim_id()
        doc = service.get_document(public_id, claim_id)
        form = request.form
        ip, ua = _client()
        method = form.get("method", "drawn")
        if method == "drawn" and not form.get("signature") and form.get("typed_name") and not _wants_json():
            method = "typed"  # the phone form falls back to the typed name when nothing was drawn
        signer = _chosen_signer(doc.package, required=True)
        service.sign_document(
            doc, signer=signer, method=method, drawn=form.get("signature"), typed_name=form.get("typed_name"),
            initials=form.get("initials"), intent=form.get("intent") in ("1", "true", "on", "yes"), ip=ip,
            user_agent=ua, time_zone=form.get("time_zone"), shop_name=g.shop.name,
            claim_number=_claim_number(claim_id))
        commit()
        if _wants_json():
            return jsonify(service.package_json(doc.package))
        return redirect(url_for("plugin_esign.portal_document", public_id=doc.public_id, signer=signer.public_id))

    def register(state: Any) -> None:
        for rule, view, methods in routes:
            state.app.add_url_rule(f"/c/s/esign{rule}", f"{bp.name}.portal_{view.__name__}", view, methods=methods)

    bp.record(register)


# -- public verification --------------------------------------------------------------

VERIFY_PAGE = PORTAL_PAGE.replace("{% block content %}{% endblock %}", """
<h1>Verify a signed document</h1>
{% if result %}<section><h2>{{ 'Valid: signed by this platform and unaltered' if result.ok
 else 'Not valid' }}</h2><ul>
<li>Known to this platform: {{ 'yes' if result.known else 'no' }}</li>
<li>Digitally signed: {{ 'yes' if result.signed else 'no' }}</li>
<li>Intact (unaltered since signing): {{ 'yes' if result.intact else 'no' }}</li>
<li>Signature valid and trusted: {{ 'yes' if result.valid and result.trusted else 'no' }}</li>
{% if result.signatures %}<li>Signatures: {{ result.signatures|length }}
({{ 'each one valid' if result.signatures|selectattr('bottom_line')|list|length == result.signatures|length
 else 'not all valid' }}{% if result.docmdp == 'NO_CHANGES' %}, document locked{% endif %})</li>{% endif %}
{% if result.signer %}<li>Sealed by: {{ result.signer }}</li>{% endif %}
{% if result.signing_time %}<li>Sealed at: {{ result.signing_time }}</li>{% endif %}
{% if result.document %}<li>Document: {{ result.document.title }}, repair order {{ result.document.claim_number }},
signed {{ result.document.signed_at }}</li>{% endif %}
{% if result.error %}<li>{{ result.error }}</li>{% endif %}</ul></section>{% endif %}
<form method="post" enctype="multipart/form-data">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<p><input type="file" name="file" accept="application/pdf" required></p>
<p><button type="submit">Verify</button></p></form>""")


def verify_upload(data: bytes) -> dict[str, Any]:
    """Hash lookup plus pyHanko validation of an uploaded PDF."""
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


def public_blueprint(limiter: Any) -> Blueprint:
    """The anonymous verification page (built per app: the rate limit decorates its view)."""
    bp = Blueprint("plugin_esign_public", __name__, url_prefix="/plugins/esign", static_folder="static",
                   static_url_path="/static")

    def verify() -> Any:
        result = None
        if request.method == "POST":
            upload = request.files.get("file")
            if upload is None:
                abort(422, error_code="validation_error", message="Upload the PDF to verify as 'file'.")
            data = upload.read(MAX_VERIFY_BYTES + 1)
            if len(data) > MAX_VERIFY_BYTES:
                abort(413, error_code="payload_too_large", message="PDF too large.")
            result = verify_upload(data)
            if _wants_json():
                return jsonify(result)
        return render_template_string(VERIFY_PAGE, title="Verify a document", result=result,
                                      static_endpoint="plugin_esign_public.static")

    if limiter is not None:
        verify = limiter.limit("20/minute", methods=["POST"])(verify)
    bp.add_url_rule("/verify", "verify", verify, methods=["GET", "POST"])
    return bp

