"""The CSI survey, review invitations and service recovery (one place for each rule).

Survey: scheduled on ``claim.delivered`` a shop-set delay later, as a ``transactional`` outbox row
(held until due; consent and quiet hours are the messaging core's). Review invitation: one body for
every customer — respondents (rule ``responded``) and non-respondents once the survey window closed
(rule ``window_closed``) — sent as a ``marketing`` message only where marketing consent exists, else
shown on the portal only; the choice never reads a score. A score at or below the shop's threshold
opens a follow-up task."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Refused,
    commit,
    get_session,
    message_templates,
    outbox,
    prefetched,
    shop_settings,
    utcnow,
)

from .models import CsiFollowUp, CsiInvitation, CsiResponse, CsiSurvey

NAME = "csi"
QUESTIONS = (("overall", "Overall, how satisfied are you with your repair?"),
             ("communication", "How well did we keep you informed?"),
             ("quality", "How happy are you with the quality of the repair?"),
             ("on_time", "Was your vehicle ready when we said it would be?"),
             ("cleanliness", "How clean was your vehicle when you picked it up?"))
OPTIONAL = tuple(k for k, _ in QUESTIONS[1:])
MAX_COMMENT = 2000
GOOGLE_REVIEW = "https://search.google.com/local/writereview?placeid={place_id}"


def _settings() -> Any:
    return shop_settings(NAME)


def _channel(claim: Claim) -> tuple[str, str] | None:
    if claim.customer_mobile:
        return "sms", claim.customer_mobile
    if claim.customer_email:
        return "email", claim.customer_email
    return None


SURVEYS, RESPONSES, INVITATIONS, FOLLOWUPS = "csi.surveys", "csi.responses", "csi.invitations", "csi.followups"


def want_claim_rows(claim_id: int, bundle: Any, *, staff: bool) -> None:
    """The page bundle's parts (hook prefetch): the claim's survey, response, invitation (and, for
    staff, follow-up), read with the page's other rows."""
    bundle.want(SURVEYS, select(CsiSurvey).where(CsiSurvey.claim_id == claim_id))
    bundle.want(RESPONSES, select(CsiResponse).where(CsiResponse.claim_id == claim_id))
    bundle.want(INVITATIONS, select(CsiInvitation).where(CsiInvitation.claim_id == claim_id))
    if staff:
        bundle.want(FOLLOWUPS, select(CsiFollowUp).where(CsiFollowUp.claim_id == claim_id))


def _first(key: str, stmt: Any, **match: Any) -> Any:
    """The first row of ``stmt`` matching ``match``: from the page's bundle when declared."""
    rows = [r for r in prefetched(key, stmt) if all(getattr(r, k) == v for k, v in match.items())]
    return rows[0] if rows else None


def survey_for_claim(claim_id: int) -> CsiSurvey | None:
    return _first(SURVEYS, select(CsiSurvey).where(CsiSurvey.claim_id == claim_id), claim_id=claim_id)


def response_for(survey_id: int) -> CsiResponse | None:
    return _first(RESPONSES, select(CsiResponse).where(CsiResponse.survey_id == survey_id), survey_id=survey_id)


def invitation_for(claim_id: int) -> CsiInvitation | None:
    return _first(INVITATIONS, select(CsiInvitation).where(CsiInvitation.claim_id == claim_id), claim_id=claim_id)


def followup_for(claim_id: int) -> CsiFollowUp | None:
    return _first(FOLLOWUPS, select(CsiFollowUp).where(CsiFollowUp.claim_id == claim_id), claim_id=claim_id)


def schedule(claim: Claim, shop: Any) -> CsiSurvey:
    """Create the claim's survey (once) and enqueue its message, due ``csi.delay_hours`` after delivery."""
    session = get_session()
    survey = survey_for_claim(claim.id)
    if survey is not None:
        return survey
    s = _settings()
    delivered = claim.delivered_at or utcnow()
    due = delivered + timedelta(hours=s.get_int("delay_hours"))
    survey = CsiSurvey(claim_id=claim.id, due_at=due, closes_at=due + timedelta(days=s.get_int("window_days")))
    session.add(survey)
    session.flush()
    target = _channel(claim)
    if target is None:
        survey.send_error = "no mobile number or email on the claim: shown on the customer page only"
    else:
        survey.channel = target[0]
        body = message_templates.fill(s.get_str("survey_message"), claim, shop)
        try:
            item, _ = outbox.enqueue(channel=target[0], purpose="transactional", recipient=target[1], body=body,
                                     idempotency_key=f"csi-survey:{claim.id}", claim=claim, kind="automatic",
                                     due_at=due, subject=f"How did we do? {shop.name}")
            survey.outbox_item_id = item.id
            _schedule_reminders(claim, shop, survey, target, body)
        except Refused as refused:
            survey.send_error = f"{refused.code}: {refused}"[:300]
    commit(session)
    return survey


