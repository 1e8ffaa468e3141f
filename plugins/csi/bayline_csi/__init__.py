"""Bayline CSI: the post-repair survey sent through the messaging core a shop-set delay after
delivery, review invitations that are never gated on a score, and service recovery for low scores.

One name everywhere: distribution ``bayline-csi`` · package ``bayline_csi`` · entry point ``csi`` ·
features ``csi`` (survey, follow-ups) and ``reviews`` (the invitations) · blueprints ``plugin_csi``
(``/plugins/csi``), ``plugin_csi_portal`` (``/c/s/csi``), ``plugin_csi_api`` (``/api/v1/plugins/csi``)
· Alembic branch ``csi`` · tables ``csi_*`` · settings ``csi.*``.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    Event,
    Feature,
    LandingLink,
    MenuItem,
    Message,
    Permission,
    PortalSection,
    SettingDef,
    Shop,
    ShopArchiveRules,
    User,
    Viewer,
    get_session,
    hookimpl,
    is_feature_active,
    message_templates,
)

from . import models  # noqa: F401  (register the tables on the shared metadata)

__version__ = "0.1.0"
NAME = "csi"
REVIEWS = "reviews"
_PAID = ("starter", "professional", "elite", "enterprise")
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")
DEFAULT_QUESTIONS = "communication\nquality\non_time\ncleanliness"
DEFAULT_MESSAGE = ("Thanks for choosing {shop_name}! How did we do on your {vehicle}? Two minutes, five "
                   "questions: {portal_link}")


def _positive(value: Any) -> Any:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise ValueError("a whole number") from None
    if n < 0:
        raise ValueError("zero or more")
    return n


def _at_least_one(value: Any) -> Any:
    n = _positive(value)
    if n < 1:
        raise ValueError("at least 1")
    return n


def _nps_threshold(value: Any) -> Any:
    n = _positive(value)
    if n > 10:
        raise ValueError("a score from 0 to 10")
    return n


def _questions(value: Any) -> Any:
    from .service import parse_questions

    parse_questions(str(value))
    return str(value)


def _reminders(value: Any) -> Any:
    n = _positive(value)
    if n > 2:
        raise ValueError("at most 2 reminders")
    return n


def _threshold(value: Any) -> Any:
    n = _positive(value)
    if not 1 <= n <= 5:
        raise ValueError("a score from 1 to 5")
    return n


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "Customer satisfaction", "Post-repair survey, results and follow-up on low scores",
                    default_tiers=_PAID),
            Feature(REVIEWS, "Review invitations", "The same review invitation for every customer, never gated "
                    "on a score", default_tiers=_PAID)]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("csi.view", _OFFICE, ("read",), "See survey results and follow-ups"),
            Permission("csi.followup", ("owner", "admin", "advisor"), ("write",), "Work follow-up tasks")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    return [
        SettingDef("csi.delay_hours", "Hours after delivery to send the survey", "int", 48, validate=_positive,
                   feature=NAME),
        SettingDef("csi.window_days", "Days the survey stays open", "int", 14, validate=_positive, feature=NAME),
        SettingDef("csi.edit_hours", "Hours a customer can change their answers", "int", 24, validate=_positive,
                   feature=NAME),
        SettingDef("csi.reminders", "Reminders to customers who have not answered (at most 2)", "int", 1,
                   validate=_reminders, feature=NAME),
        SettingDef("csi.reminder_days", "Days between reminders", "int", 3, validate=_positive, feature=NAME),
        SettingDef("csi.followup_threshold", "Open a follow-up for an overall score at or below", "int", 2,
                   validate=_threshold, feature=NAME),
        SettingDef("csi.overall_scale", "Overall question", "choice", "five", ("five", "nps"), feature=NAME,
                   choice_labels=("Satisfaction, 1 to 5", "Net Promoter Score: likely to recommend us, 0 to 10")),
        SettingDef("csi.questions", "Questions after the overall one (one a line)", "text", DEFAULT_QUESTIONS,
                   validate=_questions, feature=NAME,
                   help="communication, quality, on_time or cleanliness ask the built-in question; any other "
                        "line is your own 1 to 5 question (at most 6)."),
        SettingDef("csi.nps_followup_threshold", "With NPS, open a follow-up for a score at or below", "int", 6,
                   validate=_nps_threshold, feature=NAME),
        SettingDef("csi.followup_sla_hours", "Hours to follow up a low score", "int", 24, validate=_positive,
                   feature=NAME),
        SettingDef("csi.survey_message", "Survey message", "text", DEFAULT_MESSAGE, feature=NAME,
                   validate=message_templates.validate, message_template=True),
        SettingDef("csi.tap_links", "Put the score links in the survey message (one tap starts the survey)", "bool",
                   True, feature=NAME, help="Each message gets its own one-use link, filled in when it is sent."),
        SettingDef("csi.link_days", "Days a survey link in a message works (never past the survey window)", "int",
                   7, validate=_at_least_one, feature=NAME),
        SettingDef("csi.google_place_id", "Google Place ID (review link)", "str", "", feature=REVIEWS),
        SettingDef("csi.facebook_review_url", "Facebook review page", "str", "", feature=REVIEWS,
                   help="No Yelp: Yelp forbids asking customers for reviews."),
    ]


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import portal, staff

    return [staff, portal, api]


@hookimpl
def register_public_blueprints(app: Flask) -> list[Any]:
    from .views import public

    return [public]


@hookimpl
def link_fields(outbox_item: Any, claim: Claim | None, names: list[str]) -> dict[str, str] | None:
    """The survey message's one-tap score links: a one-use link minted as the message leaves."""
    from . import service

    mine = [n for n in names if n.startswith(service.TAP_PREFIX)]
    if not mine or claim is None:
        return None
    return service.mint_links(outbox_item, claim, mine)


