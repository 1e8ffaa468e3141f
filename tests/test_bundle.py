"""One statement for many ORM reads (bayline.bundle): every column comes back as the ORM loads it.

Rows read through a :class:`~bayline.bundle.Bundle` (JSON aggregated on the server, PostgreSQL and
SQLite) must equal the same rows read by plain ORM selects: types (tz-aware datetimes, booleans,
JSON columns, None), order (``ORDER BY`` and ``LIMIT`` kept), the tenant scope, identity (an object
already in the session is the one returned), and binary columns loading on first access.
"""
from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, select

from bayline.bundle import Bundle, prefetched, request_bundle
from bayline.db import get_db
from bayline.testing.plugin import in_tenant


def _columns(obj: Any) -> dict[str, Any]:
    return {attr.key: getattr(obj, attr.key) for attr in obj.__mapper__.column_attrs}


def _busy(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> tuple[Any, Any, Any]:
    from bayline.claims.models import Claim
    from bayline.events import commit
    from bayline.messages import service as messages

    shop = make_shop(name="Bundle Body Shop")
    other = make_shop(name="Other Body Shop")
    owner = make_user(shop)
    claim = make_claim(shop, number="BND-1", vehicle_year=2020, insurer="Acme Mutual")
    theirs = make_claim(other, number="BND-2")
    with in_tenant(app, shop.id) as session:
        row = session.get(Claim, claim.id)
        for n in range(5):
            messages.receive(row, f"question {n}", channel="portal")
        messages.send(row, "an answer", owner.id)
        commit(session)
    with in_tenant(app, other.id) as session:
        messages.receive(session.get(Claim, theirs.id), "not yours", channel="portal")
        commit(session)
    return shop, claim, theirs


def _parts(claim_id: int) -> dict[str, Any]:
    from bayline.claims.models import Claim, Stage
    from bayline.messages.models import Message
    from bayline.messaging.models import OutboxItem
    from bayline.tenants.models import Shop

    return {
        "claims": select(Claim).order_by(Claim.id),
        "messages": select(Message).where(Message.claim_id == claim_id)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(4),
        "all_messages": select(Message).order_by(Message.id),
        "stages": select(Stage).order_by(Stage.position.desc(), Stage.id),
        "outbox": select(OutboxItem).order_by(OutboxItem.id),
        "shops": select(Shop).order_by(Shop.id),
        "none": select(Message).where(Message.claim_id == -1),
    }


def test_bundle_rows_equal_orm_rows(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> None:
    shop, claim, theirs = _busy(app, make_shop, make_user, make_claim)
    with in_tenant(app, shop.id) as session:
        expected = {key: [_columns(o) for o in session.scalars(stmt)] for key, stmt in _parts(claim.id).items()}
        session.expunge_all()
        sent: list[str] = []
        listener = lambda *args: sent.append(args[2])  # noqa: E731
        event.listen(get_db(app).engine, "before_cursor_execute", listener)
        try:
            bundle = Bundle()
            for key, stmt in _parts(claim.id).items():
                bundle.want(key, stmt)
            got = {key: [_columns(o) for o in rows] for key, rows in bundle.load().items()}
        finally:
            event.remove(get_db(app).engine, "before_cursor_execute", listener)
        assert len(sent) == 1
        assert got == expected
        assert got["none"] == []
        assert [m["body"] for m in got["messages"]] == ["an answer", "question 4", "question 3", "question 2"]
        assert {m["claim_id"] for m in got["all_messages"]} == {claim.id}  # the other shop's stay out
        assert all(m["created_at"].tzinfo is not None for m in got["all_messages"])
        assert theirs.id not in {c["id"] for c in got["claims"]}


def test_bundled_objects_are_the_sessions(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> None:
    from bayline.claims.models import Claim
    from bayline.messages.models import Message

    shop, claim, _ = _busy(app, make_shop, make_user, make_claim)
    with in_tenant(app, shop.id) as session:
        loaded = session.get(Claim, claim.id)
        bundle = Bundle()
        bundle.want("claims", select(Claim).where(Claim.id == claim.id))
        bundle.want("messages", select(Message).where(Message.claim_id == claim.id).order_by(Message.id))
        (same,) = bundle.rows("claims")
        assert same is loaded
        messages = bundle.rows("messages")
        assert all(m in session and not session.is_modified(m) for m in messages)
        assert not session.dirty and not session.new
        messages[0].body = "edited"  # persistent and tracked: a change is a change
        assert session.is_modified(messages[0])
        session.rollback()


def test_prefetched_sends_the_select_alone_outside_a_page(app: Flask, make_shop: Any, make_user: Any,
                                                          make_claim: Any) -> None:
    from bayline.messages.models import Message

    shop, claim, _ = _busy(app, make_shop, make_user, make_claim)
    stmt = select(Message).where(Message.claim_id == claim.id).order_by(Message.id)
    with app.test_request_context(), in_tenant(app, shop.id) as session:
        alone = prefetched("messages", stmt)
        assert [m.id for m in alone] == [m.id for m in session.scalars(stmt)]
        request_bundle().want("messages", stmt)
        assert [m.id for m in prefetched("messages", stmt)] == [m.id for m in alone]


def _prepared_parts() -> dict[str, Any]:
    """:func:`_parts` as prepared statements (built once, the claim a placeholder)."""
    from bayline.bundle import prepare
    from bayline.claims.models import Claim, Stage
    from bayline.messages.models import Message
    from bayline.messaging.models import OutboxItem
    from bayline.tenants.models import Shop

    global _PREPARED
    if _PREPARED is None:
        _PREPARED = {
            "claims": prepare(lambda: select(Claim).order_by(Claim.id)),
            "messages": prepare(lambda claim_id: select(Message).where(Message.claim_id == claim_id)
                                .order_by(Message.created_at.desc(), Message.id.desc()).limit(4)),
            "all_messages": prepare(lambda: select(Message).order_by(Message.id)),
            "stages": prepare(lambda: select(Stage).order_by(Stage.position.desc(), Stage.id)),
            "outbox": prepare(lambda: select(OutboxItem).order_by(OutboxItem.id)),
            "shops": prepare(lambda: select(Shop).order_by(Shop.id)),
            "none": prepare(lambda missing: select(Message).where(Message.claim_id == missing)),
        }
    return _PREPARED


_PREPARED: dict[str, Any] | None = None


def _use(key: str, claim_id: int) -> Any:
    build = _prepared_parts()[key]
    return build(claim_id) if key == "messages" else build(-1) if key == "none" else build()


def test_prepared_parts_equal_plain_parts(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> None:
    """Prepared parts (one statement built once, sent as SQL text in a single-shop scope) give the
    rows plain parts give, each time with the values of that use, and never another shop's rows."""
    from bayline.tenancy import tenant_scope

    shop, claim, theirs = _busy(app, make_shop, make_user, make_claim)
    with in_tenant(app, shop.id) as session:
        expected = {key: [_columns(o) for o in session.scalars(stmt)] for key, stmt in _parts(claim.id).items()}
        with tenant_scope([shop.id, theirs.tenant_id]):  # several shops: the ORM path, same rows
            both = Bundle()
            both.want("all_messages", _use("all_messages", claim.id))
            assert {m.tenant_id for m in both.rows("all_messages")} == {shop.id, theirs.tenant_id}
        session.expunge_all()
        for _ in range(2):  # the second time from the kept statement and text
            sent: list[str] = []
            listener = lambda *args, sent=sent: sent.append(args[2])  # noqa: E731
            event.listen(get_db(app).engine, "before_cursor_execute", listener)
            try:
                bundle = Bundle()
                for key in _parts(claim.id):
                    bundle.want(key, _use(key, claim.id))
                got = {key: [_columns(o) for o in rows] for key, rows in bundle.load().items()}
            finally:
                event.remove(get_db(app).engine, "before_cursor_execute", listener)
            assert len(sent) == 1
            assert "tenant_id IN" not in sent[0]  # sent as text, the shop one parameter
            assert got == expected
            session.expunge_all()
        assert theirs.id not in {c["id"] for c in got["claims"]}
        assert {m["claim_id"] for m in got["all_messages"]} == {claim.id}
    with in_tenant(app, theirs.tenant_id):  # the same kept statement for the other shop: its rows only
        bundle = Bundle()
        bundle.want("claims", _use("claims", theirs.id))
        bundle.want("messages", _use("messages", theirs.id))
        assert [c.id for c in bundle.rows("claims")] == [theirs.id]
        assert [m.body for m in bundle.rows("messages")] == ["not yours"]


def test_prepared_part_alone_and_mixed(app: Flask, make_shop: Any, make_user: Any, make_claim: Any) -> None:
    """A prepared part read outside a page is sent alone with its values; a bundle mixing prepared
    and plain parts (or one placeholder with two values) is built for the page, same rows."""
    from bayline.messages.models import Message

    shop, claim, _ = _busy(app, make_shop, make_user, make_claim)
    plain = select(Message).where(Message.claim_id == claim.id).order_by(Message.created_at.desc(),
                                                                         Message.id.desc()).limit(4)
    with app.test_request_context(), in_tenant(app, shop.id) as session:
        want = [m.id for m in session.scalars(plain)]
        assert [m.id for m in prefetched("messages", _use("messages", claim.id))] == want
        mixed = Bundle()
        mixed.want("messages", _use("messages", claim.id))
        mixed.want("plain", plain)
        assert [m.id for m in mixed.rows("messages")] == want == [m.id for m in mixed.rows("plain")]
        clash = Bundle()  # one placeholder, two values
        clash.want("messages", _use("messages", claim.id))
        clash.want("theirs", _use("messages", -1))
        assert [m.id for m in clash.rows("messages")] == want
        assert clash.rows("theirs") == []
