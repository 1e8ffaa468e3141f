"""Staff forms under ``/plugins/quotes`` (the claim panel's targets), the customer's pages under
``/c/s/quotes`` and the payment provider's webhook (public, signature-checked).

Refusals raise :class:`Refused`: JSON callers get the core's error shape, people the friendly page;
the console import and payment forms re-render with the error and what was typed kept."""
from __future__ import annotations

from typing import Any

from flask import g, redirect, render_template, request, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Refused,
    commit,
    current_portal_claim,
    current_principal,
    for_shop,
    get_session,
    is_feature_active,
    payments,
    portal_blueprint,
    public_blueprint,
    public_url,
    rate_limit,
    require,
    shop_settings,
    staff_blueprint,
    unscoped,
    utcnow,
    wants_json,
)

from . import NAME, PAYMENTS, service
from .imports import MAX_BYTES, ImportRejected, parse
from .models import QuoteCheckout

staff = staff_blueprint(NAME)
portal = portal_blueprint(NAME, static_folder="static", static_url_path="/static")
public = public_blueprint(NAME, csrf_protect=False)


def _staff_actor() -> service.Actor:
    principal = current_principal()
    user = principal.user if principal else None
    key = principal.api_key if principal else None
    name = (user.name or user.email) if user else (f"API key {key.name}" if key else "staff")
    return service.Actor("staff", str(name), principal.user_id if principal else None, request.remote_addr,
                         request.headers.get("User-Agent"))


def _back(claim_id: int) -> Any:
    return redirect(f"/console/claims/{claim_id}#panel-{NAME}", code=303)


def _form_page(claim: Any, status: int, **extra: Any) -> Any:
    return render_template("bayline_quotes/form_error.html", shop=g.shop, claim=claim, **extra), status


def _require_payments() -> None:
    if not is_feature_active(g.shop, PAYMENTS):
        raise Refused(403, "feature_not_in_plan", "Payments are not part of this shop's plan.")


@staff.post("/claims/<int:claim_id>/import")
@require("quotes.import")
def import_file(claim_id: int) -> Any:
    """The claim panel's upload form."""
    claim = service.get_claim(claim_id)
    upload = request.files.get("file")
    fmt = request.form.get("format") or None
    if upload is None or not upload.filename:
        return _form_page(claim, 422, error="Choose the estimate file to import.", errors=[], fmt=fmt)
    data = upload.read(MAX_BYTES + 1)
    try:
        est = parse(data, fmt, upload.filename)
        service.store_import(est, claim.id, current_principal().user_id)
    except ImportRejected as exc:
        get_session().rollback()
        return _form_page(claim, 422, error=exc.message, errors=exc.errors, fmt=fmt)
    return _back(claim_id)


@staff.post("/claims/<int:claim_id>/payments")
@require("payments.record")
def record_payment(claim_id: int) -> Any:
    _require_payments()
    claim = service.get_claim(claim_id)
    form = request.form
    try:
        service.record_payment(claim, kind=form.get("kind", "payment"), payer=form.get("payer", ""),
                               method=form.get("method", ""), amount=form.get("amount", ""),
                               reference=form.get("reference"), user_id=current_principal().user_id)
    except Refused as exc:
        get_session().rollback()
        if wants_json():
            raise
        fields = (exc.errors or {}).get("json", {})
        return _form_page(claim, exc.status, error=exc.message, errors=[f"{k}: {', '.join(v)}"
                                                                         for k, v in fields.items()],
                          payment=form.to_dict(), payers=service.PAYMENT_PAYERS, methods=service.PAYMENT_METHODS)
    commit()
    return _back(claim.id)


def _pdf(version: Any, customer_view: bool) -> Any:
    from flask import Response

    from .pdf import estimate_pdf

    claim = service.get_claim(version.claim_id)
    data = estimate_pdf(version, g.shop.name, claim.number, customer_view=customer_view)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="estimate-{claim.number}-{version.number}.pdf"',
        "Cache-Control": "private, no-store"})


