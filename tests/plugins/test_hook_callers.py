"""Every hookspec has a caller in the core and a test that exercises it through that caller.

``HOOK_TESTS`` names, for each hook, the test proving it works end to end; the enforcement test fails
when a hookspec has no call site in ``core/``, ``web/`` or ``tenants/`` (found in the syntax tree, not
by a string search), or no entry here, or an entry naming a test that does not exist. The hooks without
a test elsewhere are exercised below by the ``hookspy`` plugin.
"""
from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from bayline.plugins import docgen
from bayline.plugins.markers import hookimpl
from bayline.plugins.types import Feature, Permission
from bayline.testing.plugin import in_tenant

ROOT = Path(__file__).resolve().parents[2]

HOOK_TESTS: dict[str, str] = {
    "channel_ready": "tests/portal/test_links_v2.py::test_text_link_to_customer_is_offered_only_when_texting_is_set_up",
    "register_features": "tests/plugins/test_conformance.py::test_every_installed_plugin_conforms",
    "register_blueprints": "tests/plugins/test_public_blueprints.py::test_public_blueprint_is_not_gated",
    "register_public_blueprints": "tests/plugins/test_public_blueprints.py::test_public_blueprint_is_not_gated",
    "register_permissions": "tests/plugins/test_hook_callers.py::test_register_permissions_names_roles_and_scopes",
    "register_event_types": "tests/plugins/test_default_plugins.py::test_live_pages_follow_registered_event_types",
    "register_tenant_settings": "tests/web/test_shop_settings.py::test_admin_edits_settings",
    "register_periodic_tasks": "tests/plugins/test_hook_callers.py::test_periodic_tasks_join_the_beat_schedule",
    "register_commands": "tests/plugins/test_hook_callers.py::test_plugin_command_runs",
    "app_configured": "tests/plugins/test_hook_callers.py::test_app_configured_reaches_the_plugin",
    "portal_sections": "tests/plugins/test_default_plugins.py::test_raising_portal_section_leaves_the_portal_page_up",
    "prefetch": "tests/portal/test_statement_budget.py::test_bundled_page_is_the_page_of_separate_reads",
    "claim_panels": "tests/plugins/test_default_plugins.py::"
                    "test_raising_claim_panel_leaves_the_claim_page_up_with_the_other_panels",
    "menu_items": "tests/plugins/test_default_plugins.py::test_sms_texts_link_shows_only_where_sms_is_active",
    "extra_template_vars": "tests/plugins/test_default_plugins.py::"
                           "test_extra_template_vars_gets_the_real_template_name",
    "deliver": "tests/portal/test_relink.py::test_replaced_link_texts_a_working_link_to_the_mobile_on_file",
    "link_fields": "tests/messaging/test_link_fields.py::test_plugin_links_reach_only_the_provider",
    "on_event": "tests/faults/test_plugin_fault.py::test_failing_plugin_handler_does_not_silence_the_others",
    "payment_provider": "plugins/quotes/tests/test_quotes_payments.py::"
                        "test_payment_provider_is_a_core_hook_routed_by_name",
    "request_signature": "plugins/quotes/tests/test_quotes_signed.py::test_signed_approval_counts_once_signed",
    "tenant_provisioned": "tests/plugins/test_hook_callers.py::test_tenant_provisioned_rows_commit_with_the_shop",
    "entitlements_changed": "tests/plugins/test_hook_callers.py::test_entitlements_changed_on_plan_addon_and_toggle",
    "shop_archive_rules": "tests/ops/test_shop_archive.py::test_a_plugin_table_travels_by_its_rules",
    "composer_extensions": "plugins/ai_drafts/tests/test_ai_drafts_flow.py::test_draft_reply_fills_the_composer",
    "message_actions": "plugins/ai_drafts/tests/test_ai_drafts_flow.py::test_suggest_on_an_incoming_message",
    "claim_facts": "plugins/ai_drafts/tests/test_ai_drafts_template.py::test_template_draft_per_intent",
    "draft_provider": "plugins/ai_drafts/tests/test_ai_drafts_contract.py::"
                      "test_prompt_has_the_fact_block_and_no_hidden_fields",
    "branding": "plugins/branding/tests/test_branding_surfaces.py::test_professional_portal_carries_the_shop_brand",
    "resolve_host": "plugins/branding/tests/test_branding_hosts.py::test_a_group_host_serves_only_its_groups_claims",
    "tenant_host": "plugins/branding/tests/test_branding_hosts.py::"
                   "test_links_issued_for_a_groups_claim_carry_the_group_host",
    "landing_links": "plugins/branding/tests/test_branding_landing_links.py::"
                     "test_estimate_and_review_links_show_while_their_features_are_active",
    "landing_referral": "plugins/loyalty/tests/test_loyalty_referrals.py::"
                        "test_a_shared_landing_link_with_ref_opens_the_referral_page",
}


