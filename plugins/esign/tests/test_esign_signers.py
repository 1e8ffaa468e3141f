"""Second signers: every signer signs every document with their own consent; the document is
sealed once all have signed, one pyHanko signature field per signer, each validated."""
from __future__ import annotations

import io
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature

SIGNERS = [{"name": "Dana Reyes"}, {"name": "Sam Reyes", "mobile": "(617) 555-0142"}]
SPOUSE_MOBILE = "+16175550142"


@pytest.fixture
def app_config(texting_config: dict[str, Any]) -> dict[str, Any]:
    return texting_config  # the second signer confirms a texted code


def _validate_all(app: Any, data: bytes) -> list[tuple[Any, Any]]:
    from bayline_esign.keys import load_keys, off_loop

    with app.app_context():
        vc = load_keys(app).validation_context()
    sigs = PdfFileReader(io.BytesIO(data)).embedded_signatures
    return [(sig, off_loop(validate_pdf_signature, sig, vc)) for sig in sigs]


def _as(h: Any, client: Any, pkg: dict[str, Any], signer: dict[str, Any], doc_id: str, **form: Any) -> Any:
    return h.sign(client, doc_id, signer=signer["id"], **form)


def _consent(h: Any, client: Any, pkg: dict[str, Any], signer: dict[str, Any], doc_id: str) -> Any:
    client.get(f"/c/s/esign/documents/{doc_id}?signer={signer['id']}", headers=h.JSON)
    token = h.csrf_from(client)
    return client.post(f"/c/s/esign/packages/{pkg['id']}/consent",
                       data={"csrf_token": token, "agree": "1", "signer": signer["id"]}, headers=h.JSON)