@staff.get("/versions/<int:version_id>/estimate.pdf")
@require("claims.read")
def estimate_pdf(version_id: int) -> Any:
    return _pdf(service.get_version(version_id), customer_view=False)


@staff.post("/versions/<int:version_id>/reverse")
@require("quotes.reverse")
def reverse(version_id: int) -> Any:
    version = service.get_version(version_id)
    ids = [int(i) for i in request.form.getlist("line_ids") if i.isdigit()]
    service.reverse(version, ids, request.form.get("reason"), _staff_actor())
    commit()
    return _back(version.claim_id)


@staff.post("/versions/<int:version_id>/withdraw")
@require("quotes.import")
def withdraw(version_id: int) -> Any:
    version = service.get_version(version_id)
    service.withdraw(version, request.form.get("reason"))
    commit()
    return _back(version.claim_id)


# -- customer portal ------------------------------------------------------------------------


def _customer_actor() -> service.Actor:
    claim = current_portal_claim()
    name = f"{claim.customer_first_name} {claim.customer_last_name}".strip() or "customer"
    return service.Actor("customer", name, None, request.remote_addr, request.headers.get("User-Agent"))


def _version_page(version: Any, status: int = 200, **extra: Any) -> Any:
    pol = service.policy()
    lines = service.customer_lines(version)
    body = dict(version=version, lines=lines, totals=service.totals(version, pol),
                scope=service.totals(version, pol, scope=True),
                diff=service.diff(version, pol, visible_only=True), pol=pol, reasons=service.DECLINE_REASONS,
                history=service.decisions_for(version.id), shop=g.shop, back="/c/s/", **extra)
    return render_template("bayline_quotes/portal_version.html", **body), status


@portal.get("/")
def portal_index() -> Any:
    claim = current_portal_claim()
    current = service.current_versions(claim.id)
    if wants_json():
        return {"versions": [_portal_json(v) for v in current]}
    if len(current) == 1:
        return redirect(url_for("plugin_quotes_portal.version", version_id=current[0].id))
    return render_template("bayline_quotes/portal_index.html", versions=current, shop=g.shop, back="/c/s/")


def _portal_json(version: Any) -> dict[str, Any]:
    pol = service.policy()
    scope = service.totals(version, pol, scope=True)
    d = service.diff(version, pol, visible_only=True)
    return {"id": version.id, "label": version.label, "status": version.status, "approval": version.approval,
            "your_amount": str(scope.payers["customer"]), "total": str(scope.gross),
            "summary": d.summary if d else None,
            "signature": {"status": version.signature_status, "url": version.signature_url}
            if version.signature_status else None,
            "lines": [{"id": ln.id, "description": ln.description, "decision": ln.decision,
                       "amount": str(scope.lines[ln.id].gross) if ln.id in scope.lines else None}
                      for ln in service.customer_lines(version)]}


@portal.get("/versions/<int:version_id>")
def version(version_id: int) -> Any:
    claim = current_portal_claim()
    v = service.get_version(version_id, claim.id)
    if wants_json():
        return _portal_json(v)
    return _version_page(v)


@portal.get("/versions/<int:version_id>/estimate.pdf")
def portal_pdf(version_id: int) -> Any:
    return _pdf(service.get_version(version_id, current_portal_claim().id), customer_view=True)


@portal.post("/versions/<int:version_id>/decide")
@rate_limit("30/minute", methods=["POST"])
def decide(version_id: int) -> Any:
    claim = current_portal_claim()
    v = service.get_version(version_id, claim.id)
    form = request.form
    approve = [int(i) for i in form.getlist("lines") if i.isdigit()]
    try:
        service.decide(v, action=form.get("action", ""), approve=approve, reason=form.get("reason") or None,
                       reason_text=form.get("reason_text"), actor=_customer_actor())
    except Refused as exc:
        get_session().rollback()
        if wants_json():
            raise
        v = service.get_version(version_id, claim.id)
        return _version_page(v, exc.status, error=exc.message, form=form)
    commit()
    if wants_json():
        return _portal_json(v)
    return redirect(url_for("plugin_quotes_portal.version", version_id=v.id), code=303)


