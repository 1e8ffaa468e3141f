"""The CSI survey, review invitations and service recovery (one place for each rule).

Survey: scheduled on ``claim.delivered`` a shop-set delay later, as a ``transactional`` outbox row
(held until due; consent and quiet hours are the messaging core's). Review invitation: one body for
every customer — respondents (rule ``responded``) and non-respondents once the survey window closed
(rule ``window_closed``) — sent as a ``marketing`` message only where marketing consent exists, else
shown on the portal only; the choice never reads a score. A score at or below the shop's threshold
opens a follow-up task."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import (
    Claim,
    Message,
    Refused,
    commit,
    get_session,
    message_templates,
    outbox,
    prefetched,
    prepare,
    public_url,
    shop_settings,
    unscoped,
    utcnow,
)

from .models import CsiFollowUp, CsiInvitation, CsiLink, CsiResponse, CsiSupplement, CsiSurvey

NAME = "csi"
OVERALL = "Overall, how satisfied are you with your repair?"
NPS = "How likely are you to recommend us to a friend or colleague?"
BUILT_IN = {"communication": "How well did we keep you informed?",
            "quality": "How happy are you with the quality of the repair?",
            "on_time": "Was your vehicle ready when we said it would be?",
            "cleanliness": "How clean was your vehicle when you picked it up?"}
DEFAULT_QUESTIONS = "\n".join(BUILT_IN)  # the same as bayline_csi.DEFAULT_QUESTIONS
"""The default question set: the four built-in questions (``csi.questions``)."""
MAX_QUESTIONS = 6
MAX_QUESTION_CHARS = 150
QUESTIONS = (("overall", OVERALL), *BUILT_IN.items())
"""The default set with the 1–5 overall question (the shop's own set: :func:`questions`)."""


def parse_questions(text: str) -> list[tuple[str, str]]:
    """``csi.questions``, one per line: a built-in key (``communication``, ``quality``, ``on_time``,
    ``cleanliness``) asks that question; any other line is the shop's own 1–5 question (form field
    ``q1``, ``q2``, ... by position). Raises ValueError for too many, too long or repeated lines."""
    lines = [ln.strip() for ln in str(text or "").splitlines() if ln.strip()]
    if len(lines) > MAX_QUESTIONS:
        raise ValueError(f"at most {MAX_QUESTIONS} questions besides the overall one")
    long = [ln for ln in lines if len(ln) > MAX_QUESTION_CHARS]
    if long:
        raise ValueError(f"a question is at most {MAX_QUESTION_CHARS} characters")
    if len({ln.lower() for ln in lines}) != len(lines):
        raise ValueError("a question is listed twice")
    out, own = [], 0
    for line in lines:
        if line in BUILT_IN:
            out.append((line, BUILT_IN[line]))
        else:
            own += 1
            out.append((f"q{own}", line))
    return out


def questions() -> list[tuple[str, str]]:
    """The shop's survey: the overall question (1–5, or NPS 0–10), then its question set."""
    first = NPS if _settings().get_str("overall_scale") == "nps" else OVERALL
    return [("overall", first), *parse_questions(_settings().get_str("questions"))]


def answers_of(response: CsiResponse) -> list[tuple[str, int, int]]:
    """(question, score, top score) of a response, as asked."""
    top = 10 if response.scale == "nps" else 5
    out = [(NPS if top == 10 else OVERALL, response.overall, top)]
    out += [(BUILT_IN[k], getattr(response, k), 5) for k in BUILT_IN if getattr(response, k) is not None]
    out += [(q, int(v), 5) for q, v in (response.extra or {}).items()]
    return out
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
    bundle.want(SURVEYS, _surveys(claim_id))
    bundle.want(RESPONSES, _responses_of_claim(claim_id))
    bundle.want(INVITATIONS, _invitations(claim_id))
    if staff:
        bundle.want(FOLLOWUPS, _followups(claim_id))


@prepare
def _surveys(claim_id: int) -> Any:
    return select(CsiSurvey).where(CsiSurvey.claim_id == claim_id)


@prepare
def _responses_of_claim(claim_id: int) -> Any:
    return select(CsiResponse).where(CsiResponse.claim_id == claim_id)


@prepare
def _responses_of_survey(survey_id: int) -> Any:
    return select(CsiResponse).where(CsiResponse.survey_id == survey_id)


@prepare
def _invitations(claim_id: int) -> Any:
    return select(CsiInvitation).where(CsiInvitation.claim_id == claim_id)


@prepare
def _followups(claim_id: int) -> Any:
    return select(CsiFollowUp).where(CsiFollowUp.claim_id == claim_id)


def _first(key: str, stmt: Any, **match: Any) -> Any:
    """The first row of ``stmt`` matching ``match``: from the page's bundle when declared."""
    rows = [r for r in prefetched(key, stmt) if all(getattr(r, k) == v for k, v in match.items())]
    return rows[0] if rows else None


def survey_for_claim(claim_id: int) -> CsiSurvey | None:
    return _first(SURVEYS, _surveys(claim_id), claim_id=claim_id)


def response_for(survey_id: int) -> CsiResponse | None:
    return _first(RESPONSES, _responses_of_survey(survey_id), survey_id=survey_id)


def invitation_for(claim_id: int) -> CsiInvitation | None:
    return _first(INVITATIONS, _invitations(claim_id), claim_id=claim_id)


def followup_for(claim_id: int) -> CsiFollowUp | None:
    return _first(FOLLOWUPS, _followups(claim_id), claim_id=claim_id)


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
        body, taps = survey_body(claim, shop)
        try:
            item, _ = outbox.enqueue(channel=target[0], purpose="transactional", recipient=target[1], body=body,
                                     idempotency_key=f"csi-survey:{claim.id}", claim=claim, kind="automatic",
                                     due_at=due, subject=f"How did we do? {shop.name}", link_fields=taps)
            survey.outbox_item_id = item.id
            _schedule_reminders(claim, shop, survey, target, body, taps)
        except Refused as refused:
            survey.send_error = f"{refused.code}: {refused}"[:300]
    commit(session)
    return survey


MAX_REMINDERS = 2
TAP_PREFIX = "csi_tap_"
TOKEN_BYTES = 16  # 128 bits from ``secrets``; only the SHA-256 is stored


def overall_scale() -> range:
    """The overall question's scores: 1–5, or 0–10 for NPS (``csi.overall_scale``)."""
    return range(0, 11) if _settings().get_str("overall_scale") == "nps" else range(1, 6)


def survey_body(claim: Claim, shop: Any) -> tuple[str, list[str]]:
    """The survey text (``csi.survey_message``) and, with ``csi.tap_links`` on, one link per score of
    the overall question (one tap opens the survey with that score filled). The links are
    placeholders ``{csi_tap_N}``, filled only when the message leaves (hook ``link_fields``), each
    message with a fresh one-use link; the portal link stays in the text as the way back."""
    body = message_templates.fill(_settings().get_str("survey_message"), claim, shop)
    if not _settings().get_bool("tap_links"):
        return body, []
    scale = overall_scale()
    taps = [f"{TAP_PREFIX}{n}" for n in scale]
    best = "10 = very likely to recommend us" if len(scale) == 11 else "5 = very happy"
    lines = [f"Reply with a score, or tap one ({best}):"] + [f"{n} {{{TAP_PREFIX}{n}}}" for n in scale]
    return body + "\n" + "\n".join(lines), taps


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def mint_links(item: Any, claim: Claim, names: list[str]) -> dict[str, str] | None:
    """Hook ``link_fields``: one new one-use link for this send of the survey message, expiring after
    ``csi.link_days`` (never after the survey closes); one URL per score placeholder."""
    survey = survey_for_claim(claim.id)
    if survey is None:
        return None
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    expires = min(now + timedelta(days=max(_settings().get_int("link_days"), 1)), survey.closes_at)
    get_session().add(CsiLink(survey_id=survey.id, claim_id=claim.id, token_hash=_hash(raw),
                              outbox_item_id=getattr(item, "id", None), expires_at=expires))
    urls = {}
    for name in names:
        score = name[len(TAP_PREFIX):]
        if score.isdigit():
            urls[name] = public_url(f"/plugins/csi/t/{raw}?overall={int(score)}")
    return urls


def find_link(raw: str) -> CsiLink | None:
    """The link a customer opened (any shop: the token names it), or None."""
    if not raw or len(raw) > 100:
        return None
    session = get_session()
    with unscoped(session):
        return session.scalar(select(CsiLink).where(CsiLink.token_hash == _hash(raw)))


def link_problem(link: CsiLink, survey: CsiSurvey | None, now: datetime | None = None) -> tuple[str, str, int] | None:
    """Why a link no longer opens the survey (title, text, status), or None. The survey itself is
    never lost: the portal link the customer has opens it for as long as it is open."""
    now = now or utcnow()
    back = " Your survey is on your repair page too: open the link to it from our earlier message."
    if survey is None:
        return "This link does not work", "We could not find this survey." + back, 404
    if link.used_at is not None:
        return ("This link was already used", "Thank you, your answers are saved. A survey link works once; to "
                "change your answers, open your repair page from our earlier message.", 410)
    if now >= link.expires_at:
        return "This link has expired", "This survey link has expired." + back, 410
    if now >= survey.closes_at and response_for(survey.id) is None:
        return "This survey has closed", "This survey has closed. Thank you all the same.", 410
    return None


def _reminder_key(claim_id: int, n: int) -> str:
    return f"csi-reminder:{claim_id}:{n}"


def _schedule_reminders(claim: Claim, shop: Any, survey: CsiSurvey, target: tuple[str, str], body: str,
                        taps: list[str]) -> None:
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
                       kind="automatic", due_at=when, subject=f"How did we do? {shop.name}", link_fields=taps)


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


