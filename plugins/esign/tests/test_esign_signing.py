"""End to end: staff prepares, the customer consents and signs, pyHanko validates the sealed PDF."""
from __future__ import annotations

import io
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature

from bayline import Feature, hookimpl

EVENTS: list[Any] = []


class _Probe:
    """An in-process plugin that records the events it is told about."""

    @hookimpl
    def register_features(self) -> list[Feature]:
        return [Feature("esignprobe", "probe")]

    @hookimpl
    def on_event(self, event: Any) -> None:
        EVENTS.append(event)


@pytest.fixture
def extra_plugins() -> list[tuple[str, object]]:
    return [("esignprobe", _Probe())]


def _validate(app: Any, data: bytes) -> Any:
    from bayline_esign.keys import load_keys, off_loop

    with app.app_context():
        vc = load_keys(app).validation_context()
    sig = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    return sig, off_loop(validate_pdf_signature, sig, vc)


def test_sign_end_to_end_validates_with_pyhanko(h, app, shop_with_package, phone, enable_plugin, make_user,
                                                client_for) -> None:
    EVENTS.clear()
    shop, claim, staff, pkg = shop_with_package(("repair_authorization", "pickup_signoff"))
    enable_plugin(shop, "esignprobe")
    assert [d["template"] for d in pkg["documents"]] == ["repair_authorization", "pickup_signoff"]
    first, second = pkg["documents"]
    customer = phone(claim)

    home = customer.get("/c/s/")  # the core portal page shows the plugin's card
    assert home.status_code == 200
    assert "Documents to sign" in home.get_data(as_text=True) and first["id"] in home.get_data(as_text=True)
    page = customer.get(f"/c/s/esign/documents/{first['id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Dana Reyes" in html and "1HGCM82633A004352" in html and "do business electronically" in html
    assert '<a href="/c/s/">&larr; Back to your repair</a>' in html  # the portal page (the one URL it keeps)

    original = staff.get(f"/plugins/esign/documents/{first['id']}/original.pdf").data
    assert original.startswith(b"%PDF")

    assert h.consent(customer, pkg["id"], first["id"]).status_code == 200
    resp = h.sign(customer, second["id"], typed_name="Dana Reyes")
    assert resp.status_code == 409 and resp.get_json()["code"] == "out_of_order"

    resp = h.sign(customer, first["id"], initials="DR")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["documents"][0]["status"] == "signed"

    signed = customer.get(f"/c/s/esign/documents/{first['id']}/signed.pdf")
    assert signed.status_code == 200 and signed.mimetype == "application/pdf"
    data = signed.data
    assert staff.get(f"/plugins/esign/documents/{first['id']}/signed.pdf").data == data

    sig, status = _validate(app, data)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert sig.docmdp_level == MDPPerm.NO_CHANGES
    assert status.coverage.name == "ENTIRE_FILE"

    # The audit page records where and how it was signed, and the hash of the original rendering.
    import hashlib

    assert hashlib.sha256(original).hexdigest() == first["original_sha256"]
    assert first["original_sha256"].encode() in data
    assert b"203.0.113.7" in data and b"TestPhone" in data and b"America/New_York" in data

    signed_events = [e for e in EVENTS if e.type == "document.signed"]
    assert len(signed_events) == 1 and signed_events[0].payload["document_id"] == first["id"]
    assert signed_events[0].tenant_id == shop.id

    # Second document (typed signature) completes the package.
    resp = h.sign(customer, second["id"], method="typed", signature="", typed_name="Dana Reyes")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "completed"
    again = h.sign(customer, second["id"], method="typed", signature="", typed_name="Dana Reyes")
    assert again.status_code == 409 and again.get_json()["code"] == "already_signed"

    console = client_for(make_user(shop), shop).get(f"/console/claims/{claim.id}").get_data(as_text=True)
    assert '<span class="esign-state">completed</span>' in console
    assert console.count('<span class="esign-status">signed</span>') == 2

    listing = staff.get(f"/plugins/esign/claims/{claim.id}/packages").get_json()
    assert listing[0]["status"] == "completed"
    assert all(d["status"] == "signed" for d in listing[0]["documents"])


def test_public_verify_accepts_genuine_and_rejects_tampered(h, app, shop_with_package, phone) -> None:
    _shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    assert h.sign(customer, doc["id"], initials="DR").status_code == 200
    data = staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data

    anon = app.test_client()

    def verify(blob: bytes) -> dict[str, Any]:
        token = h.csrf_from(anon)
        resp = anon.post("/plugins/esign/verify", data={"csrf_token": token, "file": (io.BytesIO(blob), "x.pdf")},
                         headers=h.JSON, content_type="multipart/form-data")
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        return resp.get_json()

    good = verify(data)
    assert good["ok"] and good["known"] and good["intact"] and good["valid"] and good["trusted"]
    assert good["document"]["claim_number"] == claim.number
    assert "Dana" not in str(good)  # no private data beyond the document id and repair order

    # One byte changed inside the signed range (the customer's name in the page content).
    pos = data.index(b"Dana Reyes")
    tampered = data[:pos] + b"Dina" + data[pos + 4:]
    bad = verify(tampered)
    assert not bad["ok"] and not bad["intact"] and not bad["known"]
    _, status = _validate(app, tampered)
    assert not status.intact and not status.bottom_line

    # An incremental update appended after the seal (DocMDP forbids any change).
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(data))
    w.root["/Lang"] = generic.TextStringObject("fr")
    w.update_root()
    out = io.BytesIO()
    w.write(out)
    appended = verify(out.getvalue())
    assert not appended["ok"]

    # Not a PDF at all / an unsigned PDF.
    assert not verify(b"hello")["ok"]
    with app.app_context():
        from bayline_esign.pdf import render_original

        unsigned = render_original("T", "body", "hdr", False)
    plain = verify(unsigned)
    assert not plain["ok"] and not plain["signed"]