MAX_REMINDERS = 2


def _reminder_key(claim_id: int, n: int) -> str:
    return f"csi-reminder:{claim_id}:{n}"


def _schedule_reminders(claim: Claim, shop: Any, survey: CsiSurvey, target: tuple[str, str], body: str) -> None:
    """At most ``csi.reminders`` (capped at 2) reminders, every ``csi.reminder_days`` while the survey is
    open, as held outbox rows; answering cancels those not yet sent."""
    s = _settings()
    count = min(max(s.get_int("reminders"), 0), MAX_REMINDERS)
    every = timedelta(days=max(s.get_int("reminder_days"), 1))
    for n in range(1, count + 1):
        when = survey.due_at + every * n
        if when >= survey.closes_at:
            break
        outbox.enqueue(channel=target[0], purpose="transactional", recipient=target[1],
                       body=f"Reminder: {body}", idempotency_key=_reminder_key(claim.id, n), claim=claim,
                       kind="automatic", due_at=when, subject=f"How did we do? {shop.name}")


def cancel_reminders(claim_id: int) -> int:
    n = 0
    for i in range(1, MAX_REMINDERS + 1):
        item = outbox.find(_reminder_key(claim_id, i))
        if item is not None and item.state in ("queued", "held"):
            outbox.cancel(item)
            n += 1
    return n


