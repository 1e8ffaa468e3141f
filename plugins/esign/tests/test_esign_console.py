"""The console's signing-template pages (issue 16): the list, the editor with inline errors that keep the
typed wording, a preview on a chosen claim (text and PDF), save = a new version, and documents that keep
the version they were prepared (and signed) from."""
from __future__ import annotations

from typing import Any

from bayline.testing.forms import csrf_token

HTML = {"Accept": "text/html"}


def _console(client_for: Any, make_user: Any, shop: Any, role: str = "owner") -> Any:
    return client_for(make_user(shop, role), shop)


def _post_editor(client: Any, **form: Any) -> Any:
    token = csrf_token(client.get("/plugins/esign/templates/edit?key=repair_authorization", headers=HTML))
    return client.post("/plugins/esign/templates/edit", data={"csrf_token": token, **form}, headers=HTML)


def test_template_list_and_editor_pages(h, app, shop_with_package, client_for, make_user) -> None:
    shop, claim, staff, _pkg = shop_with_package()
    console = _console(client_for, make_user, shop)
    page = console.get("/plugins/esign/templates", headers=HTML)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Signing templates" in html and "Repair authorization" in html
    assert "/plugins/esign/templates/edit?key=repair_authorization" in html
    # the nav reaches it (menu_items), and API callers still get JSON from the same address
    board = console.get("/console/", headers=HTML).get_data(as_text=True)
    assert 'href="/plugins/esign/templates"' in board and "Signing templates" in board
    assert isinstance(staff.get("/plugins/esign/templates").get_json(), list)
    editor = console.get("/plugins/esign/templates/edit?key=repair_authorization", headers=HTML)
    text = editor.get_data(as_text=True)
    assert editor.status_code == 200 and '<textarea id="t-body" name="body"' in text
    assert "{{ customer_name }}" in text and claim.number in text  # the wording, and the claim to preview on
    assert console.get("/plugins/esign/templates/edit?key=nope", headers=HTML).status_code == 404


def test_bad_wording_is_answered_inline_and_keeps_what_was_typed(h, app, shop_with_package, client_for,
                                                                 make_user) -> None:
    shop, claim, _staff, _pkg = shop_with_package()
    console = _console(client_for, make_user, shop)
    typed = "Dear {{ customer_name }}, see {{ no_such_field }} — my careful edit"
    resp = _post_editor(console, key="repair_authorization", title="Repair authorization", body=typed,
                        preview_claim=str(claim.id), action="save")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="t-body-error"' in html and "unknown field &#39;no_such_field&#39;" in html
    assert "my careful edit" in html and 'aria-invalid="true"' in html
    empty_title = _post_editor(console, key="repair_authorization", title=" ", body="Fine {{ claim_number }}",
                               action="save")
    assert empty_title.status_code == 422 and 'id="t-title-error"' in empty_title.get_data(as_text=True)
    assert "Fine {{ claim_number }}" in empty_title.get_data(as_text=True)
    # nothing was saved: still version 1
    versions = console.get("/plugins/esign/templates/edit?key=repair_authorization", headers=HTML)
    assert "version 1" in versions.get_data(as_text=True) and "Version 2" not in versions.get_data(as_text=True)


def _staff_json(staff: Any) -> Any:
    return staff.get("/plugins/esign/templates", headers={"Accept": "application/json"}).get_json()