def test_verify_page_is_public_html(h, app) -> None:
    resp = app.test_client().get("/plugins/esign/verify")
    assert resp.status_code == 200 and b"Verify a signed document" in resp.data


def test_seal_signs_any_pdf(h, app, make_shop) -> None:
    from bayline_esign.keys import seal
    from bayline_esign.pdf import render_original

    with app.app_context():
        pdf = render_original("Invoice", "Total 100", "Shop", False)
        sealed = seal(pdf, signer_name="Bayline", reason="test")
    _, status = _validate(app, sealed)
    assert status.bottom_line


def test_consent_required_and_withdrawable(h, app, shop_with_package, phone) -> None:
    _shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    resp = h.sign(customer, doc["id"], initials="DR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "consent_required"

    token = h.csrf_from(customer)
    resp = customer.post(f"/c/s/esign/packages/{pkg['id']}/consent", data={"csrf_token": token}, headers=h.JSON)
    assert resp.status_code == 422  # 'I agree' not ticked

    assert h.consent(customer, pkg["id"], doc["id"]).status_code == 200
    token = h.csrf_from(customer)
    assert customer.post(f"/c/s/esign/packages/{pkg['id']}/consent/withdraw", data={"csrf_token": token},
                         headers=h.JSON).status_code == 200
    resp = h.sign(customer, doc["id"], initials="DR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "consent_required"
    state = staff.get(f"/plugins/esign/packages/{pkg['id']}").get_json()
    assert state["documents"][0]["status"] == "viewed" and state["documents"][0]["signed_sha256"] is None


def test_bad_signature_input_signs_nothing(h, app, shop_with_package, phone) -> None:
    _shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    for form, code in [
        ({"signature": h.blank_signature(), "initials": "DR"}, "signature_invalid"),
        ({"signature": "data:image/png;base64,!!!", "initials": "DR"}, "signature_invalid"),
        ({"initials": ""}, "initials_required"),
        ({"initials": "DR", "intent": ""}, "intent_required"),
    ]:
        resp = h.sign(customer, doc["id"], **form)
        assert resp.status_code == 422 and resp.get_json()["code"] == code, (form, resp.get_json())
    state = staff.get(f"/plugins/esign/packages/{pkg['id']}").get_json()
    assert state["documents"][0]["signed_sha256"] is None and state["status"] == "sent"


def test_expired_and_cancelled_packages_refuse(h, app, shop_with_package, phone) -> None:
    from datetime import timedelta

    from bayline_esign.models import EsignPackage
    from sqlalchemy import select

    from bayline.db import utcnow
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    with in_tenant(app, shop.id) as session:
        row = session.scalars(select(EsignPackage).where(EsignPackage.public_id == pkg["id"])).one()
        row.expires_at = utcnow() - timedelta(minutes=1)
        commit(session)
    resp = h.sign(customer, doc["id"], initials="DR")
    assert resp.status_code == 409 and resp.get_json()["code"] == "package_expired"
    assert staff.get(f"/plugins/esign/packages/{pkg['id']}").get_json()["status"] == "expired"

    _, claim2, staff2, pkg2 = shop_with_package()
    customer2 = phone(claim2)
    doc2 = pkg2["documents"][0]
    h.consent(customer2, pkg2["id"], doc2["id"])
    resp = staff2.post(f"/plugins/esign/packages/{pkg2['id']}/cancel", json={"reason": "wrong claim"}, headers=h.JSON)
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    resp = h.sign(customer2, doc2["id"], initials="DR")
    assert resp.status_code == 409 and resp.get_json()["code"] == "package_cancelled"
    again = staff2.post(f"/plugins/esign/packages/{pkg2['id']}/cancel", json={}, headers=h.JSON)
    assert again.status_code == 409


def test_swapped_signature_and_cli_verify(h, app, shop_with_package, phone, tmp_path) -> None:
    """A seal copied from another signed document never validates; the CLI agrees with the page."""
    import re

    docs = []
    for _ in range(2):
        _shop, claim, staff, pkg = shop_with_package()
        doc = pkg["documents"][0]
        customer = phone(claim)
        h.consent(customer, pkg["id"], doc["id"])
        assert h.sign(customer, doc["id"], initials="DR").status_code == 200
        docs.append(staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data)
    a, b = docs
    contents = re.compile(rb"/Contents <([0-9a-fA-F]+)>")
    sig_b = contents.search(b).group(1)
    m = contents.search(a)
    swapped = a[:m.start(1)] + sig_b[: len(m.group(1))].ljust(len(m.group(1)), b"0") + a[m.end(1):]
    assert len(swapped) == len(a)
    _, status = _validate(app, swapped)
    assert not status.bottom_line

    runner = app.test_cli_runner()
    good, bad = tmp_path / "good.pdf", tmp_path / "swapped.pdf"
    good.write_bytes(a)
    bad.write_bytes(swapped)
    ok = runner.invoke(args=["esign", "verify", str(good)])
    assert ok.exit_code == 0 and "VALID" in ok.output
    nok = runner.invoke(args=["esign", "verify", str(bad)])
    assert nok.exit_code == 1 and "NOT INTACT" in nok.output
    keys = runner.invoke(args=["esign", "init-keys"])
    assert keys.exit_code == 0 and "kept existing" in keys.output
