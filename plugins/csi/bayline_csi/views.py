"""The customer's survey under ``/c/s/csi`` and the staff results under ``/plugins/csi``.

Refusals on the customer side are friendly pages (a score out of range re-renders the form with
the error and the typed answers kept; a closed survey, answers past the edit window, or another
claim's survey are pages that say so); staff forms redirect back or show the error."""
from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for

from bayline.plugin_api import (
    Claim,
    Refused,
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
    utcnow,
)

from . import NAME, service
from .models import CsiFollowUp, CsiSurvey

staff = staff_blueprint(NAME)
portal = portal_blueprint(NAME, static_folder="static", static_url_path="/static")
# The survey links in the message itself (/plugins/csi/t/<token>): no portal session, the signed
# one-use token names the survey; not plan-gated, so each view checks the shop's feature.
public = public_blueprint(NAME, static_folder="static", static_url_path="/public-static")
PORTAL_STATIC = "plugin_csi_portal.static"
PUBLIC_STATIC = "plugin_csi_public.static"


def _own_survey(survey_id: int) -> CsiSurvey:
    claim = current_portal_claim()
    survey = get_session().get(CsiSurvey, survey_id)
    if survey is None or survey.claim_id != claim.id:
        abort(404)
    return survey


def _form(survey: CsiSurvey, values: dict[str, Any], errors: dict[str, Any] | None = None,
          status: int = 200, *, action: str | None = None, back: str | None = "/c/s/",
          static: str = PORTAL_STATIC) -> Any:
    response = service.response_for(survey.id)
    return render_template("bayline_csi/portal_survey.html", shop=g.shop, survey=survey, values=values,
                           errors=errors or {}, questions=service.questions(), response=response,
                           scale=service.overall_scale(), open=service.is_open(survey), back=back,
                           static_endpoint=static,
                           action=action or url_for("plugin_csi_portal.submit", survey_id=survey.id)), status


def _answers() -> dict[str, Any]:
    return {k: request.form.get(k, "") for k, _ in service.questions()} | {"comment": request.form.get("comment", "")}


def _saved(survey: CsiSurvey) -> dict[str, Any]:
    existing = service.response_for(survey.id)
    if existing is None:
        return {}
    extra = existing.extra or {}
    values = {k: extra.get(text) if k.startswith("q") else getattr(existing, k) for k, text in service.questions()}
    return values | {"comment": existing.comment or ""}


@portal.get("/")
def index() -> Any:
    survey = service.survey_for_claim(current_portal_claim().id)
    if survey is None:
        abort(404)
    return redirect(url_for("plugin_csi_portal.survey", survey_id=survey.id, **request.args), code=303)


@portal.get("/surveys/<int:survey_id>")
def survey(survey_id: int) -> Any:
    row = _own_survey(survey_id)
    existing = service.response_for(row.id)
    values = _saved(row)
    if request.args.get("overall"):  # one tap: the score the customer chose on the card
        values["overall"] = request.args["overall"]
    if existing is None and utcnow() >= row.closes_at:
        return _page("This survey has closed", "This survey has closed. Thank you all the same.", 410)
    return _form(row, values)


def _page(title: str, text: str, status: int, back: str | None = "/c/s/") -> Any:
    return render_template("bayline_csi/portal_message.html", shop=g.get("shop"), title=title, text=text,
                           back=back), status


@portal.post("/surveys/<int:survey_id>")
def submit(survey_id: int) -> Any:
    row = _own_survey(survey_id)
    claim = current_portal_claim()
    values = _answers()
    try:
        service.answer(row, claim, g.shop, values)
    except Refused as refused:
        get_session().rollback()
        if refused.code == "csi_invalid_answer":
            return _form(row, values, refused.errors, 422)
        return _page("Thank you", refused.message, refused.status)
    return redirect(url_for("plugin_csi_portal.thanks", survey_id=row.id), code=303)