def test_two_signers_each_sign_every_document_then_sealed_twice(h, app, texting_package, phone,
                                                                telnyx_api) -> None:
    _shop, claim, staff, pkg = texting_package(("repair_authorization", "pickup_signoff"), signers=SIGNERS)
    owner, spouse = pkg["signers"]
    assert [owner["name"], spouse["name"]] == ["Dana Reyes", "Sam Reyes"]
    assert owner["mobile"] == "mobile ending 0100" and spouse["mobile"] == "mobile ending 0142"
    first, second = pkg["documents"]
    customer = phone(claim)

    # With two signers the page asks who is signing.
    page = customer.get(f"/c/s/esign/documents/{first['id']}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Who is signing?" in page and "I am\nDana Reyes" in page and "I am\nSam Reyes" in page
    resp = h.sign(customer, first["id"], initials="DR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "signer_required"

    # Consent is per signer: Dana's consent does not let Sam sign.
    assert _consent(h, customer, pkg, owner, first["id"]).status_code == 200
    # Sam confirms a code texted to his own mobile (Dana's portal session proves nothing about him).
    h.prove(customer, telnyx_api, pkg["id"], spouse["id"], SPOUSE_MOBILE)
    resp = _as(h, customer, pkg, spouse, first["id"], initials="SR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "consent_required"

    resp = _as(h, customer, pkg, owner, first["id"], initials="DR")
    assert resp.status_code == 200, resp.get_json()
    state = resp.get_json()
    assert state["documents"][0]["status"] == "partially_signed" and state["documents"][0]["signed_by"] == [
        "Dana Reyes"]
    assert customer.get(f"/c/s/esign/documents/{first['id']}/signed.pdf").status_code == 404  # not sealed yet
    again = _as(h, customer, pkg, owner, first["id"], initials="DR")
    assert again.status_code == 409 and again.get_json()["code"] == "already_signed"
    # Each signer signs in document order.
    assert _consent(h, customer, pkg, spouse, first["id"]).status_code == 200
    resp = _as(h, customer, pkg, spouse, second["id"], method="typed", signature="", typed_name="Sam Reyes")
    assert resp.status_code == 409 and resp.get_json()["code"] == "out_of_order"

    # The remembered choice shows the spouse's form; the owner's page says who is still to sign.
    html = customer.get(f"/c/s/esign/documents/{first['id']}?signer={owner['id']}",
                        headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "you signed this document" in html and "Sam Reyes has signed too" in html
    assert "Signing as\n<strong>Dana Reyes</strong>" in html and f"signer={spouse['id']}" in html  # switch

    resp = _as(h, customer, pkg, spouse, first["id"], method="typed", signature="", typed_name="Sam Reyes",
               initials="SR")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["documents"][0]["status"] == "signed"

    data = customer.get(f"/c/s/esign/documents/{first['id']}/signed.pdf").data
    results = _validate_all(app, data)
    assert [sig.field_name for sig, _ in results] == ["BaylineSeal1", "BaylineSeal2"]
    assert [str(sig.sig_object["/Name"]) for sig, _ in results] == ["Dana Reyes", "Sam Reyes"]
    for sig, status in results:
        assert status.intact and status.valid and status.trusted and status.bottom_line, sig.field_name
        assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert results[0][0].docmdp_level == MDPPerm.FILL_FORMS  # certifies, allowing only the next signatures
    assert results[1][0].docmdp_level == MDPPerm.NO_CHANGES  # the last one locks the document
    assert results[1][1].coverage.name == "ENTIRE_FILE"
    assert b"Signer 2 SHA-256" in data and b"Sam Reyes" in data and data.count(b"203.0.113.7") >= 2
    assert b"typed name" in data and b"drawn on screen" in data

    # Verification: page and CLI accept it; both signatures reported.
    anon = app.test_client()
    token = h.csrf_from(anon)
    result = anon.post("/plugins/esign/verify", data={"csrf_token": token, "file": (io.BytesIO(data), "x.pdf")},
                       headers=h.JSON, content_type="multipart/form-data").get_json()
    assert result["ok"] and len(result["signatures"]) == 2 and result["docmdp"] == "NO_CHANGES"
    assert "Reyes" not in str(result)

    # A third signature appended after the lock breaks the lock: not valid any more.
    from bayline_esign import keys
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    with app.app_context():
        meta = signers.PdfSignatureMetadata(field_name="Extra", name="Mallory")
        extra = keys.off_loop(signers.sign_pdf, IncrementalPdfFileWriter(io.BytesIO(data)), meta,
                              signer=keys.load_keys().signer).getvalue()
        verdict = keys.verify(extra)
        assert not verdict.ok and not verdict.bottom_line
        assert keys.verify(data).ok

    # Second document: both sign; package completes; one document.signed per sealed document.
    assert _as(h, customer, pkg, owner, second["id"], typed_name="Dana Reyes").status_code == 200
    done = _as(h, customer, pkg, spouse, second["id"], typed_name="Sam Reyes")
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    assert {s["state"] for s in done.get_json()["signers"]} == {"signed"}
    for _sig, status in _validate_all(app, staff.get(f"/plugins/esign/documents/{second['id']}/signed.pdf").data):
        assert status.bottom_line


def test_signed_pdf_lives_in_core_storage(h, app, shop_with_package, phone) -> None:
    from bayline_esign.models import EsignDocument
    from sqlalchemy import select

    from bayline.storage import get_storage
    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    assert h.sign(customer, doc["id"], initials="DR").status_code == 200
    with in_tenant(app, shop.id) as session:
        row = session.scalars(select(EsignDocument).where(EsignDocument.public_id == doc["id"])).one()
        key, inline = row.signed_pdf_key, row.signed_pdf
    assert key and key.startswith(f"t{shop.id}/esign/") and inline is None
    with app.app_context():
        stored = get_storage().get(key)
    assert staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data == stored
    assert customer.get(f"/c/s/esign/documents/{doc['id']}/signed.pdf").data == stored


def test_typed_signature_uses_the_script_font(app) -> None:
    from bayline_esign import pdf
    from PIL import Image, ImageChops

    assert pdf.SCRIPT_FONT.exists()
    assert pdf._script_font(72).getname()[0] == "Dancing Script"
    png = pdf.render_typed("Dana Reyes")
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.getchannel("A").getbbox() is not None
    # Not Pillow's default face: the same text in the default font draws different pixels.
    from PIL import ImageDraw, ImageFont

    plain = Image.new("RGBA", img.size, (255, 255, 255, 0))
    ImageDraw.Draw(plain).text((20, 20), "Dana Reyes", font=ImageFont.load_default(size=72), fill=(20, 30, 90, 255))
    assert ImageChops.difference(img, plain).getbbox() is not None


def test_signer_input_validated(h, app, shop_with_package, make_shop, make_claim, api_client) -> None:
    shop = make_shop(plan="starter")
    claim = make_claim(shop)
    staff = api_client(shop)
    url = f"/plugins/esign/claims/{claim.id}/packages"
    for signers in ([{"name": ""}], [{"name": "A"}] * 5, [{"name": "A"}, {"name": "a"}],
                    [{"name": "A", "mobile": "12"}], [{"name": "A"}, {"name": "B"}], "nope"):
        resp = staff.post(url, json={"templates": ["pickup_signoff"], "signers": signers}, headers=h.JSON)
        assert resp.status_code == 422, (signers, resp.get_json())


def test_signer_isolation(h, app, shop_with_package, phone, make_claim) -> None:
    """A signer id of another package (another claim's session) is refused; unknown ids are 404."""
    shop, claim, _staff, pkg = shop_with_package(signers=SIGNERS)
    _shop2, claim2, _staff2, pkg2 = shop_with_package(signers=SIGNERS)
    customer = phone(claim)
    doc = pkg["documents"][0]
    _consent(h, customer, pkg, pkg["signers"][0], doc["id"])
    resp = h.sign(customer, doc["id"], signer=pkg2["signers"][0]["id"], initials="DR")
    assert resp.status_code == 404
    other = phone(claim2)
    token = h.csrf_from(other)
    for path in (f"/c/s/esign/packages/{pkg['id']}/consent", f"/c/s/esign/packages/{pkg['id']}/decline",
                 f"/c/s/esign/packages/{pkg['id']}/otp", f"/c/s/esign/packages/{pkg['id']}/otp/verify"):
        resp = other.post(path, data={"csrf_token": token, "agree": "1", "reason": "x", "code": "123456",
                                      "signer": pkg["signers"][0]["id"]}, headers=h.JSON)
        assert resp.status_code == 404, path
    sibling = phone(make_claim(shop))
    token = h.csrf_from(sibling)
    resp = sibling.post(f"/c/s/esign/packages/{pkg['id']}/decline",
                        data={"csrf_token": token, "reason": "x"}, headers=h.JSON)
    assert resp.status_code == 404


def test_console_form_adds_a_second_signer(h, app, make_shop, make_claim, make_user, client_for,
                                           api_client) -> None:
    shop = make_shop(plan="starter")
    claim = make_claim(shop)
    browser = client_for(make_user(shop), shop)
    page = f"/console/claims/{claim.id}"
    html = browser.get(page).get_data(as_text=True)
    assert 'name="second_signer_name"' in html and 'name="second_signer_mobile"' in html
    token = h.csrf_from(browser, page)
    # A second signer without a mobile: the claim page again, the reason inline, the typed values kept.
    resp = browser.post(f"/plugins/esign/claims/{claim.id}/packages",
                        data={"csrf_token": token, "templates": ["pickup_signoff"], "second_signer_name": "Sam Reyes"})
    assert resp.status_code == 302
    html = browser.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Signer 2 needs a mobile number" in html and 'value="Sam Reyes"' in html
    assert 'value="pickup_signoff" checked' in html
    assert 'value="Sam Reyes"' not in browser.get(page).get_data(as_text=True)  # shown once
    assert api_client(shop).get(f"/plugins/esign/claims/{claim.id}/packages", headers=h.JSON).get_json() == []
    resp = browser.post(f"/plugins/esign/claims/{claim.id}/packages",
                        data={"csrf_token": token, "templates": ["pickup_signoff"], "second_signer_name": "Sam Reyes",
                              "second_signer_mobile": "617-555-0142"})
    assert resp.status_code == 302
    pkg = api_client(shop).get(f"/plugins/esign/claims/{claim.id}/packages", headers=h.JSON).get_json()[0]
    assert [(s["name"], s["mobile"]) for s in pkg["signers"]] == [("Dana Reyes", "mobile ending 0100"),
                                                                   ("Sam Reyes", "mobile ending 0142")]
    html = browser.get(page).get_data(as_text=True)
    assert "Signers: Dana Reyes (waiting), Sam Reyes (waiting)" in html


def test_verify_page_lists_both_signatures(h, app, texting_package, phone, telnyx_api) -> None:
    _shop, claim, staff, pkg = texting_package(signers=SIGNERS)
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.prove(customer, telnyx_api, pkg["id"], pkg["signers"][1]["id"], SPOUSE_MOBILE)
    for signer, initials in zip(pkg["signers"], ("DR", "SR"), strict=True):
        assert _consent(h, customer, pkg, signer, doc["id"]).status_code == 200
        assert _as(h, customer, pkg, signer, doc["id"], initials=initials).status_code == 200
    data = staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data
    anon = app.test_client()
    token = h.csrf_from(anon)
    html = anon.post("/plugins/esign/verify", data={"csrf_token": token, "file": (io.BytesIO(data), "x.pdf")},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "Valid: signed by this platform and unaltered" in html
    assert "Signatures: 2\n(each one valid, document locked)" in html
    runner = app.test_cli_runner()
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "two.pdf"
    path.write_bytes(data)
    out = runner.invoke(args=["esign", "verify", str(path)])
    assert out.exit_code == 0 and "VALID" in out.output and "Sam Reyes" in out.output


def test_sealing_and_verifying_inside_a_running_event_loop(app) -> None:
    """pyHanko's sync API calls asyncio.run; under a running loop (an async server, Playwright's
    sync API in the same test process) the plugin moves the call to a worker thread."""
    import asyncio
    import threading

    from bayline_esign import keys, pdf

    async def main() -> bool:
        with app.app_context():
            original = pdf.render_original("T", "body", "hdr", False)
            one = keys.seal(original, signer_name="A", reason="r")
            two = keys.seal_signers(original, [("A", "r"), ("B", "r")])
            return keys.verify(one).ok and keys.verify(two).ok

    # A thread of its own: the test process's main thread may already run a loop (Playwright's sync
    # API, kept open by the browser tests on the same xdist worker), where asyncio.run itself refuses.
    outcome: list[bool] = []
    runner = threading.Thread(target=lambda: outcome.append(asyncio.run(main())))
    runner.start()
    runner.join(timeout=120)
    assert outcome == [True]


def test_additional_signer_needs_their_own_code(h, app, texting_package, phone, telnyx_api) -> None:
    """L1 regression: the portal session belongs to the customer whose link opened it; it alone
    does not let them sign for the second signer. Before this change the first signer's session
    consented and signed as Sam with no code at all (200 on the first consent as Sam below, and on
    the sign after it); now Sam's own code, texted to his mobile and confirmed in this browser
    session, is required before his consent and signature, and wrong codes lock."""
    from bayline_esign.models import EsignOtp
    from sqlalchemy import select

    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = texting_package(signers=SIGNERS)
    owner, spouse = pkg["signers"]
    doc = pkg["documents"][0]
    customer = phone(claim)  # Dana's link
    # The primary signer keeps the shop's flow (codes off by default): consent and sign.
    assert _consent(h, customer, pkg, owner, doc["id"]).status_code == 200
    assert _as(h, customer, pkg, owner, doc["id"], initials="DR").status_code == 200
    # The same session cannot consent or sign as Sam without his code.
    resp = _consent(h, customer, pkg, spouse, doc["id"])
    assert resp.status_code == 403 and resp.get_json()["code"] == "otp_required"
    resp = _as(h, customer, pkg, spouse, doc["id"], initials="SR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "consent_required"
    state = customer.get(f"/c/s/esign/documents/{doc['id']}?signer={spouse['id']}", headers=h.JSON).get_json()
    assert state["otp_needed"] is True and state["documents"][0]["signed_by"] == ["Dana Reyes"]
    html = customer.get(f"/c/s/esign/documents/{doc['id']}?signer={spouse['id']}",
                        headers={"Accept": "text/html"}).get_data(as_text=True)
    assert "Confirm it is you, Sam Reyes" in html and "mobile ending 0142" in html and 'id="sign"' not in html
    assert 'name="agree"' not in html  # the code comes before his consent

    # A code Sam confirmed on his own phone proves nothing for Dana's browser session.
    sams_phone = phone(claim)
    h.prove(sams_phone, telnyx_api, pkg["id"], spouse["id"], SPOUSE_MOBILE)
    assert _consent(h, customer, pkg, spouse, doc["id"]).get_json()["code"] == "otp_required"
    assert _consent(h, sams_phone, pkg, spouse, doc["id"]).status_code == 200
    resp = _as(h, customer, pkg, spouse, doc["id"], initials="SR")
    assert resp.status_code == 403 and resp.get_json()["code"] == "otp_required"

    # Wrong codes: four tries left to none, then locked even for the right code.
    base = f"/c/s/esign/packages/{pkg['id']}/otp"
    assert customer.post(base, data={"csrf_token": h.csrf_from(customer), "signer": spouse["id"]},
                         headers=h.JSON).status_code == 200
    code = h.last_code(telnyx_api, SPOUSE_MOBILE)
    assert not [r for r in telnyx_api.message_posts() if code in r["json"]["text"]
                and r["json"]["to"] != SPOUSE_MOBILE]  # texted to Sam's mobile only
    wrong = "000000" if code != "000000" else "111111"

    def verify(value: str, accept: dict[str, str] = h.JSON, **extra: str) -> Any:
        return customer.post(f"{base}/verify", data={"csrf_token": h.csrf_from(customer), "signer": spouse["id"],
                                                     "code": value, **extra}, headers=accept)

    # The phone form answers a wrong code in place: a friendly page, consent and progress kept.
    page = verify(wrong, {"Accept": "text/html"}, document=doc["id"])
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "That code is not right (4 tries left)." in body
    assert "Text a new code" in body and 'name="code"' in body and "Dana Reyes" in body
    codes = [verify(wrong).get_json()["code"] for _ in range(4)]
    assert codes == ["otp_invalid"] * 3 + ["otp_locked"]
    resp = verify(code)
    assert resp.status_code == 429 and resp.get_json()["code"] == "otp_locked"
    page = verify(code, {"Accept": "text/html"}, document=doc["id"])
    assert page.status_code == 429 and "Too many wrong codes" in page.get_data(as_text=True)
    with in_tenant(app, shop.id) as session:
        rows = session.scalars(select(EsignOtp).order_by(EsignOtp.id)).all()
        assert rows[-1].attempts == 5 and rows[-1].verified_at is None
        assert all(code not in r.code_hash for r in rows)
    assert _as(h, customer, pkg, spouse, doc["id"], initials="SR").get_json()["code"] == "otp_required"

    # A new code, confirmed in this session: Sam signs, the document is sealed.
    h.prove(customer, telnyx_api, pkg["id"], spouse["id"], SPOUSE_MOBILE)
    resp = _as(h, customer, pkg, spouse, doc["id"], initials="SR")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["documents"][0]["status"] == "signed"
    data = staff.get(f"/plugins/esign/documents/{doc['id']}/signed.pdf").data
    assert b"one-time code texted to the mobile ending 0142" in data
    results = _validate_all(app, data)
    assert len(results) == 2 and all(status.bottom_line for _sig, status in results)


def test_expired_code_page_keeps_the_signer_going(h, app, texting_package, phone, telnyx_api) -> None:
    """An expired code is answered on the document page with a way to get a new one."""
    from bayline_esign.models import EsignOtp
    from sqlalchemy import select

    from bayline.db import utcnow
    from bayline.events import commit
    from bayline.testing.plugin import in_tenant

    shop, claim, _staff, pkg = texting_package(signers=SIGNERS)
    spouse = pkg["signers"][1]
    doc = pkg["documents"][0]
    customer = phone(claim)
    base = f"/c/s/esign/packages/{pkg['id']}/otp"
    back = f"/c/s/esign/documents/{doc['id']}?signer={spouse['id']}"
    sent = customer.post(base, data={"csrf_token": h.csrf_from(customer), "signer": spouse["id"],
                                     "document": doc["id"], "next": back})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(back)
    code = h.last_code(telnyx_api, SPOUSE_MOBILE)
    with in_tenant(app, shop.id) as session:
        row = session.scalars(select(EsignOtp)).one()
        row.expires_at = utcnow()
        commit(session)
    page = customer.post(f"{base}/verify", data={"csrf_token": h.csrf_from(customer), "signer": spouse["id"],
                                                 "document": doc["id"], "code": code})
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and "The code expired. Ask for a new one." in body and "Text a new code" in body


def test_code_attempts_are_counted_atomically(h, app, texting_package, phone, telnyx_api) -> None:
    """Another request uses up the code's attempts between this request's read of the code and its
    check. Before this change (``row.attempts += 1`` on the row read earlier) the stale row let the
    right code through and wrote attempts back to 1; the conditional UPDATE refuses: locked, 5."""
    from bayline_esign import service
    from bayline_esign.models import EsignOtp, EsignPackage
    from sqlalchemy import event, select, text

    from bayline.errors import Refused
    from bayline.testing.plugin import in_tenant

    shop, claim, _staff, pkg = texting_package(signers=SIGNERS)
    spouse = pkg["signers"][1]
    customer = phone(claim)
    assert customer.post(f"/c/s/esign/packages/{pkg['id']}/otp", data={
        "csrf_token": h.csrf_from(customer), "signer": spouse["id"]}, headers=h.JSON).status_code == 200
    code = h.last_code(telnyx_api, SPOUSE_MOBILE)
    with in_tenant(app, shop.id) as session:
        package = session.scalars(select(EsignPackage).where(EsignPackage.public_id == pkg["id"])).one()
        signer = service.get_signer(package, spouse["id"])
        raced: list[int] = []

        def other_request_guesses(state: Any) -> Any:
            result = state.invoke_statement()
            if state.is_select and not raced and EsignOtp in [d["entity"] for d in state.statement.column_descriptions]:
                with session.get_bind().connect() as other:  # the concurrent wrong guesses, committed
                    other.execute(text("UPDATE esign_otps SET attempts = 5"))
                    other.commit()
                raced.append(1)
            return result

        event.listen(session, "do_orm_execute", other_request_guesses)
        try:
            with pytest.raises(Refused) as refused:
                service.verify_otp(package, signer, code)
        finally:
            event.remove(session, "do_orm_execute", other_request_guesses)
        assert raced and refused.value.code == "otp_locked"
        session.rollback()
        row = session.scalars(select(EsignOtp)).one()
        assert row.attempts == 5 and row.verified_at is None
