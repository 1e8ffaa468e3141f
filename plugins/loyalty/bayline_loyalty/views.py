"""Staff console under ``/plugins/loyalty`` (programme report, customer search, a customer's points and
referrals with redemption, adjustment and offer forms; the claim panel's referral and payment forms)
and the public referral page ``/plugins/loyalty/r/<code>``.

Bad input re-renders the page with the message next to its field and everything typed kept."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Refused,
    Shop,
    current_portal_claim,
    current_principal,
    for_shop,
    get_session,
    is_feature_active,
    portal_blueprint,
    public_blueprint,
    rate_limit,
    require,
    staff_blueprint,
    unscoped,
    utcnow,
)

from . import NAME, REFERRALS, new_key, referral_url, service
from .models import LoyaltyMember, LoyaltyReferral

staff = staff_blueprint(NAME)
portal = portal_blueprint(NAME)
public = public_blueprint(NAME, static_folder="static", static_url_path="/static")

PRIVATE = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def parse_day(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    try:
        return datetime.fromisoformat(text).replace(tzinfo=default.tzinfo)
    except ValueError:
        raise Refused(422, "validation_error", "Dates are YYYY-MM-DD.",
                      errors={"query": {"since": ["YYYY-MM-DD"]}}) from None


def period() -> tuple[datetime, datetime]:
    now = utcnow()
    until = parse_day(request.args.get("until"), now)
    since = parse_day(request.args.get("since"), until - timedelta(days=30))
    if since >= until:
        raise Refused(422, "validation_error", "The start must be before the end.",
                      errors={"query": {"since": ["before until"]}})
    return since, until


@staff.get("/")
@require("loyalty.read")
def index() -> Any:
    since, until = period()
    q = (request.args.get("q") or "")[:100]
    return render_template("bayline_loyalty/index.html", shop=g.shop, report=service.report(since, until).as_dict(),
                           members=service.search_members(q), q=q, since=since, until=until)


def _member_page(member: LoyaltyMember, form: dict[str, Any] | None = None, errors: dict[str, Any] | None = None,
                 error: str | None = None, status: int = 200, which: str | None = None) -> Any:
    db = get_session()
    made = list(db.scalars(select(LoyaltyReferral).where(LoyaltyReferral.referrer_id == member.id)
                           .order_by(LoyaltyReferral.id.desc())))
    claims = {c.id: c for c in db.scalars(select(Claim).where(Claim.id.in_([r.claim_id for r in made])))}
    return render_template("bayline_loyalty/member.html", shop=g.shop, member=member,
                           ledger=service.entries(member), claims=service.member_claims(member),
                           referrals=[(r, claims.get(r.claim_id)) for r in made], link=referral_url(member),
                           value=service.point_value(), form=form or {}, errors=errors or {}, error=error,
                           which=which, can_adjust=current_principal().can("loyalty.adjust"),
                           referrals_on=REFERRALS in g.features, new_key=new_key()), status


@staff.get("/members/<int:member_id>")
@require("loyalty.read")
def member(member_id: int) -> Any:
    return _member_page(service.get_member(member_id), error=None)


def _field_errors(refused: Refused) -> dict[str, Any]:
    return dict((refused.errors or {}).get("json", {}))


@staff.post("/members/<int:member_id>/redeem")
@require("loyalty.redeem")
def redeem(member_id: int) -> Any:
    row = service.get_member(member_id)
    form = request.form.to_dict()
    try:
        service.redeem(row, form.get("points"), form.get("reason"), current_principal().user_id,
                       idempotency_key=form.get("idempotency_key"))
    except Refused as refused:
        get_session().rollback()
        return _member_page(service.get_member(member_id), form, _field_errors(refused), refused.message,
                            refused.status, "redeem")
    return redirect(url_for("plugin_loyalty.member", member_id=member_id), 303)


@staff.post("/members/<int:member_id>/adjust")
@require("loyalty.adjust")
def adjust(member_id: int) -> Any:
    row = service.get_member(member_id)
    form = request.form.to_dict()
    try:
        service.adjust(row, form.get("points"), form.get("reason"), current_principal().user_id,
                       idempotency_key=form.get("idempotency_key"))
    except Refused as refused:
        get_session().rollback()
        return _member_page(service.get_member(member_id), form, _field_errors(refused), refused.message,
                            refused.status, "adjust")
    return redirect(url_for("plugin_loyalty.member", member_id=member_id), 303)


@staff.post("/members/<int:member_id>/offer")
@require("loyalty.adjust")
def offer(member_id: int) -> Any:
    row = service.get_member(member_id)
    form = request.form.to_dict()
    try:
        item = service.send_offer(row, form.get("body"), current_principal().user_id,
                                  idempotency_key=form.get("idempotency_key"))
    except Refused as refused:
        get_session().rollback()
        return _member_page(service.get_member(member_id), form, {"body": [refused.message]}, refused.message,
                            refused.status, "offer")
    return _member_page(service.get_member(member_id), error=None, which=f"offer:{item.state}")


def _claim(claim_id: int) -> Claim:
    claim = get_session().get(Claim, claim_id)
    if claim is None:
        abort(404)
    return claim


def _panel_error(claim: Claim, refused: Refused, form: dict[str, Any]) -> Any:
    get_session().rollback()
    return render_template("bayline_loyalty/claim_form.html", shop=g.shop, claim=claim, form=form,
                           errors=_field_errors(refused), error=refused.message,
                           referrals=REFERRALS in g.features,
                           staff_entry=service.earn_from(g.shop) == "staff", new_key=new_key()), refused.status


@staff.post("/claims/<int:claim_id>/referral")
@require("loyalty.redeem")
def refer(claim_id: int) -> Any:
    claim = _claim(claim_id)
    if REFERRALS not in g.features:
        abort(404)
    form = request.form.to_dict()
    try:
        service.refer(claim, form.get("code"), current_principal().user_id)
    except Refused as refused:
        return _panel_error(claim, refused, form)
    return redirect(f"/console/claims/{claim.id}#panel-{NAME}", 303)


@staff.post("/claims/<int:claim_id>/payments")
@require("loyalty.redeem")
def payment(claim_id: int) -> Any:
    claim = _claim(claim_id)
    form = request.form.to_dict()
    try:
        service.staff_payment(claim, g.shop, form.get("kind") or "payment", form.get("amount"), form.get("note"),
                              current_principal().user_id, idempotency_key=form.get("idempotency_key"))
    except Refused as refused:
        return _panel_error(claim, refused, form)
    return redirect(f"/console/claims/{claim.id}#panel-{NAME}", 303)


# -- the referred customer gives the code themselves (their portal) ----------------------------------------


@portal.post("/referral")
@rate_limit("10/hour", methods=["POST"])
def portal_referral() -> Any:
    """The customer of a new repair enters the code of the friend who sent them (the referral page
    remembered it in this browser): the same checks as at the counter."""
    claim = current_portal_claim()
    if REFERRALS not in g.features:
        abort(404)
    code = (request.form.get("code") or "")[:20]
    try:
        service.refer(claim, code, None, source="portal")
    except Refused as refused:
        get_session().rollback()
        return render_template("bayline_loyalty/portal_referral.html", shop=g.shop, error=refused.message,
                               code=code), refused.status
    return redirect("/c/s/#loyalty-referred", 303)


# -- the public referral page ------------------------------------------------------------------------


@public.get("/r/<referral_code>")
@rate_limit("60/minute")
def referral_page(referral_code: str) -> Any:
    """What a shared referral link opens: the shop and the code to give at intake (never who referred)."""
    db = get_session()
    clean = "".join(c for c in referral_code.upper() if c.isalnum())[:12]
    with unscoped(db):
        member = db.scalars(select(LoyaltyMember).where(LoyaltyMember.referral_code == clean)).first()
        shop = db.get(Shop, member.tenant_id) if member is not None else None
    if member is None or shop is None or shop.archived_at is not None:
        return render_template("bayline_loyalty/referral_unknown.html"), 404, PRIVATE
    with for_shop(shop) as bound:
        if not is_feature_active(bound, REFERRALS):
            return render_template("bayline_loyalty/referral_unknown.html"), 404, PRIVATE
        return render_template("bayline_loyalty/referral.html", shop=bound, code=member.referral_code), 200, PRIVATE
