"""The fact block a draft is written from, per mode.

Customer mode states only what the customer portal shows the customer: the stage's customer label
(a hidden stage's never, unless the shop shows hidden stages), the ETA only when the portal shows
it, the insurer and its claim number only when ``portal.show_insurer`` is on; never internal notes,
adjuster details or ``audience="adjuster"`` facts of other plugins. Adjuster mode adds the internal
stage name, the ETA history, the VIN and adjuster-only figures. Other plugins' facts (balance,
supplement status, pickup appointment) come through the ``claim_facts`` hook.

For a provider outside the deployment (``external``) only the fields the shop listed in
``ai_drafts.external_fields`` are sent and sensitive facts (VIN, policy numbers) are masked, unless
the shop opted in to full context."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from bayline.plugin_api import Claim, ClaimFact, EtaHistory, Shop, drafting, get_session, messages, shop_settings

from . import phrases

FIELDS = ("customer_name", "stage", "eta", "eta_history", "vehicle", "vin", "insurer", "claim_number",
          "ro_number", "adjuster", "shop", "plugin_facts", "thread")
DEFAULT_EXTERNAL = ("customer_name,stage,eta,eta_history,vehicle,vin,insurer,claim_number,ro_number,adjuster,shop,"
                    "plugin_facts,thread")
THREAD_MESSAGES = 6


@dataclass
class FactBlock:
    """The facts, the raw values templates fill, and the thread's last messages."""

    mode: str
    language: str
    facts: list[ClaimFact] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    thread: list[tuple[str, str]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)

    def find(self, suffix: str) -> ClaimFact | None:
        return next((f for f in self.facts if f.key == suffix or f.key.endswith("." + suffix)), None)

    def text(self) -> str:
        return "\n".join(f"- {f.label}: {f.value}" for f in self.facts)


def mask(value: str) -> str:
    """``1HGCM82633A004352`` → ``•••••••••••••4352``."""
    return "•" * max(len(value) - 4, 0) + value[-4:]


def _visible_stage(claim: Claim, show_hidden: bool) -> str | None:
    if not claim.stage.hidden or show_hidden:
        return claim.stage.customer_label or claim.stage.name
    return None


def build(claim: Claim, shop: Shop, mode: str, language: str, *, external: bool = False) -> FactBlock:
    portal = shop_settings("portal", shop)
    config = shop_settings("ai_drafts", shop)
    full = config.get_bool("full_context")
    allowed = set(FIELDS) if (full or not external) else {
        f.strip() for f in config.get_str("external_fields").split(",") if f.strip()}
    masked = external and not full and config.get_bool("mask_sensitive")
    block = FactBlock(mode=mode, language=language)
    facts: list[tuple[str, ClaimFact]] = []
    customer = mode == "customer"

    def add(name: str, key: str, label: str, value: Any, sensitive: bool = False) -> None:
        if value in (None, ""):
            return
        text = str(value)
        if sensitive and masked:
            text = mask(text)
        facts.append((name, ClaimFact(key, label, text, "customer" if customer else "adjuster", sensitive)))

    add("customer_name", "claim.customer_first_name", "Customer first name", claim.customer_first_name)
    add("shop", "shop.name", "Shop", shop.name)
    add("shop", "shop.phone", "Shop phone", shop.phone)
    add("ro_number", "claim.number", "Repair order (RO) number", claim.number)
    add("vehicle", "claim.vehicle", "Vehicle", claim.vehicle)
    stage = _visible_stage(claim, portal.get_bool("show_hidden_stages")) if customer else claim.stage.name
    if customer:
        add("stage", "claim.stage", "Repair stage (as the customer sees it)", stage)
    else:
        add("stage", "claim.stage", "Repair stage", stage)
        add("stage", "claim.stage_customer_label", "Stage as the customer sees it", claim.stage.customer_label)
    show_eta = portal.get_bool("show_eta") or not customer
    if show_eta and claim.eta:
        add("eta", "claim.eta", "Estimated completion (ETA)",
            f"{phrases.date_words(claim.eta, language)} ({claim.eta.isoformat()})")
        history = get_session().scalars(select(EtaHistory).where(EtaHistory.claim_id == claim.id)
                                        .order_by(EtaHistory.at.desc(), EtaHistory.id.desc()).limit(3)).all()
        moves = [f"{h.old_eta.isoformat()} → {h.new_eta.isoformat()}" + (f" ({h.reason})" if h.reason else "")
                 for h in history if h.old_eta and h.new_eta]
        if moves:
            add("eta_history", "claim.eta_history", "Earlier ETA changes", "; ".join(moves))
    if not customer or portal.get_bool("show_insurer"):
        add("insurer", "claim.insurer", "Insurer", claim.insurer)
        add("claim_number", "claim.insurer_claim_number", "Insurer claim number", claim.insurer_claim_number,
            sensitive=not customer)
    if not customer:
        add("vin", "claim.vin", "VIN", claim.vin, sensitive=True)
        add("adjuster", "claim.adjuster_name", "Adjuster", claim.adjuster_name)
    for fact in drafting.facts(claim, mode):
        if fact.sensitive and masked:
            fact = ClaimFact(fact.key, fact.label, mask(fact.value), fact.audience, True)
        facts.append(("plugin_facts", fact))
    block.facts = [f for name, f in facts if name in allowed]
    block.fields = sorted({name for name, _ in facts if name in allowed})
    if "thread" in allowed:
        recent = messages.thread(claim)[-THREAD_MESSAGES:]
        block.thread = [(m.direction, m.body) for m in recent if m.body]
        if recent:
            block.fields = sorted({*block.fields, "thread"})
    block.values = {"first_name": claim.customer_first_name, "vehicle": claim.vehicle, "stage": stage or "",
                    "eta": phrases.date_words(claim.eta, language) if (show_eta and claim.eta) else "",
                    "insurer": claim.insurer if (not customer or portal.get_bool("show_insurer")) else "",
                    "shop_name": shop.name, "eta_date": claim.eta if show_eta else None}
    return block


def eta_weekday(block: FactBlock) -> date | None:
    return block.values.get("eta_date")