def _score(name: str, raw: Any, required: bool, errors: dict[str, list[str]], scale: range = range(1, 6)
           ) -> int | None:
    message = f"Choose a score from {scale[0]} to {scale[-1]}."
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errors[name] = [message]
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value not in scale:
        errors[name] = [message]
        return None
    return value


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Validate answers to the shop's questions: ``overall`` required (1–5, or 0–10 for NPS), the
    others 1–5 or empty, a comment ≤ 2000 characters. Raises ``Refused(422, "csi_invalid_answer")``
    with ``errors`` per field."""
    errors: dict[str, list[str]] = {}
    scale = overall_scale()
    out: dict[str, Any] = {"overall": _score("overall", data.get("overall"), True, errors, scale),
                           "scale": "nps" if len(scale) == 11 else "five", "extra": None}
    out |= {name: None for name in BUILT_IN}
    extra: dict[str, int] = {}
    for key, text in questions()[1:]:
        value = _score(key, data.get(key), False, errors)
        if key in BUILT_IN:
            out[key] = value
        elif value is not None:
            extra[text] = value
    out["extra"] = extra or None
    comment = str(data.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"At most {MAX_COMMENT} characters."]
    out["comment"] = comment or None
    if errors:
        raise Refused(422, "csi_invalid_answer", "Some answers need a look.", errors=errors)
    return out


def low_score(response: CsiResponse) -> bool:
    """Whether the overall score opens a follow-up: at or below ``csi.followup_threshold`` (1–5), or
    ``csi.nps_followup_threshold`` (0–10, default 6: a detractor) for NPS."""
    key = "nps_followup_threshold" if response.scale == "nps" else "followup_threshold"
    return response.overall <= _settings().get_int(key)


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
    if low_score(existing) and followup_for(claim.id) is None:
        session.add(CsiFollowUp(claim_id=claim.id, response_id=existing.id, owner_user_id=claim.estimator_id,
                                due_at=now + timedelta(hours=_settings().get_int("followup_sla_hours")),
                                status="open"))
    commit(session)
    cancel_reminders(claim.id)
    invite(claim, shop, "responded")
    return existing


def review_links(shop: Any) -> list[tuple[str, str]]:
    """The location's review links (Google by Place ID, Facebook). Never Yelp: Yelp forbids asking."""
    s = shop_settings(NAME, shop) if shop is not None else _settings()
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