@portal.get("/surveys/<int:survey_id>/thanks")
def thanks(survey_id: int) -> Any:
    row = _own_survey(survey_id)
    invitation = service.invitation_for(row.claim_id)
    return render_template("bayline_csi/portal_thanks.html", shop=g.shop, survey=row,
                           response=service.response_for(row.id), invitation=invitation, static_endpoint=PORTAL_STATIC,
                           change=url_for("plugin_csi_portal.survey", survey_id=row.id),
                           links=service.review_links(g.shop) if invitation else [], back="/c/s/")


# -- the one-use links in the survey message ----------------------------------------------------

NO_LINK = ("This link does not work", "We could not find this survey link. Your survey is on your repair page: "
           "open the link to it from our earlier message.", 404)


@public.route("/t/<token>", methods=["GET", "POST"])
@rate_limit("30/minute")
def tap(token: str) -> Any:
    """One tap from the message: the survey with the tapped score filled (``?overall=N``). A POST
    answers and spends the link. A used, expired or unknown link, or a form posted for another
    survey, is a friendly page; nothing is stored or changed."""
    link = service.find_link(token)
    if link is None:
        return _page(*NO_LINK, back=None)
    with for_shop(link.tenant_id) as shop:
        if not is_feature_active(shop, NAME):
            return _page(*NO_LINK, back=None)
        session = get_session()
        survey = session.get(CsiSurvey, link.survey_id)
        problem = service.link_problem(link, survey)
        if problem is not None or survey is None:
            return _page(*(problem or NO_LINK), back=None)
        action = url_for("plugin_csi_public.tap", token=token)
        if request.method == "GET":
            values = _saved(survey)
            if request.args.get("overall"):
                values["overall"] = request.args["overall"]
            return _form(survey, values, action=action, back=None, static=PUBLIC_STATIC)
        if request.form.get("survey_id") != str(survey.id):  # a form of another claim's survey
            return _page("This link does not work", "This link is for another survey; nothing was saved. "
                         "Open your own survey from your repair page.", 404, back=None)
        values = _answers()
        claim = session.get(Claim, survey.claim_id)
        try:
            link.used_at = utcnow()
            service.answer(survey, claim, shop, values)
        except Refused as refused:
            session.rollback()
            if refused.code == "csi_invalid_answer":
                return _form(survey, values, refused.errors, 422, action=action, back=None, static=PUBLIC_STATIC)
            return _page("Thank you", refused.message, refused.status, back=None)
        return redirect(url_for("plugin_csi_public.tapped", token=token), code=303)


@public.get("/t/<token>/thanks")
@rate_limit("30/minute")
def tapped(token: str) -> Any:
    """After answering through a link: thanks and the review invitation every customer gets."""
    link = service.find_link(token)
    if link is None or link.used_at is None:
        return _page(*NO_LINK, back=None)
    with for_shop(link.tenant_id) as shop:
        if not is_feature_active(shop, NAME):
            return _page(*NO_LINK, back=None)
        survey = get_session().get(CsiSurvey, link.survey_id)
        if survey is None:
            return _page(*NO_LINK, back=None)
        invitation = service.invitation_for(survey.claim_id)
        return render_template("bayline_csi/portal_thanks.html", shop=shop, survey=survey,
                               response=service.response_for(survey.id), invitation=invitation, change=None,
                               static_endpoint=PUBLIC_STATIC,
                               links=service.review_links(shop) if invitation else [], back=None)


# -- staff ------------------------------------------------------------------------------------


@staff.get("/")
@require("csi.view")
def results() -> Any:
    def _int(name: str) -> int | None:
        raw = request.args.get(name, "")
        return int(raw) if raw.isdigit() else None

    return render_template("bayline_csi/results.html", shop=g.shop, summary=service.summary(),
                           responses=service.responses(_int("min"), _int("max")),
                           followups=service.followups(request.args.get("status") or None), now=utcnow(),
                           args=request.args)


@staff.post("/sweep")
@require("csi.followup")
def sweep() -> Any:
    """On demand: invite the non-respondents whose window closed (the hourly task does the same)."""
    service.sweep(g.shop)
    return redirect(url_for("plugin_csi.results"), code=303)


