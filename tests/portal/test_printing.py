"""QR codes and printable documents: the QR inside the PDF decodes to a working portal link."""
from __future__ import annotations

import io

import pypdfium2
import zxingcpp
from PIL import Image

from .conftest import csrf_from


def decode_pdf_qrs(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(data)
    found = []
    for index in range(len(pdf)):
        image = pdf[index].render(scale=3).to_pil()
        found.extend(r.text for r in zxingcpp.read_barcodes(image))
    return found


def test_work_order_qr_opens_the_portal(app, make_shop, make_claim, api_client):
    shop = make_shop(phone="+16175550199")
    claim = make_claim(shop, vehicle_make="Subaru")
    api = api_client(shop)
    r = api.post(f"/api/v1/claims/{claim.id}/documents", json={})
    assert r.status_code == 200 and r.content_type == "application/pdf"
    assert r.data.startswith(b"%PDF") and "X-Portal-Url" not in r.headers
    [url] = decode_pdf_qrs(r.data)
    assert url.startswith("http://localhost/c/")
    raw = url.rsplit("/", 1)[1]
    page = app.test_client().get(f"/c/{raw}")
    assert page.status_code == 200 and "last name" in page.get_data(as_text=True)
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 200  # the staff copy too
    # printing again prints the same link; other documents get their own
    again = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "work-order", "paper": "a4"})
    assert again.status_code == 200 and decode_pdf_qrs(again.data) == [url]
    receipt = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "receipt"})
    [receipt_url] = decode_pdf_qrs(receipt.data)
    assert receipt_url != url and app.test_client().get(f"/c/{raw}").status_code == 200
    assert api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "menu"}).status_code == 422
    assert api.post(f"/api/v1/claims/{claim.id}/documents", json={"paper": "legal"}).status_code == 422


def test_qr_svg_and_png(app, make_shop, make_claim, api_client):
    shop = make_shop()
    claim = make_claim(shop)
    api = api_client(shop)
    svg = api.post(f"/api/v1/claims/{claim.id}/qr", json={})
    assert svg.status_code == 200 and svg.content_type.startswith("image/svg+xml") and b"<svg" in svg.data
    png = api.post(f"/api/v1/claims/{claim.id}/qr", json={"format": "png"})
    assert png.status_code == 200 and png.content_type == "image/png"
    [decoded] = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))]
    assert app.test_client().get(decoded.replace("http://localhost", "")).status_code == 200
    fresh = api.post(f"/api/v1/claims/{claim.id}/qr", json={"format": "png", "reissue": True})
    [replaced] = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(fresh.data)))]
    assert replaced != decoded and app.test_client().get(decoded.replace("http://localhost", "")).status_code == 404


def test_console_print_and_batch(app, make_shop, make_claim, make_user, client_for):
    shop = make_shop()
    first, second = make_claim(shop), make_claim(shop)
    staff = client_for(make_user(shop, role="advisor"), shop)
    token = csrf_from(staff.get(f"/console/claims/{first.id}").get_data(as_text=True))
    r = staff.post(f"/console/claims/{first.id}/print", data={"csrf_token": token})
    assert r.status_code == 200 and r.content_type == "application/pdf"
    [url] = decode_pdf_qrs(r.data)
    assert app.test_client().get(url.replace("http://localhost", "")).status_code == 200
    batch = staff.post("/console/print", data={"csrf_token": token, "document": "hang-tag",
                                               "claim_id": [str(first.id), str(second.id)]})
    assert batch.status_code == 200
    urls = decode_pdf_qrs(batch.data)
    assert len(urls) == 2 and len(set(urls)) == 2 and url not in urls
    for u in urls:
        assert app.test_client().get(u.replace("http://localhost", "")).status_code == 200