def is_open(survey: CsiSurvey, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return survey.due_at <= now < survey.closes_at


def _score(name: str, raw: Any, required: bool, errors: dict[str, list[str]]) -> int | None:
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errors[name] = ["Choose a score from 1 to 5."]
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        errors[name] = ["Choose a score from 1 to 5."]
        return None
    return value


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validate answers: ``overall`` 1–5 required, the other scores 1–5 or empty, a comment ≤ 2000
    characters. Raises ``Refused(422, "csi_invalid_answer")`` with ``errors`` per field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {"overall": _score("overall", data.get("overall"), True, errors)}
    for name in OPTIONAL:
        out[name] = _score(name, data.get(name), False, errors)
    comment = str(data.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"At most {MAX_COMMENT} characters."]
    out["comment"] = comment or None
    if errors:
        raise Refused(422, "csi_invalid_answer", "Some answers need a look.", errors=errors)
    return out


def answer(survey: CsiSurvey, claim: Claim, shop: Any, data: dict[str, Any]) -> CsiResponse:
    """Record (or, within the edit window, change) the claim's one response; then the follow-up for a
    low score and the review invitation (the same one for every score)."""
    session = get_session()
    now = utcnow()
    existing = response_for(survey.id)
    if existing is not None and now >= existing.editable_until:
        raise Refused(409, "csi_edit_window_over", "Thank you, your answers were already recorded and can no "
                                                    "longer be changed.")
    if existing is None and now >= survey.closes_at:
        raise Refused(410, "csi_survey_closed", "This survey has closed. Thank you all the same.")
    if now < survey.due_at and existing is None:
        raise Refused(409, "csi_survey_not_open", "This survey is not open yet.")
    values = clean(data)
    if existing is None:
        existing = CsiResponse(survey_id=survey.id, claim_id=claim.id, answered_at=now,
                               editable_until=now + timedelta(hours=_settings().get_int("edit_hours")))
        session.add(existing)
    for key, value in values.items():
        setattr(existing, key, value)
    existing.updated_at = now
    session.flush()
    if existing.overall <= _settings().get_int("followup_threshold") and followup_for(claim.id) is None:
        session.add(CsiFollowUp(claim_id=claim.id, response_id=existing.id, owner_user_id=claim.estimator_id,
                                due_at=now + timedelta(hours=_settings().get_int("followup_sla_hours")),
                                status="open"))
    commit(session)
    cancel_reminders(claim.id)
    invite(claim, shop, "responded")
    return existing


def review_links(shop: Any) -> list[tuple[str, str]]:
    """The location's review links (Google by Place ID, Facebook). Never Yelp: Yelp forbids asking."""
    s = _settings()
    links = []
    place = s.get_str("google_place_id").strip()
    if place:
        links.append(("Google", GOOGLE_REVIEW.format(place_id=place)))
    facebook = s.get_str("facebook_review_url").strip()
    if facebook:
        links.append(("Facebook", facebook))
    return links


def invitation_body(claim: Claim, shop: Any) -> str:
    """The one invitation text: it depends on the shop and its links, never on a score."""
    lines = [f"Thank you for trusting {shop.name} with your repair. If you have a minute, we would value "
             "an honest public review, good or bad:"]
    lines += [f"{label}: {url}" for label, url in review_links(shop)]
    lines.append("Your repair page: {portal_link}")
    return "\n".join(lines)


def invite(claim: Claim, shop: Any, rule: str) -> CsiInvitation | None:
    """Invite the claim's customer to review (once per claim), logging the ``rule`` that sent it.
    Marketing consent on the channel: sent; otherwise shown on the portal only, with the reason."""
    from bayline.plugin_api import is_feature_active

    session = get_session()
    if not is_feature_active(shop, "reviews") or not review_links(shop):
        return None
    found = invitation_for(claim.id)
    if found is not None:
        return found
    body = invitation_body(claim, shop)
    row = CsiInvitation(claim_id=claim.id, rule=rule, body=body, delivery="portal_only")
    target = _channel(claim)
    if target is None:
        row.reason = "no mobile number or email on the claim"
    else:
        row.channel = target[0]
        try:
            item, _ = outbox.enqueue(channel=target[0], purpose="marketing", recipient=target[1], body=body,
                                     idempotency_key=f"csi-invite:{claim.id}", claim=claim, kind="automatic",
                                     subject=f"Review {shop.name}")
            row.delivery, row.outbox_item_id = "sent", item.id
        except Refused as refused:
            row.reason = f"{refused.code}: {refused}"[:300]
    session.add(row)
    commit(session)
    return row


def sweep(shop: Any, now: datetime | None = None) -> int:
    """Invite every non-respondent whose survey window has closed (rule ``window_closed``)."""
    now = now or utcnow()
    session = get_session()
    rows = session.scalars(select(CsiSurvey).where(CsiSurvey.closes_at <= now)).all()
    n = 0
    for survey in rows:
        if response_for(survey.id) is None and invitation_for(survey.claim_id) is None:
            claim = session.get(Claim, survey.claim_id)
            if claim is not None and invite(claim, shop, "window_closed") is not None:
                n += 1
    return n


def update_followup(task: CsiFollowUp, data: dict[str, Any]) -> CsiFollowUp:
    status = str(data.get("status") or task.status)
    if status not in ("open", "resolved", "unresolved"):
        raise Refused(422, "validation_error", "Check the follow-up.",
                      errors={"status": ["open, resolved or unresolved"]})
    task.status = status
    if data.get("notes") is not None:
        task.notes = str(data["notes"])[:5000]
    if data.get("outcome") is not None:
        task.outcome = str(data["outcome"])[:300]
    task.closed_at = utcnow() if status != "open" else None
    commit(get_session())
    return task


def responses(min_score: int | None = None, max_score: int | None = None) -> list[CsiResponse]:
    stmt = select(CsiResponse).order_by(CsiResponse.answered_at.desc())
    if min_score is not None:
        stmt = stmt.where(CsiResponse.overall >= min_score)
    if max_score is not None:
        stmt = stmt.where(CsiResponse.overall <= max_score)
    return list(get_session().scalars(stmt))


def followups(status: str | None = None) -> list[CsiFollowUp]:
    stmt = select(CsiFollowUp).order_by(CsiFollowUp.due_at)
    if status:
        stmt = stmt.where(CsiFollowUp.status == status)
    return list(get_session().scalars(stmt))


def summary() -> dict[str, Any]:
    """Response rate, average overall score and recovery rate over the shop's surveys."""
    session = get_session()
    surveys = session.scalars(select(CsiSurvey)).all()
    answered = responses()
    tasks = followups()
    closed = [t for t in tasks if t.status != "open"]
    return {"surveys": len(surveys), "responses": len(answered),
            "response_rate": round(len(answered) / len(surveys), 4) if surveys else None,
            "average_overall": round(sum(r.overall for r in answered) / len(answered), 2) if answered else None,
            "followups": len(tasks), "recovered": sum(1 for t in tasks if t.status == "resolved"),
            "recovery_rate": round(sum(1 for t in closed if t.status == "resolved") / len(closed), 4)
            if closed else None}