@staff.post("/followups/<int:task_id>")
@require("csi.followup")
def followup(task_id: int) -> Any:
    task = get_session().get(CsiFollowUp, task_id)
    if task is None:
        abort(404)
    principal = current_principal()
    if principal is not None and task.owner_user_id is None:
        task.owner_user_id = principal.user_id
    service.update_followup(task, {"status": request.form.get("status"), "notes": request.form.get("notes"),
                                   "outcome": request.form.get("outcome")})
    return redirect(url_for("plugin_csi.results"), code=303)


def _period(args: Any = None) -> tuple[Any, Any, str | None]:
    from datetime import date, timedelta

    from .scorecard import MAX_DAYS

    args = request.args if args is None else args
    today = utcnow().date()
    try:
        start = date.fromisoformat(args.get("start") or (today - timedelta(days=27)).isoformat())
        end = date.fromisoformat(args.get("end") or today.isoformat())
    except ValueError:
        return today - timedelta(days=27), today, "Dates are YYYY-MM-DD; showing the last four weeks."
    if end < start or (end - start).days > MAX_DAYS:
        return today - timedelta(days=27), today, "Choose an end after the start, at most a year apart."
    return start, end, None


def _scorecard_page(start: Any, end: Any, error: str | None = None, status: int = 200,
                    typed: dict[str, str] | None = None) -> Any:
    from . import scorecard as sc

    per_day = sc.days(g.shop, start, end)
    card = sc.scorecard(g.shop, start, end, per_day)
    rows = [("All claims", card["totals"])] + [(f"Insurer: {f['name']}", f) for f in card["insurers"]] \
        + [(f"Estimator: {f['name']}", f) for f in card["estimators"]]
    stored = sc.stored_dates(start, end)
    nps = any(f["nps"] is not None for _, f in rows)
    key = "nps" if nps and card["totals"]["average_csi"] is None else "average_csi"  # an NPS-only shop
    return render_template("bayline_csi/scorecard.html", card=card, rows=rows, start=start, end=end, error=error,
                           stored=len(stored), days=(end - start).days + 1, typed=typed or {}, nps=nps,
                           chart=sc.chart(sc.trend(g.shop, start, end, per_day), key), chart_key=key,
                           quotes=card["totals"]["supplements"] is not None), status


@staff.get("/scorecard")
@require("csi.view")
def scorecard() -> Any:
    start, end, error = _period()
    return _scorecard_page(start, end, error, 422 if error else 200)


@staff.post("/scorecard/recompute")
@require("csi.followup")
def recompute() -> Any:
    """On demand: compute and store the daily scorecard of the chosen days (before today)."""
    from . import scorecard as sc

    start, end, error = _period(request.form)
    if error or not request.form.get("start") or not request.form.get("end"):
        typed = {"start": request.form.get("start", ""), "end": request.form.get("end", "")}
        return _scorecard_page(start, end, error or "Choose the first and the last day to recompute.", 422, typed)
    sc.store(g.shop, start, end)
    return redirect(url_for("plugin_csi.scorecard", start=start.isoformat(), end=end.isoformat()), code=303)


@staff.get("/scorecard/group")
@require("csi.view")
def group_scorecard() -> Any:
    """Group admins: the locations of the group side by side over the same period."""
    from bayline.plugin_api import group_locations

    from . import scorecard as sc

    start, end, error = _period()
    try:
        locations = group_locations()
    except Refused as refused:
        return render_template("bayline_csi/group.html", columns=[], start=start, end=end,
                               error=refused.message), refused.status
    return render_template("bayline_csi/group.html", columns=sc.side_by_side(locations, start, end), start=start,
                           end=end, error=error), 422 if error else 200


@staff.get("/scorecard.csv")
@require("csi.view")
def scorecard_csv() -> Any:
    import csv
    import io

    from flask import Response

    from . import scorecard as sc

    start, end, error = _period()
    if error:
        abort(422, error)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sc.CSV_COLUMNS)
    writer.writerows(sc.csv_rows(sc.scorecard(g.shop, start, end)))
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename=scorecard-{start}-{end}.csv"})