def call_sites(folders: tuple[str, ...] = ("core", "web", "tenants")) -> dict[str, list[str]]:
    """Hook names called in the core: ``<x>.hook.NAME``, ``<x>.hooks.NAME``, ``hooks_for(...).NAME``, and
    string literals in modules that call hooks by name through ``hook_of``."""
    found: dict[str, list[str]] = {}
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            by_name = any(isinstance(n, ast.Attribute) and n.attr == "hook_of" for n in ast.walk(tree))
            for node in ast.walk(tree):
                name = None
                if isinstance(node, ast.Attribute):
                    base = node.value
                    if ((isinstance(base, ast.Attribute) and base.attr in ("hook", "hooks"))
                            or (isinstance(base, ast.Name) and base.id == "hooks")
                            or (isinstance(base, ast.Call) and isinstance(base.func, ast.Attribute)
                                and base.func.attr == "hooks_for")):
                        name = node.attr
                elif by_name and isinstance(node, ast.Constant) and isinstance(node.value, str):
                    name = node.value
                if name is not None:
                    found.setdefault(name, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_every_hookspec_has_a_caller_and_a_test():
    sites = call_sites()
    problems = []
    for name, _fn, _opts in docgen.specs():
        if name not in sites:
            problems.append(f"{name}: no call site in the core (wire it or delete the hookspec)")
        target = HOOK_TESTS.get(name)
        if target is None:
            problems.append(f"{name}: no test registered in HOOK_TESTS")
            continue
        file, _, test = target.partition("::")
        path = ROOT / file
        if not path.is_file() or f"def {test}(" not in path.read_text():
            problems.append(f"{name}: registered test {target} does not exist")
    assert problems == []


def test_the_caller_check_catches_a_hook_without_caller(tmp_path, monkeypatch):
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "x.py").write_text("def f(g, registry):\n    g.hooks.claim_panels()\n"
                                            "    registry.hook_of('register_commands', 'x')\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    sites = call_sites(("core",))
    assert "claim_panels" in sites and "register_commands" in sites and "menu_items" not in sites


# -- the hookspy plugin: hooks no other test reaches -------------------------------------------------

CALLS: list[tuple] = []


def _spy() -> types.ModuleType:
    module = types.ModuleType("bayline_hookspy")

    @hookimpl
    def register_features():
        return [Feature("hookspy", "Hook spy")]

    @hookimpl
    def register_permissions():
        return [Permission("hookspy.write", ("owner",), ("write",)), Permission("hookspy.read", ("owner",), ("read",)),
                Permission("hookspy.admin", ("owner",)), Permission("hookspy.typo", ("owner",), ("writ",))]

    @hookimpl
    def register_periodic_tasks(celery):
        return {"hookspy-sweep": {"task": "bayline_hookspy.sweep", "schedule": 600}}

    @hookimpl
    def register_commands(cli):
        @cli.command("hookspy-hello")
        @click.argument("who")
        def hello(who):
            click.echo(f"hello {who}")

    @hookimpl
    def app_configured(app):
        app.extensions["hookspy.configured"] = True

    @hookimpl
    def tenant_provisioned(shop):
        from bayline.db import get_session
        from bayline.tenants.models import ShopSetting

        CALLS.append(("provisioned", shop.slug))
        get_session().add(ShopSetting(tenant_id=shop.id, key="hookspy.seeded", value=True))

    @hookimpl
    def entitlements_changed(shop, before, after):
        CALLS.append(("entitlements", shop.id, frozenset(before), frozenset(after)))

    for fn in (register_features, register_permissions, register_periodic_tasks, register_commands, app_configured,
               tenant_provisioned, entitlements_changed):
        setattr(module, fn.__name__, fn)
    sys.modules.setdefault(module.__name__, module)
    return module


@pytest.fixture
def extra_plugins():
    return [("hookspy", _spy())]


def test_register_permissions_names_roles_and_scopes(app):
    roles = app.extensions["bayline.permissions"]
    grants = app.extensions["bayline.scope_grants"]
    assert roles["hookspy.write"] == ["owner"]
    assert "hookspy.write" in grants["write"] and "hookspy.write" not in grants["read"]
    assert {"hookspy.read", "claims.read"} <= grants["read"] and "hookspy.read" in grants["write"]
    assert "hookspy.admin" in grants["admin"] and "hookspy.admin" not in grants["write"]
    # an unknown scope is logged and ignored (the app still starts): the permission stays admin-only
    assert "hookspy.typo" in grants["admin"] and "hookspy.typo" not in grants["write"] | grants["read"]


def test_periodic_tasks_join_the_beat_schedule(app):
    assert app.extensions["celery"].conf.beat_schedule["hookspy-sweep"]["task"] == "bayline_hookspy.sweep"


def test_plugin_command_runs(app):
    result = app.test_cli_runner().invoke(args=["hookspy-hello", "Dana"])
    assert result.exit_code == 0 and result.output.strip() == "hello Dana"


def test_app_configured_reaches_the_plugin(app):
    assert app.extensions.get("hookspy.configured") is True


def test_tenant_provisioned_rows_commit_with_the_shop(app, make_shop):
    from bayline.tenants.models import PlanFeature, ShopSetting

    with in_tenant(app) as session:  # the plan grants hookspy, so it is active on new shops
        session.add(PlanFeature(plan_key="starter", feature="hookspy"))
        session.commit()
    CALLS.clear()
    shop = make_shop()
    assert ("provisioned", shop.slug) in CALLS
    with in_tenant(app, shop.id) as session:
        assert session.scalar(select(ShopSetting.value).where(ShopSetting.key == "hookspy.seeded")) is True
    # a shop whose plan lacks the feature is provisioned without it
    CALLS.clear()
    make_shop(plan="professional")
    assert CALLS == []


def test_entitlements_changed_on_plan_addon_and_toggle(app, make_shop):
    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import PlanFeature, Shop

    shop = make_shop()
    CALLS.clear()
    with in_tenant(app) as session:
        current = session.get(Shop, shop.id)
        provisioning.set_addon(current, "hookspy", True)
        provisioning.set_feature_enabled(current, "hookspy", False)
        provisioning.set_feature_enabled(current, "hookspy", True)
        provisioning.set_addon(current, "hookspy", False)
        session.add(PlanFeature(plan_key="professional", feature="hookspy"))
        provisioning.change_plan(current, "professional")
        provisioning.change_plan(current, "professional")  # no change: no call
        provisioning.change_plan(current, "starter")
        commit(session)
    assert all(c[0] == "entitlements" and c[1] == shop.id for c in CALLS)
    gained = [("+" if "hookspy" in after - before else "-") for _, _, before, after in CALLS]
    assert gained == ["+", "-", "+", "-", "+", "-"]