def test_preview_on_a_claim_text_and_pdf_saves_nothing(h, app, shop_with_package, client_for, make_user,
                                                       make_shop, make_claim) -> None:
    shop, claim, staff, _pkg = shop_with_package()
    console = _console(client_for, make_user, shop)
    body = "I, {{ customer_name }}, approve the repair of my {{ vehicle }} ({{ claim_number }})."
    resp = _post_editor(console, key="repair_authorization", title="Repair authorization", body=body,
                        preview_claim=str(claim.id), action="preview")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="t-preview-result"' in html
    assert f"I, {claim.customer_name}, approve the repair of my 2021 Subaru Outback ({claim.number})." in html
    pdf = _post_editor(console, key="repair_authorization", title="Repair authorization", body=body,
                       preview_claim=str(claim.id), action="pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert {t["key"]: t["version"] for t in _staff_json(staff)}["repair_authorization"] == 1
    # a bad wording is not previewed; another shop's claim is not a claim to preview on
    bad = _post_editor(console, key="repair_authorization", title="T", body="{{ 7 * 7 }}",
                       preview_claim=str(claim.id), action="preview")
    assert bad.status_code == 422 and 't-body-error' in bad.get_data(as_text=True)
    other = make_claim(make_shop(plan="starter"), customer_last_name="Elsewhere")
    foreign = _post_editor(console, key="repair_authorization", title="T", body=body,
                           preview_claim=str(other.id), action="preview")
    assert foreign.status_code == 422 and "Elsewhere" not in foreign.get_data(as_text=True)
    assert 't-preview_claim-error' in foreign.get_data(as_text=True)


def test_save_is_a_new_version_and_documents_keep_theirs(h, app, shop_with_package, client_for, make_user,
                                                         phone) -> None:
    from bayline_esign.models import EsignDocument

    from bayline.testing.plugin import in_tenant

    shop, claim, staff, pkg = shop_with_package()  # prepared from version 1
    console = _console(client_for, make_user, shop)
    new_body = "I, {{ customer_name }}, authorize repair order {{ claim_number }} (second wording)."
    resp = _post_editor(console, key="repair_authorization", title="Repair authorization", body=new_body,
                        requires_initials="1", preview_claim=str(claim.id), action="save")
    assert resp.status_code == 302
    page = console.get(resp.headers["Location"], headers=HTML).get_data(as_text=True)
    assert "as version 2" in page and "Version 2" in page and "Version 1" in page
    assert "1 document prepared from it" in page  # version 1, the package above
    # the claim page prepares from version 2 and shows which version each document came from
    claim_page = console.get(f"/console/claims/{claim.id}", headers=HTML).get_data(as_text=True)
    assert "(version 2)" in claim_page and "template version 1" in claim_page
    token = csrf_token(console.get(f"/console/claims/{claim.id}", headers=HTML))
    made = console.post(f"/plugins/esign/claims/{claim.id}/packages", headers=HTML,
                        data={"csrf_token": token, "templates": "repair_authorization"})
    assert made.status_code == 302
    packages = staff.get(f"/plugins/esign/claims/{claim.id}/packages", headers=h.JSON).get_json()
    assert [p["documents"][0]["template_version"] for p in packages] == [2, 1]

    # the customer signs the version-1 document after version 2 exists: it stays version 1
    customer = phone(claim)
    doc = pkg["documents"][0]
    assert h.consent(customer, pkg["id"], doc["id"]).status_code == 200
    assert h.sign(customer, doc["id"], initials="DR").status_code == 200
    signed = staff.get(f"/plugins/esign/packages/{pkg['id']}", headers=h.JSON).get_json()
    assert signed["documents"][0]["status"] == "signed" and signed["documents"][0]["template_version"] == 1
    with in_tenant(app, shop.id) as session:
        row = session.query(EsignDocument).filter_by(public_id=doc["id"]).one()
        assert row.template.version == 1 and "second wording" not in row.body_text
        newer = session.query(EsignDocument).filter_by(public_id=packages[0]["documents"][0]["id"]).one()
        assert "second wording" in newer.body_text and newer.requires_initials


def test_a_new_custom_template_and_who_may_edit(h, app, shop_with_package, client_for, make_user) -> None:
    shop, _claim, staff, _pkg = shop_with_package()
    console = _console(client_for, make_user, shop)
    token = csrf_token(console.get("/plugins/esign/templates/edit", headers=HTML))
    clash = console.post("/plugins/esign/templates/edit", headers=HTML, data={
        "csrf_token": token, "new_key": "1", "key": "repair_authorization", "title": "Dup", "body": "x"})
    assert clash.status_code == 422 and "exists already" in clash.get_data(as_text=True)
    made = console.post("/plugins/esign/templates/edit", headers=HTML, data={
        "csrf_token": token, "new_key": "1", "key": "loaner_car", "title": "Loaner car agreement",
        "body": "I, {{ customer_name }}, take a loaner car during repair order {{ claim_number }}."})
    assert made.status_code == 302
    assert {t["key"]: t["version"] for t in _staff_json(staff)}["loaner_car"] == 1
    # an advisor sees the wording but cannot change it
    advisor = _console(client_for, make_user, shop, "advisor")
    view = advisor.get("/plugins/esign/templates/edit?key=loaner_car", headers=HTML).get_data(as_text=True)
    assert "readonly" in view and 'id="t-save"' not in view
    token = csrf_token(advisor.get("/plugins/esign/templates/edit?key=loaner_car", headers=HTML))
    denied = advisor.post("/plugins/esign/templates/edit", headers=HTML, data={
        "csrf_token": token, "key": "loaner_car", "title": "X", "body": "x", "action": "save"})
    assert denied.status_code == 403
