"""Drafted messages: the facts plugins know about a claim (hook ``claim_facts``) and the providers
that write drafts (hook ``draft_provider``), asked by name, never by plugin: one plugin drafts,
any plugin may contribute facts or a provider. A draft is only text; sending it is always a staff
action on an outbox draft (``outbox.queue_draft``)."""
from __future__ import annotations

from typing import Any

from flask import g

from bayline.plugins.calling import collect
from bayline.plugins.types import FACT_AUDIENCES, ClaimFact, DraftProvider


def facts(claim: Any, audience: str) -> list[ClaimFact]:
    """Every active plugin's facts about ``claim`` for ``audience`` (``customer`` or ``adjuster``).
    A customer never gets a fact marked ``audience="adjuster"``, whatever a plugin returned."""
    if audience not in FACT_AUDIENCES:
        raise ValueError(f"audience must be one of: {', '.join(FACT_AUDIENCES)}")
    hooks = g.get("hooks")
    if hooks is None:
        return []
    out: list[ClaimFact] = []
    for fact in collect(hooks.claim_facts, claim=claim, audience=audience):
        if isinstance(fact, ClaimFact) and (audience == "adjuster" or fact.audience == "customer"):
            out.append(fact)
    return out


def provider(name: str) -> DraftProvider | None:
    """The draft provider called ``name`` among the plugins active for the current shop; None when
    none provides it."""
    name = (name or "").strip().lower()
    hooks = g.get("hooks")
    if not name or hooks is None:
        return None
    for answer in hooks.draft_provider(name=name):
        if answer is not None and getattr(answer, "name", None) == name:
            return answer
    return None
