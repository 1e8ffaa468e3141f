"""Statements per page (issue 18 item 1): the rendered portal page, the staff claim page and the board.

Every statement the app's engine sends while one page is answered is counted with a
``before_cursor_execute`` listener, none excluded: pool pre-ping, BEGIN/ROLLBACK sent as SQL, the
shop's settings, plugin cards. The claim has messages (both ways), a customer-visible photo, a customer
upload, an e-sign package and an imported estimate, so every bundled portal card has data to show.

:data:`BUDGET` is the ceiling each page must stay under: issue 18's acceptance (portal <= 4, staff claim
page <= 8, board <= 8), and never above what the pages take now (it may only go down). The pages
read their claim-side rows through one bundled statement (:mod:`bayline.bundle`, hook ``prefetch``):
the portal page takes 2 (session+link+claim, the bundle), the claim page 6 (user, staff shops, group
memberships, claim, the bundle, the shop's texting number), the board 8.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from bayline.db import get_db

BUDGET = {"portal": 2, "claim_page": 6, "board": 8}  # what the pages take now: may only go down
TARGET = {"portal": 4, "claim_page": 8, "board": 8}  # issue 18 acceptance
NO_CACHE = {"Cache-Control": "no-cache", "Accept": "text/html"}


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs (whitespace folded)."""
    sent: list[str] = []
    engine = get_db(app).engine

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def busy_claim(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> tuple[Any, Any, Any]:
    """A shop, its owner and a claim with messages, photos, an upload, an e-sign package and an estimate."""
    from bayline.claims import service as claims
    from bayline.claims.models import Claim
    from bayline.claims.stages import active_stages
    from bayline.events import commit
    from bayline.messages import service as messages
    from bayline.testing.plugin import in_tenant

    from ..api.test_isolation import add_files, plugin_objects

    shop = make_shop(plan="starter", name="Budget Body Shop")
    owner = make_user(shop)
    claim = make_claim(shop, number="ZQ-B-0001", vehicle_year=2021, vehicle_make="Subaru", vehicle_model="Outback",
                       insurer="Acme Mutual")
    with in_tenant(app, shop.id) as session:
        row = session.get(Claim, claim.id)
        messages.receive(row, "When will it be ready?", channel="portal")
        messages.send(row, "Friday, parts are in.", owner.id)
        add_files(row)
        plugins = app.extensions["bayline.plugins"].plugins
        plugin_objects(app, session, shop.id, "B")
        if "esign" in plugins:
            from bayline_esign import service as esign

            esign.create_package(row, ["repair_authorization"], shop_name=shop.name)
        claims.change_stage(row, active_stages()[1], owner.id)
        commit(session)
    return shop, owner, claim


@pytest.fixture
def busy(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> tuple[Any, Any, Any]:
    return busy_claim(app, make_shop, make_user, make_claim)


def _count(app: Flask, client: Any, url: str, headers: dict[str, str] | None = None) -> list[str]:
    client.get(url, headers=headers or {"Accept": "text/html"})  # warm: first-view work, settings cache
    with counted(app) as sent:
        resp = client.get(url, headers=headers or {"Accept": "text/html"})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    return sent


def _check(app: Flask, name: str, sent: list[str]) -> None:
    out = os.environ.get("BENCH_STATEMENTS_OUT")  # benchmarks/bench_statements.py collects the counts
    if out:
        with open(out, "a") as fh:
            fh.write(json.dumps({"page": name, "statements": len(sent), "backend": get_db(app).engine.name}) + "\n")
    chars = int(os.environ.get("STMT_CHARS", "200"))
    listing = "\n".join(f"  {i + 1}. {s[:chars]}" for i, s in enumerate(sent))
    assert BUDGET[name] <= TARGET[name]
    assert len(sent) <= BUDGET[name], f"{name}: {len(sent)} statements > {BUDGET[name]}:\n{listing}"
    again = sorted({s for s in sent if sent.count(s) > 1})  # the same lookup twice (staff_shops() was, once)
    assert not again, f"{name}: statements sent more than once:\n{listing}"


def test_rendered_portal_page_statements(app: Flask, busy: tuple[Any, Any, Any], portal_client: Any) -> None:
    _, _, claim = busy
    client = portal_client(claim)
    sent = _count(app, client, "/c/s/", NO_CACHE)
    page = client.get("/c/s/", headers=NO_CACHE).get_data(as_text=True)
    for card in ("Friday, parts are in.", "When will it be ready?", "Documents to sign", "Photos"):
        assert card in page  # every card had something to show
    _check(app, "portal", sent)


def test_staff_claim_page_statements(app: Flask, busy: tuple[Any, Any, Any], client_for: Any) -> None:
    shop, owner, claim = busy
    sent = _count(app, client_for(owner, shop), f"/console/claims/{claim.id}")
    _check(app, "claim_page", sent)


def test_board_statements(app: Flask, busy: tuple[Any, Any, Any], client_for: Any) -> None:
    shop, owner, _ = busy
    sent = _count(app, client_for(owner, shop), "/console/")
    _check(app, "board", sent)


def _normalised(html: str) -> str:
    """The page without what differs on every render (CSRF tokens, one-time keys, nonces)."""
    import re

    html = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', html)
    html = re.sub(r'name="csrf-token" content="[^"]*"', 'name="csrf-token"', html)
    html = re.sub(r'value="[0-9a-f]{32}"', 'value="KEY"', html)
    return re.sub(r'nonce="[^"]*"', "nonce", html)


@pytest.mark.parametrize("page", ["portal", "claim_page"])
def test_bundled_page_is_the_page_of_separate_reads(app: Flask, busy: tuple[Any, Any, Any], portal_client: Any,
                                                    client_for: Any, monkeypatch: pytest.MonkeyPatch,
                                                    page: str) -> None:
    """The one bundled statement changes nothing on the page: the same bytes as when every card and
    panel sends its own selects (the bundle switched off), and fewer statements."""
    from bayline import bundle

    shop, owner, claim = busy
    if page == "portal":
        client, url, headers = portal_client(claim), "/c/s/", NO_CACHE
    else:
        client, url, headers = client_for(owner, shop), f"/console/claims/{claim.id}", {"Accept": "text/html"}
    bundled = _count(app, client, url, headers)
    with_bundle = client.get(url, headers=headers).get_data(as_text=True)
    monkeypatch.setattr(bundle.Bundle, "want", lambda self, key, stmt: None)
    separate = _count(app, client, url, headers)
    without = client.get(url, headers=headers).get_data(as_text=True)
    assert _normalised(with_bundle) == _normalised(without)
    assert len(bundled) < len(separate)
    for text in ("Friday, parts are in.", "When will it be ready?"):
        assert text in with_bundle
