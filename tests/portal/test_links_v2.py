"""Customer links v2 (issue 15 acceptance): a live link per document and channel, revoke that really
ends access, links never stored in clear, "text me a new link" that never promises or breaks."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from PIL import Image, ImageFilter
from sqlalchemy import MetaData, select

from bayline.claims.models import Claim
from bayline.events import commit
from bayline.live import channel, get_broker
from bayline.portal import links, tokens
from bayline.portal.models import PortalToken
from bayline.testing.plugin import in_tenant

from .conftest import csrf_from

bayline_sms = pytest.importorskip("bayline_sms", reason="the SMS plugin (plugins/sms) is not installed")
from bayline_sms.testing.telnyx_standin import TelnyxStandIn  # noqa: E402

SHOP_NUMBER = "+16175550199"
MOBILE = "+16175550123"
URL_RE = re.compile(r"http://localhost/c/([A-Za-z0-9_-]{40,})")


@pytest.fixture
def telnyx_api() -> Iterator[TelnyxStandIn]:
    server = TelnyxStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def app_config(telnyx_api: TelnyxStandIn) -> dict[str, Any]:
    return telnyx_api.app_settings()


def texting(make_shop, api_client, **extra):
    shop = make_shop(name="Harbor Collision", phone="+16175550111", plan="starter", **extra)
    api = api_client(shop)
    assert api.put("/plugins/sms/number", json={"phone_number": SHOP_NUMBER,
                                                "messaging_profile_id": "mp-1"}).status_code == 200
    assert api.patch("/api/v1/shop/settings", json={"messaging.quiet_hours_start": "",
                                                    "messaging.quiet_hours_end": ""}).status_code == 200
    return shop, api


def decode_pdf_qrs(data: bytes, scale: float = 300 / 72) -> list[str]:
    """Every QR in the PDF, rendered at 300 dpi."""
    pdf = pypdfium2.PdfDocument(data)
    found = []
    for index in range(len(pdf)):
        found.extend(r.text for r in zxingcpp.read_barcodes(pdf[index].render(scale=scale).to_pil()))
    return found


def opens(app, url: str) -> int:
    return app.test_client().get(url.replace("http://localhost", "")).status_code


def test_every_document_and_sent_link_opens_and_reprints_keep_paper_valid(app, make_shop, make_claim, api_client,
                                                                          set_setting, telnyx_api):
    shop, api = texting(make_shop, api_client)
    set_setting(shop, "portal.verification", "off")
    claim = make_claim(shop, customer_mobile=MOBILE)
    printed = {}
    for kind in ("work-order", "hang-tag", "receipt"):
        r = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": kind})
        [printed[kind]] = decode_pdf_qrs(r.data)
    assert len(set(printed.values())) == 3
    text = api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"body": "Track it: {portal_link}"})
    assert text.status_code == 202
    pkg = api.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["repair_authorization"]})
    assert pkg.status_code in (200, 201), pkg.get_json()
    sent = api.post(f"/plugins/esign/packages/{pkg.get_json()['id']}/send", json={"idempotency_key": "k1"})
    assert sent.status_code == 201, sent.get_json()
    texted = [URL_RE.search(m["json"]["text"]).group(0) for m in telnyx_api.message_posts()]
    assert len(texted) == 2 and len(set(texted)) == 2
    every = [*printed.values(), *texted, f"http://localhost/c/{claim.portal_link.raw}"]
    assert [opens(app, u) for u in every] == [303] * len(every)
    # reprinting the work order prints the same, still valid QR
    again = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "work-order"})
    assert decode_pdf_qrs(again.data) == [printed["work-order"]] and opens(app, printed["work-order"]) == 303
    # "reissue work-order link" kills only the work order's link
    fresh = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "work-order", "reissue": True})
    [new_work_order] = decode_pdf_qrs(fresh.data)
    assert new_work_order != printed["work-order"] and opens(app, printed["work-order"]) == 404
    assert [opens(app, u) for u in every[1:]] == [303] * (len(every) - 1) and opens(app, new_work_order) == 303


def test_qr_decodes_from_a_phone_photo_like_image(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    r = api_client(shop).post(f"/api/v1/claims/{claim.id}/documents", json={"document": "hang-tag"})
    image = pypdfium2.PdfDocument(r.data)[0].render(scale=150 / 72).to_pil().convert("L")
    photo = image.rotate(9, expand=True, fillcolor=255).filter(ImageFilter.GaussianBlur(1.2))
    photo = photo.resize((photo.width * 3 // 4, photo.height * 3 // 4), Image.BILINEAR)
    [url] = [r.text for r in zxingcpp.read_barcodes(photo)]
    assert opens(app, url) == 200


def test_sessions_end_on_revoke_and_the_open_page_hears_it(app, make_shop, make_claim, api_client, set_setting):
    shop = make_shop()
    set_setting(shop, "portal.verification", "off")
    claim = make_claim(shop)
    api = api_client(shop)
    urls = {}
    for kind in ("work-order", "receipt", "hang-tag"):
        [urls[kind]] = decode_pdf_qrs(api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": kind}).data)

    def session_through(url: str) -> Any:
        client = app.test_client()
        assert client.get(url.replace("http://localhost", "")).status_code == 303
        assert client.get("/c/s/").status_code == 200
        return client

    first, second, third = (session_through(urls[k]) for k in ("work-order", "receipt", "hang-tag"))
    # revoking one link ends only its sessions
    with in_tenant(app, shop.id) as session:
        receipt = tokens.find_any(urls["receipt"].rsplit("/", 1)[1])
        assert tokens.revoke_link(session.get(Claim, claim.id), receipt.id)
        commit(session)
    assert second.get("/c/s/").status_code == 404
    assert first.get("/c/s/").status_code == 200 and third.get("/c/s/").status_code == 200
    # rotate one (the session through the old work-order link goes on), then revoke all
    api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "work-order", "reissue": True})
    assert first.get("/c/s/").status_code == 200
    with app.app_context():
        subscription = get_broker(app).subscribe(channel(shop.id, claim.id))
    try:
        assert api.delete(f"/api/v1/claims/{claim.id}/portal-link").status_code == 204
        notice = subscription.get(timeout=60)
    finally:
        subscription.close()
    assert notice is not None and notice["type"] == "portal.link_revoked"
    for client in (first, third):
        page = client.get("/c/s/")
        assert page.status_code == 404 and "This link isn't working" in page.get_data(as_text=True)
    with in_tenant(app, shop.id) as session:
        states = {t.state for t in session.scalars(select(PortalToken).where(PortalToken.claim_id == claim.id))}
        assert states == {"revoked"}


def test_revoke_one_link_from_the_console_and_api(app, make_shop, make_claim, make_user, client_for, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop)
    api.post(f"/api/v1/claims/{claim.id}/qr", json={})
    status = api.get(f"/api/v1/claims/{claim.id}/portal-link").get_json()
    assert {link["purpose"] for link in status["links"]} == {"staff_copy", "qr_sticker"}
    sticker = next(link["token_id"] for link in status["links"] if link["purpose"] == "qr_sticker")
    staff = client_for(make_user(shop, role="advisor"), shop)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert 'data-purpose="qr_sticker"' in page and "Print check-in set" in page
    r = staff.post(f"/console/claims/{claim.id}/portal-links/{sticker}/revoke", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302
    assert [link["purpose"] for link in api.get(f"/api/v1/claims/{claim.id}/portal-link").get_json()["links"]] == \
        ["staff_copy"]
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 200
    assert api.delete(f"/api/v1/claims/{claim.id}/portal-links/999999").status_code == 404
    assert api.post(f"/api/v1/claims/{claim.id}/portal-link", json={"purpose": "fax"}).status_code == 422


def _text_values(session: Any) -> Iterator[tuple[str, str, str]]:
    """Every value of every column of every table in the database (reflected, so plugin tables and
    anything else stored count too), as text."""
    tables = MetaData()
    tables.reflect(bind=session.get_bind())
    for table in tables.sorted_tables:
        for row in session.execute(select(*table.columns)).all():
            for column, value in zip(table.columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    text = bytes(value).decode("latin-1")  # stored files (e-sign PDFs) count too
                else:
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                yield table.name, column.name, text


def test_no_table_holds_a_raw_token_after_texts_and_esign_links(app, make_shop, make_claim, api_client,
                                                               make_user, client_for, telnyx_api):
    from bayline.tenancy import unscoped

    shop, api = texting(make_shop, api_client)
    claim = make_claim(shop, customer_mobile=MOBILE)
    assert api.post(f"/plugins/sms/claims/{claim.id}/messages", json={"template": "received"}).status_code == 202
    pkg = api.post(f"/plugins/esign/claims/{claim.id}/packages", json={"templates": ["repair_authorization"]})
    api.post(f"/plugins/esign/packages/{pkg.get_json()['id']}/send", json={"idempotency_key": "scan"})
    staff = client_for(make_user(shop), shop)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert staff.post(f"/console/claims/{claim.id}/portal-link/send",
                      data={"csrf_token": csrf_from(page), "channel": "sms"}).status_code == 302
    pasted = f"http://localhost/c/{claim.portal_link.raw}"  # staff paste the link into a portal reply
    assert api.post(f"/api/v1/claims/{claim.id}/messages", json={"body": f"Here: {pasted}"}).status_code == 201
    raws = {claim.portal_link.raw}
    for message in telnyx_api.message_posts():
        raws.update(URL_RE.findall(message["json"]["text"]))
    assert len(raws) >= 3  # the staff copy, the SMS link, the e-sign link
    with in_tenant(app) as session, unscoped(session):
        values = list(_text_values(session))
    assert values
    leaks = [(t, c) for t, c, v in values for raw in raws if raw in v]
    assert leaks == []
    thread = api.get(f"/api/v1/claims/{claim.id}/messages").get_json()
    assert thread and all(links.MASK in m["body"] for m in thread)
    assert all(raw not in json.dumps(thread) for raw in raws)


def test_text_me_a_new_link_without_sms_configured_changes_nothing(app, make_shop, make_claim, telnyx_api):
    shop = make_shop(name="No Number Body Shop", phone="+16175550144", plan="starter")  # SMS active, no number
    claim = make_claim(shop, customer_mobile=MOBILE)
    old = claim.portal_link.raw
    with in_tenant(app, shop.id) as session:
        tokens.issue(session.get(Claim, claim.id))
        commit(session)
        before = [(t.id, t.state) for t in session.scalars(select(PortalToken).order_by(PortalToken.id))]
    client = app.test_client()
    html = client.get(f"/c/{old}").get_data(as_text=True)
    assert "Text me a new link" not in html and "tel:+16175550144" in html
    token = csrf_from(client.get("/login").get_data(as_text=True))  # a crafted request: no form is offered
    answer = client.post(f"/c/{old}/new-link", data={"csrf_token": token})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "on its way" not in text and "is sent" not in text.split("When")[0]
    assert telnyx_api.message_posts() == []
    with in_tenant(app, shop.id) as session:
        assert [(t.id, t.state) for t in session.scalars(select(PortalToken).order_by(PortalToken.id))] == before


def test_text_me_a_new_link_with_sms_sends_one_text_and_keeps_other_links(app, make_shop, make_claim, api_client,
                                                                         telnyx_api):
    shop, api = texting(make_shop, api_client)
    claim = make_claim(shop, customer_mobile=MOBILE)
    [work_order] = decode_pdf_qrs(api.post(f"/api/v1/claims/{claim.id}/documents", json={}).data)
    old = claim.portal_link.raw
    with in_tenant(app, shop.id) as session:
        tokens.issue(session.get(Claim, claim.id))  # staff made a new staff copy: the old one is replaced
        commit(session)
    before = len(telnyx_api.message_posts())
    client = app.test_client()
    html = client.get(f"/c/{old}").get_data(as_text=True)
    assert "Text me a new link" in html
    assert client.post(f"/c/{old}/new-link", data={"csrf_token": csrf_from(html)}).status_code == 200
    posts = telnyx_api.message_posts()[before:]
    assert len(posts) == 1 and posts[0]["json"]["to"] == MOBILE
    [sms_url] = [m.group(0) for m in [URL_RE.search(posts[0]["json"]["text"])]]
    assert opens(app, sms_url) == 200 and opens(app, work_order) == 200


def test_verification_matches_claim_number_digits_and_keeps_what_was_typed(app, make_shop, make_claim):
    shop = make_shop()
    claim = make_claim(shop, number="RO-24204", customer_last_name="Reyes")
    for typed in ("24204", "RO 24204", "ro-24204"):
        client = app.test_client()
        page = client.get(f"/c/{claim.portal_link.raw}").get_data(as_text=True)
        r = client.post(f"/c/{claim.portal_link.raw}", data={"csrf_token": csrf_from(page), "last_name": "reyes",
                                                             "claim_number": typed})
        assert r.status_code == 303, typed
    client = app.test_client()
    page = client.get(f"/c/{claim.portal_link.raw}").get_data(as_text=True)
    assert "top of your work order" in page
    miss = client.post(f"/c/{claim.portal_link.raw}", data={"csrf_token": csrf_from(page), "last_name": "Reyes",
                                                            "claim_number": "24205"})
    html = miss.get_data(as_text=True)
    assert miss.status_code == 422 and 'value="Reyes"' in html and 'value="24205"' in html


def test_text_link_to_customer_is_offered_only_when_texting_is_set_up(app, make_shop, make_claim, make_user,
                                                                       client_for, api_client, telnyx_api):
    bare = make_shop(plan="starter")  # SMS on the plan, but no texting number
    claim = make_claim(bare, customer_mobile=MOBILE)
    staff = client_for(make_user(bare, role="advisor"), bare)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Text link to customer" not in page
    assert staff.post(f"/console/claims/{claim.id}/portal-link/send",
                      data={"csrf_token": csrf_from(page)}).status_code == 409
    shop, _ = texting(make_shop, api_client)
    claim = make_claim(shop, customer_mobile=MOBILE)
    staff = client_for(make_user(shop, role="advisor"), shop)
    page = staff.get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert "Text link to customer" in page
    r = staff.post(f"/console/claims/{claim.id}/portal-link/send", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 302
    [post] = telnyx_api.message_posts()
    url = URL_RE.search(post["json"]["text"]).group(0)
    assert opens(app, url) == 200 and opens(app, f"http://localhost/c/{claim.portal_link.raw}") == 200
