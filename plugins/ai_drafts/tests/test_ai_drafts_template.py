"""The template provider (the default: offline, deterministic): the intent by rules, a per-intent
text in the customer's language, filled only from the facts (other plugins' facts through the
``claim_facts`` hook), so its drafts pass the grounding check."""
from __future__ import annotations

import sys
import types

import pytest

from bayline.plugin_api import ClaimFact, Feature, hookimpl
from bayline.testing.plugin import in_tenant


def _factsplugin() -> types.ModuleType:
    module = types.ModuleType("bayline_factsdemo")

    @hookimpl
    def claim_facts(claim, audience):
        facts = [ClaimFact("factsdemo.balance", "Balance due", "$1,240.50"),
                 ClaimFact("factsdemo.supplement_status", "Supplement", "approved by the insurer on Jun 3"),
                 ClaimFact("factsdemo.pickup_appointment", "Pickup appointment", "Tue Jun 9, 10:30 am")]
        return [*facts, ClaimFact("factsdemo.estimate_total", "Estimate total", "$4,980.00", audience="adjuster")]

    @hookimpl
    def register_features():
        return [Feature("factsdemo", "Facts demo")]

    module.claim_facts, module.register_features = claim_facts, register_features
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("factsdemo", _factsplugin())]


CASES = [
    ("status", "en", "When will my car be ready?", ["Tuesday, June 9", "Honda Civic"]),
    ("status", "es", "Hola, ¿cuándo estará listo mi carro?", ["martes 9 de junio", "Hola Dana"]),
    ("pickup", "en", "Can I pick up my car?", ["Tue Jun 9, 10:30 am"]),
    ("pickup", "es", "¿Puedo recoger mi carro?", ["Tue Jun 9, 10:30 am", "recogida"]),
    ("supplement", "en", "Did the adjuster approve the supplement?", ["approved by the insurer on Jun 3"]),
    ("supplement", "es", "¿El ajustador aprobó el suplemento?", ["suplemento", "approved by the insurer on Jun 3"]),
    ("billing", "en", "How much do I owe?", ["$1,240.50"]),
    ("billing", "es", "¿Cuánto tengo que pagar?", ["$1,240.50", "saldo"]),
    ("complaint", "en", "This is unacceptable, three weeks and nothing!", ["sorry", "manager"]),
    ("complaint", "es", "Esto es inaceptable, estoy harto.", ["Lamento", "gerente"]),
    ("other", "en", "Thanks for the coffee this morning", ["Honda Civic"]),
    ("other", "es", "Hola, gracias por el café de esta mañana", ["gracias por su mensaje"]),
]


@pytest.mark.parametrize(("intent", "language", "incoming", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_template_draft_per_intent(app, ai_shop, fact_claim, enable_plugin, post_form, intent, language, incoming,
                                   expected):
    from bayline_ai_drafts import service
    from bayline_ai_drafts.models import AiDraft

    enable_plugin(ai_shop.shop, "factsdemo")
    claim = fact_claim(ai_shop.shop, incoming=incoming)
    r = post_form(ai_shop.client, claim.id, f"/plugins/ai_drafts/claims/{claim.id}/draft", {"channel": "sms"},
                  headers={"Accept": "application/json"})
    assert r.status_code == 201, r.get_data(as_text=True)
    with in_tenant(app, ai_shop.shop.id) as session:
        draft = session.get(AiDraft, r.get_json()["id"])
        assert (draft.intent, draft.language, draft.provider) == (intent, language, "template")
        for text in expected:
            assert text in draft.draft_text, draft.draft_text
        assert "Harbor Collision" in draft.draft_text
        assert draft.unsupported == [] and service.one_click(draft)  # a template never invents
        assert "$4,980.00" not in draft.draft_text  # an adjuster-only fact never reaches a customer draft
        assert draft.fields_sent == []  # nothing left Bayline


def test_intent_and_language_rules():
    from bayline_ai_drafts.intents import intent_of, language_of

    assert intent_of("is my car ready to pick up?") == "pickup"
    assert intent_of("the bill is ridiculous") == "complaint"
    assert intent_of("¿Cuándo estará listo?") == "status"
    assert language_of("¿Cuándo estará listo mi carro?") == "es"
    assert language_of("When is it done?") == "en"
    assert language_of("") == "en"
