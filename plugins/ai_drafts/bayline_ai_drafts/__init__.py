"""Bayline AI drafts: replies and updates drafted in the shop's tone from the claim's facts,
grounded (a date, time, amount, phone number, link or reference the facts do not support blocks
one-click send until staff edit or confirm it), never auto-sent.

One name everywhere: distribution ``bayline-ai-drafts`` · package ``bayline_ai_drafts`` · entry
point ``ai_drafts`` · feature ``ai_drafts`` · blueprints ``plugin_ai_drafts`` (``/plugins/ai_drafts``)
and ``plugin_ai_drafts_api`` (``/api/v1/plugins/ai_drafts``) · Alembic branch ``ai_drafts`` · table
``ai_drafts_drafts`` · settings ``ai_drafts.*``. Providers (hook ``draft_provider``): ``template``
(default, offline) and ``openai_compatible``.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, g, render_template, request

from bayline.plugin_api import (
    Claim,
    ClaimPanel,
    ComposerExtension,
    Feature,
    MenuItem,
    Message,
    MessageAction,
    Permission,
    SettingDef,
    Shop,
    User,
    current_principal,
    hookimpl,
    message_templates,
)

from . import models  # noqa: F401  (register the table on the shared metadata)
from .facts import DEFAULT_EXTERNAL, FIELDS
from .providers import PROVIDERS, check_base_url

__version__ = "0.1.0"
NAME = "ai_drafts"
_PAID = ("professional", "elite", "enterprise")
_OFFICE = ("owner", "admin", "advisor", "estimator", "production_manager")
GROUP = "AI drafts"


def _base_url(value: Any) -> Any:
    return check_base_url(str(value))


def _fields(value: Any) -> Any:
    names = [f.strip() for f in str(value).split(",") if f.strip()]
    unknown = [n for n in names if n not in FIELDS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r}; the fields are: {', '.join(FIELDS)}")
    return ",".join(names)


def _segments(value: Any) -> Any:
    n = int(value)
    if not 1 <= n <= 10:
        raise ValueError("from 1 to 10 segments")
    return n


def _timeout(value: Any) -> Any:
    n = int(value)
    if not 1 <= n <= 300:
        raise ValueError("from 1 to 300 seconds")
    return n


def _tokens(value: Any) -> Any:
    n = int(value)
    if not 16 <= n <= 4000:
        raise ValueError("from 16 to 4000 tokens")
    return n


@hookimpl
def register_features() -> list[Feature]:
    return [Feature(NAME, "AI drafts", "Replies and updates drafted from the claim's facts in the shop's tone; staff "
                    "approve every message", default_tiers=_PAID)]


@hookimpl
def register_permissions() -> list[Permission]:
    return [Permission("ai_drafts.use", _OFFICE, ("write",), "Draft messages and send approved drafts")]


@hookimpl
def register_tenant_settings() -> list[SettingDef]:
    model = "Model for {what} (a name from the endpoint's model list)"
    return [
        SettingDef("ai_drafts.provider", "Who writes the drafts", "choice", "template",
                   ("template", "openai_compatible"), feature=NAME, group=GROUP,
                   choice_labels=("Built-in templates (nothing leaves Bayline)",
                                  "An OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama, llama.cpp, LM Studio)"),
                   help="Nothing is sent to a third party unless you choose an endpoint here."),
        SettingDef("ai_drafts.base_url", "Endpoint address", "str", "", validate=_base_url, feature=NAME, group=GROUP,
                   help="e.g. https://api.openai.com/v1 or http://localhost:11434/v1. Empty: the platform's "
                        "endpoint, if it offers one."),
        SettingDef("ai_drafts.api_key", "Endpoint API key", "str", "", sealed=True, feature=NAME, group=GROUP,
                   help="Stored encrypted; never shown again."),
        SettingDef("ai_drafts.model_sms_reply", model.format(what="text replies"), "str", "", feature=NAME,
                   group=GROUP),
        SettingDef("ai_drafts.model_email_reply", model.format(what="email replies"), "str", "", feature=NAME,
                   group=GROUP),
        SettingDef("ai_drafts.model_adjuster_email", model.format(what="adjuster emails"), "str", "", feature=NAME,
                   group=GROUP),
        SettingDef("ai_drafts.model_classification", model.format(what="sorting messages by topic"), "str", "",
                   feature=NAME, group=GROUP, help="Empty: sorted by rules."),
        SettingDef("ai_drafts.timeout_seconds", "Seconds to wait for the endpoint", "int", 30, validate=_timeout,
                   feature=NAME, group=GROUP),
        SettingDef("ai_drafts.max_tokens", "Longest draft (tokens)", "int", 300, validate=_tokens, feature=NAME,
                   group=GROUP),
        SettingDef("ai_drafts.greeting", "Greeting", "str", "", feature=NAME, group=GROUP,
                   help="e.g. Hi. Empty: by formality, in the customer's language."),
        SettingDef("ai_drafts.sign_off", "Sign-off", "str", "", feature=NAME, group=GROUP,
                   help="e.g. Thanks, {shop_name}. Empty: in the customer's language."),
        SettingDef("ai_drafts.formality", "Formality", "choice", "casual", ("casual", "neutral", "formal"),
                   feature=NAME, group=GROUP),
        SettingDef("ai_drafts.emoji", "Allow an emoji", "bool", False, feature=NAME, group=GROUP),
        SettingDef("ai_drafts.max_sms_segments", "Longest text (SMS segments)", "int", 2, validate=_segments,
                   feature=NAME, group=GROUP),
        SettingDef("ai_drafts.external_fields", "Claim details sent to the endpoint", "str", DEFAULT_EXTERNAL,
                   validate=_fields, feature=NAME, group=GROUP,
                   help="Comma-separated, from: " + ", ".join(FIELDS) + ". Only these leave Bayline."),
        SettingDef("ai_drafts.mask_sensitive", "Mask VIN and policy numbers sent to the endpoint", "bool", True,
                   feature=NAME, group=GROUP),
        SettingDef("ai_drafts.full_context", "Send the full claim context to the endpoint (opt-in)", "bool", False,
                   feature=NAME, group=GROUP,
                   help="On: every field above, unmasked. Off: only the listed fields, VIN and policy masked."),
    ]


@hookimpl
def draft_provider(name: str) -> Any:
    return PROVIDERS.get(name)


@hookimpl
def register_blueprints(app: Flask) -> list[Any]:
    from .api import api
    from .views import staff

    return [staff, api]


@hookimpl
def menu_items(user: User, shop: Shop) -> list[MenuItem]:
    return [MenuItem("AI drafts", "/plugins/ai_drafts/", order=75)]


def _may_draft() -> bool:
    principal = current_principal()
    return principal is not None and principal.can("ai_drafts.use") and principal.can("messages.send")


@hookimpl
def composer_extensions(claim: Claim, user: User, args: dict[str, str]) -> list[ComposerExtension]:
    from . import grounding, service

    if not _may_draft():
        return []
    draft = None
    raw = args.get("ai_draft", "")
    if raw.isdigit():
        draft = service.get(int(raw))
        if draft is not None and (draft.claim_id != claim.id or draft.mode != "customer"):
            draft = None
    if draft is None or draft.state not in ("drafted", "failed"):
        html = render_template("bayline_ai_drafts/_composer.html", claim=claim, draft=None)
        return [ComposerExtension(NAME, html, order=10)]
    text = draft.pending_text if draft.pending_text is not None else draft.draft_text
    limit = service.settings(g.shop).get_int("max_sms_segments")
    parts = message_templates.segments(text)["segments"] if draft.channel == "sms" else 0
    html = render_template("bayline_ai_drafts/_composer.html", claim=claim, draft=draft,
                           pieces=grounding.segments(text, draft.unsupported or []),
                           one_click=service.one_click(draft) and draft.pending_text is None,
                           too_long=(parts, limit) if limit and parts > limit else None)
    return [ComposerExtension(NAME, html, order=10, body=text or None, channel=draft.channel,
                              replaces_send=draft.state == "drafted")]


@hookimpl
def claim_panels(claim: Claim, user: User) -> list[ClaimPanel]:
    """The adjuster update: a draft email to the adjuster (adjuster mode), sent like a customer draft."""
    from . import grounding, service

    if not _may_draft():
        return []
    draft = None
    raw = request.args.get("ai_draft", "")
    if raw.isdigit():
        draft = service.get(int(raw))
        if draft is not None and (draft.claim_id != claim.id or draft.mode != "adjuster"
                                  or draft.state not in ("drafted", "failed")):
            draft = None
    text = "" if draft is None else (draft.pending_text if draft.pending_text is not None else draft.draft_text)
    html = render_template("bayline_ai_drafts/_adjuster_panel.html", claim=claim, draft=draft, text=text,
                           pieces=grounding.segments(text, draft.unsupported or []) if draft else [],
                           one_click=bool(draft and service.one_click(draft) and draft.pending_text is None))
    return [ClaimPanel(NAME, "Adjuster update", html, order=45)]


@hookimpl
def message_actions(claim: Claim, message: Message, user: User) -> list[MessageAction]:
    if message.direction != "in" or not _may_draft():
        return []
    html = render_template("bayline_ai_drafts/_suggest.html", claim=claim, message=message)
    return [MessageAction(NAME, html)]