def record_supplement(claim_id: int, version_number: int) -> None:
    """A supplement the quotes plugin imported (event ``quote.imported``), once per version."""
    session = get_session()
    found = session.scalar(select(CsiSupplement).where(CsiSupplement.claim_id == claim_id,
                                                       CsiSupplement.version_number == version_number))
    if found is None and session.get(Claim, claim_id) is not None:
        session.add(CsiSupplement(claim_id=claim_id, version_number=version_number))
        commit(session)


def _survey_message_ids(survey: CsiSurvey) -> set[int]:
    items = [outbox.get(survey.outbox_item_id) if survey.outbox_item_id else None]
    items += [outbox.find(_reminder_key(survey.claim_id, n)) for n in range(1, MAX_REMINDERS + 1)]
    return {i.message_id for i in items if i is not None and i.message_id is not None}


def reply_score(claim: Claim, shop: Any, body: str | None) -> CsiResponse | None:
    """"Reply with a score": a text that is only a score on the overall scale, from a customer whose
    open, unanswered survey went by SMS and was the last text sent to them (so a "5" answering
    another message is never taken as a score), answers the overall question. Anything else is an
    ordinary message for the shop's inbox, and nothing is recorded."""
    text = (body or "").strip().rstrip(".!")
    if not text.isdigit() or len(text) > 2:
        return None
    survey = survey_for_claim(claim.id)
    if survey is None or survey.channel != "sms" or not is_open(survey) or response_for(survey.id) is not None:
        return None
    last = get_session().scalar(
        select(Message.id).where(Message.claim_id == claim.id, Message.direction == "out", Message.channel == "sms",
                                 Message.delivery_state.in_(("sent", "delivered")))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    if last is None or last not in _survey_message_ids(survey) or int(text) not in overall_scale():
        return None
    try:
        return answer(survey, claim, shop, {"overall": text})
    except Refused:
        get_session().rollback()
        return None
