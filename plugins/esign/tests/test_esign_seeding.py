"""Built-in templates are seeded when a shop gets e-signature (provisioning, a feature switched back
on, the data step for shops that existed before), never by a page view (issue 18 item 2)."""
from __future__ import annotations

from sqlalchemy import delete, select


def _keys(app, shop_id: int) -> list[str]:
    from bayline_esign.models import EsignTemplate

    from bayline.testing.plugin import in_tenant

    with in_tenant(app, shop_id) as session:
        return sorted(session.scalars(select(EsignTemplate.key)).all())


def _forget_templates(app, shop_id: int) -> None:
    from bayline_esign.models import EsignTemplate

    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    with in_tenant(app, shop_id) as session:
        session.execute(delete(EsignTemplate))
        commit(session)


def test_a_new_shop_has_the_builtin_templates(app, make_shop) -> None:
    from bayline_esign.templating import BUILTIN

    shop = make_shop(plan="starter")
    assert _keys(app, shop.id) == sorted(BUILTIN)


def test_switching_esign_back_on_seeds_the_missing_templates(app, make_shop) -> None:
    from bayline_esign.templating import BUILTIN

    from bayline.events import commit
    from bayline.tenants import provisioning
    from bayline.tenants.models import Shop
    from bayline.testing.plugin import in_tenant

    shop = make_shop(plan="starter")
    _forget_templates(app, shop.id)
    for enabled in (False, True):
        with in_tenant(app) as session:
            provisioning.set_feature_enabled(session.get(Shop, shop.id), "esign", enabled)
            commit(session)
        assert _keys(app, shop.id) == ([] if not enabled else sorted(BUILTIN))


def test_viewing_templates_does_not_seed_them(app, make_shop, api_client) -> None:
    shop = make_shop(plan="starter")
    _forget_templates(app, shop.id)
    resp = api_client(shop).get("/plugins/esign/templates")
    assert resp.status_code == 200 and resp.get_json() == []
    assert _keys(app, shop.id) == []


def test_data_step_seeds_shops_that_existed_before(app, make_shop) -> None:
    from bayline_esign.templating import BUILTIN

    from bayline import migrate
    from bayline.db import get_db

    before, kept = make_shop(plan="starter"), make_shop(plan="starter")
    _forget_templates(app, before.id)
    with app.app_context():
        get_db(app).dispose()
        migrate.downgrade(app, "esign", "a8380ba39b6f")
        migrate.upgrade_all(app)
        get_db(app).dispose()
        assert migrate.pending_changes(app) == []
    assert _keys(app, before.id) == sorted(BUILTIN)
    assert _keys(app, kept.id) == sorted(BUILTIN)  # nothing twice (unique tenant, key, version)