def test_printing_is_tenant_isolated(app, make_shop, make_claim, make_user, client_for, api_client):
    shop_a, shop_b = make_shop(), make_shop()
    claim = make_claim(shop_a)
    other = api_client(shop_b)
    assert other.post(f"/api/v1/claims/{claim.id}/documents", json={}).status_code == 404
    assert other.post(f"/api/v1/claims/{claim.id}/qr", json={}).status_code == 404
    staff_b = client_for(make_user(shop_b), shop_b)
    token = csrf_from(staff_b.get("/console/claims/new").get_data(as_text=True))
    for path in (f"/console/claims/{claim.id}/print", f"/console/claims/{claim.id}/qr"):
        assert staff_b.post(path, data={"csrf_token": token}).status_code == 404
    assert staff_b.post("/console/print", data={"csrf_token": token, "document": "receipt",
                                                "claim_id": str(claim.id)}).status_code == 404
    assert app.test_client().get(f"/c/{claim.portal_link.raw}").status_code == 200  # untouched


def _page_text(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(data)
    return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]


def test_work_order_fields_paper_and_pin(app, make_shop, make_claim, api_client, set_setting):
    from datetime import date

    shop = make_shop(name="Harbor Collision")
    claim = make_claim(shop, number="RO-24204", insurer="Acme Mutual", insurer_claim_number="AC-99812",
                       adjuster_name="Pat Lee", vehicle_make="Subaru", vehicle_color="Blue", eta=date(2031, 5, 6),
                       internal_notes="Rear bumper scuff")
    api = api_client(shop)
    letter = api.post(f"/api/v1/claims/{claim.id}/documents", json={})
    [text] = _page_text(letter.data)
    for expected in ("Work order", "RO-24204", "Date in", "May 06, 2031", "AC-99812", "Pat Lee", "(Blue)",
                     "Authorization", "Point your phone camera here", "localhost/c/"):
        assert expected in text, expected
    assert "Rear bumper scuff" not in text and "Shop PIN" not in text  # notes only when the shop prints them
    assert [round(v) for v in pypdfium2.PdfDocument(letter.data)[0].get_size()] == [612, 792]
    set_setting(shop, "documents.print_notes", True)
    set_setting(shop, "documents.paper", "a4")
    set_setting(shop, "portal.pin", "4821")
    set_setting(shop, "portal.verification", "name_claim_pin")
    a4 = api.post(f"/api/v1/claims/{claim.id}/documents", json={})
    [text] = _page_text(a4.data)
    assert "Rear bumper scuff" in text and "Shop PIN: 4821" in text
    assert [round(v) for v in pypdfium2.PdfDocument(a4.data)[0].get_size()] == [595, 842]
    both = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "check-in-set"})
    pages = _page_text(both.data)
    assert len(pages) == 3 and all("Shop PIN: 4821" in p for p in pages)
    assert len(set(decode_pdf_qrs(both.data))) == 3


def test_the_short_code_under_the_qr_opens_the_same_link(app, make_shop, make_claim, api_client, set_setting):
    import re

    shop = make_shop()
    set_setting(shop, "portal.verification", "off")
    claim = make_claim(shop)
    api = api_client(shop)
    data = api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "receipt"}).data
    [text] = _page_text(data)
    code = re.search(r"localhost/c/([2-9A-Z]{5}-[2-9A-Z]{5})", text).group(1)
    client = app.test_client()
    for typed in (code, code.lower(), code.replace("-", "")):
        assert client.get(f"/c/{typed}").status_code == 303, typed
    [qr] = decode_pdf_qrs(data)
    with app.app_context():
        from bayline.portal import tokens
        from bayline.testing.plugin import in_tenant

        with in_tenant(app, shop.id):
            assert tokens.find_any(code).id == tokens.find_any(qr.rsplit("/", 1)[1]).id
    # reissuing the receipt's link forgets its code; a made-up code finds nothing
    api.post(f"/api/v1/claims/{claim.id}/documents", json={"document": "receipt", "reissue": True})
    assert client.get(f"/c/{code}").status_code == 404
    assert client.get("/c/22222-22222").status_code == 404