@hookimpl
def register_periodic_tasks(celery: Any) -> dict[str, dict[str, Any]]:
    from . import tasks  # noqa: F401  (register the task)

    return {"bayline_csi.invite_non_respondents": {"task": "bayline_csi.invite_non_respondents", "schedule": 3600.0},
            "bayline_csi.store_daily": {"task": "bayline_csi.store_daily", "schedule": 3600.0}}


@hookimpl
def on_event(event: Event) -> None:
    if event.type == "quote.imported":  # the quotes plugin's event (no import of that plugin)
        from . import service

        if int(event.payload.get("version_number") or 0) >= 1:
            service.record_supplement(int(event.payload["claim_id"]), int(event.payload["version_number"]))
        return
    if event.type == "message.received" and event.payload.get("channel") == "sms":
        from . import service

        session = get_session()
        message = session.get(Message, event.payload["message_id"])
        claim = session.get(Claim, event.payload["claim_id"])
        shop = session.get(Shop, event.tenant_id)
        if message is not None and claim is not None and shop is not None:
            service.reply_score(claim, shop, message.body)
        return
    if event.type == "claim.delivered":
        from . import service

        session = get_session()
        claim = session.get(Claim, event.payload["claim_id"])
        shop = session.get(Shop, event.tenant_id)
        if claim is not None and shop is not None:
            service.schedule(claim, shop)


@hookimpl
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    return [MenuItem("CSI", "/plugins/csi/", order=70)]


@hookimpl
def prefetch(claim: Claim, view: str, bundle: Any) -> None:
    from . import service

    service.want_claim_rows(claim.id, bundle, staff=view == "staff")


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    from . import service

    survey = service.survey_for_claim(claim.id)
    if survey is None:
        return []
    response = service.response_for(survey.id)
    html = render_template("bayline_csi/panel.html", survey=survey, response=response,
                           invitation=service.invitation_for(claim.id), task=service.followup_for(claim.id),
                           answers=service.answers_of(response) if response else [])
    return [ClaimPanel(NAME, "Customer satisfaction", html, order=60)]


@hookimpl
def portal_sections(claim: Claim, viewer: Viewer) -> list[PortalSection]:
    from . import service

    survey = service.survey_for_claim(claim.id)
    invitation = service.invitation_for(claim.id)
    if survey is None or (not service.is_open(survey) and invitation is None
                          and service.response_for(survey.id) is None):
        return []
    html = render_template("bayline_csi/portal_card.html", survey=survey, response=service.response_for(survey.id),
                           open=service.is_open(survey), invitation=invitation, scale=service.overall_scale(),
                           question=service.questions()[0][1],
                           links=service.review_links(g.shop) if invitation else [])
    return [PortalSection(NAME, "How did we do?", html, order=20)]


@hookimpl
def shop_archive_rules() -> ShopArchiveRules:
    """One-use survey links are not carried (a moved shop's old messages should not open anything),
    nor the stored daily scorecard (recomputed on demand); outbox row ids are remapped."""
    return ShopArchiveRules(skip_tables=("csi_links", "csi_daily"),
                            id_columns={"csi_surveys.outbox_item_id": "outbox_items",
                                        "csi_invitations.outbox_item_id": "outbox_items"})


@hookimpl
def landing_links(shop: Shop) -> list[LandingLink]:
    """The location's review links on its public landing page, only with ``reviews``: Google by Place
    ID, the Facebook review page. Never Yelp (Yelp forbids asking for reviews)."""
    from . import service

    if not reviews_on(shop):
        return []
    return [LandingLink(f"Review us on {label}", url, kind="review", order=50)
            for label, url in service.review_links(shop)]


def reviews_on(shop: Any) -> bool:
    return is_feature_active(shop, REVIEWS)
