"""Statements per page (issue 18 item 1): the rendered portal page, the staff claim page and the board.

Every statement the app's engine sends while one page is answered is counted with a
``before_cursor_execute`` listener, none excluded: pool pre-ping, BEGIN/ROLLBACK sent as SQL, the
shop's settings, plugin cards. The claim has messages (both ways), a customer-visible photo, a customer
upload, an e-sign package and an imported estimate, so every bundled portal card has data to show.

:data:`BUDGET` is the regression ceiling: what the pages take now (it may only go down).
:data:`TARGET` is issue 18's acceptance limit, not reached yet for the portal page (the claim-side
cards still read one table each: links+claim, stage history, e-sign, estimate versions and lines,
photos, uploads, messages) nor for the staff claim page (its panels query per plugin).
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

BUDGET = {"portal": 12, "claim_page": 32, "board": 8}
TARGET = {"portal": 4, "claim_page": 8, "board": 8}
NO_CACHE = {"Cache-Control": "no-cache", "Accept": "text/html"}


@contextmanager
def counted(app: Flask) -> Iterator[list[str]]:
    """Every statement the app's engine sends while the block runs (its first 200 characters)."""
    sent: list[str] = []
    engine = get_db(app).engine

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(" ".join(statement.split())[:200])

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
    listing = "\n".join(f"  {i + 1}. {s}" for i, s in enumerate(sent))
    assert len(sent) <= BUDGET[name], f"{name}: {len(sent)} statements > {BUDGET[name]}:\n{listing}"


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