@portal.post("/pay")
@rate_limit("10/minute", methods=["POST"])
def pay() -> Any:
    """Start paying the customer's balance with the provider; the browser goes to its page."""
    claim = current_portal_claim()
    if not (is_feature_active(g.shop, PAYMENTS) and shop_settings(NAME).get_bool("online_payment")):
        raise Refused(404, "not_found", "Online payment is not available.")
    prov = payments.provider(shop_settings(NAME).get_str("payment_provider") or "stripe")
    if prov is None or not prov.configured():
        raise Refused(503, "quotes_payments_unavailable", "Online payment is not available right now.")
    s = service.summary(claim.id)
    if s.balance <= 0:
        raise Refused(409, "quotes_nothing_to_pay", "There is nothing left for you to pay.")
    start = prov.start_checkout(amount=s.balance, currency=s.currency, claim_id=claim.id, shop_id=g.shop.id,
                                description=f"{g.shop.name}: repair {claim.number}, your part",
                                # the shop's customer host: the customer's portal session lives there
                                success_url=public_url("/c/s/quotes/paid", g.shop),
                                cancel_url=public_url("/c/s/", g.shop))
    get_session().add(QuoteCheckout(claim_id=claim.id, provider=prov.name, session_ref=start.ref, amount=s.balance,
                                    currency=s.currency, tenant_id=claim.tenant_id))
    commit()
    if wants_json():
        return {"url": start.url, "ref": start.ref}
    # A page with a link, not a redirect: the portal's CSP (form-action 'self') stops a form's
    # redirect to another origin, and a link the customer taps is what they expect anyway.
    return render_template("bayline_quotes/portal_checkout.html", shop=g.shop, back="/c/s/", url=start.url,
                           amount=service.policy().format(s.balance))


@portal.get("/paid")
def paid() -> Any:
    claim = current_portal_claim()
    return render_template("bayline_quotes/portal_paid.html", shop=g.shop, back="/c/s/",
                           summary=service.summary(claim.id), pol=service.policy())


# -- provider webhook -------------------------------------------------------------------------


@public.post("/webhooks/<provider_name>")
@rate_limit("120/minute", methods=["POST"])
def provider_webhook(provider_name: str) -> Any:
    """A payment provider's webhook, routed by the provider's name (``/webhooks/stripe``): the
    provider verifies the signature (Stripe: the library's check on ``checkout.session.completed``),
    then the payment is recorded once (the session id is the idempotency key) for the session's shop,
    if the payments feature is active there."""
    prov = payments.provider(provider_name)
    if prov is None:
        raise Refused(404, "not_found", "No such payment provider.")
    if not prov.configured():
        raise Refused(503, "quotes_payments_unavailable", "Online payment is not configured.")
    notice = prov.parse_webhook(request.get_data(), request.headers)
    if notice is None:
        return {"status": "ignored"}
    db = get_session()
    with unscoped(db):
        row = db.scalars(select(QuoteCheckout).where(QuoteCheckout.provider == prov.name,
                                                     QuoteCheckout.session_ref == notice.ref)).first()
        shop_id = row.tenant_id if row is not None else None
    if shop_id is None:
        return {"status": "unknown_session"}, 200
    with for_shop(shop_id) as shop:
        checkout = service.checkout_for(notice.ref, prov.name)
        if checkout is None or checkout.status == "paid":
            return {"status": "duplicate"}
        if not is_feature_active(shop, PAYMENTS):
            return {"status": "ignored"}
        claim = service.get_claim(checkout.claim_id)
        checkout.status, checkout.paid_at = "paid", utcnow()
        service.record_payment(claim, kind="payment", payer="customer", method="card", amount=notice.amount,
                               reference=notice.payment_ref, user_id=None, provider=prov.name,
                               provider_ref=notice.ref)
        commit()
    return {"status": "recorded"}
