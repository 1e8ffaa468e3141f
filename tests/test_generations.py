"""Change generations (core/generations.py): which generation a write bumps, bumps only after the
commit, and a Redis mirror that answers nothing while it cannot hear other processes."""
from __future__ import annotations

import time

from bayline import generations
from bayline.claims import service
from bayline.claims.models import Claim
from bayline.events import commit
from bayline.portal import tokens
from bayline.tenants.models import Shop
from bayline.testing.plugin import in_tenant


def _now(app, shop, claim):
    return app.extensions["bayline.generations"].current(shop.id, claim.id)


def test_each_kind_of_write_bumps_its_generation(app, make_shop, make_claim):
    shop, other = make_shop(), make_shop()
    claim, neighbour = make_claim(shop), make_claim(shop)
    before = _now(app, shop, claim)
    their_claim = make_claim(other)
    theirs = _now(app, other, their_claim)

    with in_tenant(app, shop.id) as session:  # a claim row: that claim only
        service.update_claim(session.get(Claim, neighbour.id), {"vehicle_color": "Blue"})
        commit(session)
    after = _now(app, shop, claim)
    assert after[:2] == before[:2] and after[2] == before[2]
    assert _now(app, shop, neighbour) != before

    with in_tenant(app, shop.id) as session:  # a row with a claim_id (a link): that claim
        tokens.issue(session.get(Claim, claim.id))
        commit(session)
    assert _now(app, shop, claim)[2] != after[2]

    from bayline import settings_registry

    before = _now(app, shop, claim)
    with in_tenant(app, shop.id) as session:  # a shop row without a claim: the shop
        settings_registry.set_values(shop.id, {"portal.show_eta": False}, role=None)
        commit(session)
    after = _now(app, shop, claim)
    assert after[0] == before[0] and after[1] != before[1]
    assert _now(app, other, their_claim)[1:] == theirs[1:]

    with in_tenant(app) as session:  # a platform row (the group): everyone
        session.get(Shop, shop.id).group.name = "Renamed Group"
        commit(session)
    assert _now(app, shop, claim)[0] != after[0]


def test_nothing_is_bumped_before_the_commit(app, make_shop, make_claim):
    shop = make_shop()
    claim = make_claim(shop)
    before = _now(app, shop, claim)
    with in_tenant(app, shop.id) as session:
        service.update_claim(session.get(Claim, claim.id), {"vehicle_color": "Red"})
        session.flush()
        assert _now(app, shop, claim) == before
        session.rollback()
    assert _now(app, shop, claim) == before


def test_bulk_update_bumps_the_shop(app, make_shop, make_claim):
    shop = make_shop()
    claim = make_claim(shop)
    before = _now(app, shop, claim)
    with in_tenant(app, shop.id) as session:
        tokens.revoke(session.get(Claim, claim.id))  # UPDATE ... WHERE: no objects flushed
        commit(session)
    assert _now(app, shop, claim)[1] != before[1]


def test_redis_mirror_answers_nothing_while_unreachable():
    dead = generations.RedisGenerations("redis://127.0.0.1:1/0", "sqlite:///nowhere")
    for _ in range(3):
        assert dead.current(1, 1) is None
        time.sleep(0.05)
    dead.bump(["c:1"])  # logged, not raised
    assert dead.current(1, 1) is None


def test_redis_bump_reaches_another_listener(redis_url):
    store = generations.RedisGenerations(redis_url, "sqlite:///mirror-test")
    other = generations._RedisMirror(redis_url)  # what another process holds
    keys = (generations.PLATFORM, generations.shop_key(1), generations.claim_key(7))
    ends = time.monotonic() + 10
    while other.current(store.namespace, keys) is None and time.monotonic() < ends:
        time.sleep(0.02)
    first = other.current(store.namespace, keys)
    assert first is not None
    store.bump([generations.claim_key(7)])
    ends = time.monotonic() + 5
    while other.current(store.namespace, keys) == first and time.monotonic() < ends:
        time.sleep(0.01)
    second = other.current(store.namespace, keys)
    assert second[:2] == first[:2] and second[2] != first[2]
