"""/api/v1/claims/<id>/photos and /attachments: documented, multipart upload, patch, soft delete."""
from __future__ import annotations

import io

from PIL import Image

from . import images


def _post(client, url, files, **form):
    data = {**form, "files": [(io.BytesIO(b), n) for b, n in files]}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_openapi_documents_the_photo_routes(app):
    spec = app.test_client().get("/api/v1/openapi.json").json
    photos = spec["paths"]["/api/v1/claims/{claim_id}/photos"]
    assert {"get", "post"} <= set(photos)
    body = photos["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    props = body["properties"] if "properties" in body else spec["components"]["schemas"][
        body["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"files", "tag", "visibility"} <= set(props)
    assert {"413", "415", "422"} <= set(photos["post"]["responses"])
    assert {"get", "patch", "delete"} <= set(spec["paths"]["/api/v1/claims/{claim_id}/photos/{photo_id}"])
    assert "get" in spec["paths"]["/api/v1/claims/{claim_id}/photos/{photo_id}/content"]
    assert {"get", "post"} <= set(spec["paths"]["/api/v1/claims/{claim_id}/attachments"])
    assert {"get", "patch", "delete"} <= set(
        spec["paths"]["/api/v1/claims/{claim_id}/attachments/{attachment_id}"])


def test_photo_lifecycle_over_the_api(app, bay, api_client, events):
    key = api_client(bay.shop, scopes=("write",))
    base = f"/api/v1/claims/{bay.claim.id}/photos"
    r = _post(key, base, [(images.jpeg(), "a.jpg"), (images.png(), "b.png")], tag="after", visibility="internal")
    assert r.status_code == 201, r.get_data(as_text=True)
    assert [(p["tag"], p["visibility"], p["status"]) for p in r.json] == [("after", "internal", "ready")] * 2
    first = r.json[0]
    assert first["width"] == 640 and len(first["sha256"]) == 64 and "key" not in first
    assert not [e for e in events if e.type == "photo.published"]

    listed = key.get(base)
    assert listed.status_code == 200 and [p["id"] for p in listed.json] == [p["id"] for p in r.json]
    one = f"{base}/{first['id']}"
    r = key.patch(one, json={"visibility": "customer", "caption": "Rear bumper"})
    assert r.status_code == 200 and r.json["visibility"] == "customer" and r.json["published_at"]
    assert [e.payload["photo_id"] for e in events if e.type == "photo.published"] == [first["id"]]
    bad = key.patch(one, json={"tag": "upside-down"})
    assert bad.status_code == 422 and bad.json["code"] == "invalid_tag"
    bad = key.patch(one, json={"visibility": "everyone"})
    assert bad.status_code == 422 and bad.json["code"] == "validation_error"

    thumb = key.get(f"{one}/content?variant=thumb")
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).format == "WEBP"
    assert key.get(f"{one}/content?variant=poster").status_code == 422

    assert key.delete(one).status_code == 204
    assert [p["id"] for p in key.get(base).json] == [r.json["id"] for r in [key.get(f"{base}/{r2}") for r2 in
                                                                            [listed.json[1]["id"]]]]
    deleted = key.get(f"{base}?include_deleted=true").json
    assert [p["deleted_at"] is not None for p in deleted] == [True, False]
    assert key.get(f"{one}/content").status_code == 404
    assert key.patch(one, json={"tag": "before"}).status_code == 409


def test_api_upload_refusals_are_json(app, bay, api_client):
    key = api_client(bay.shop)
    base = f"/api/v1/claims/{bay.claim.id}/photos"
    r = _post(key, base, [(images.HTML_POLYGLOT, "x.jpg")])
    assert r.status_code == 415 and r.json["code"] == "unsupported_file_type" and "x.jpg" in r.json["errors"]["files"]
    r = _post(key, base, [(images.png_bomb(), "bomb.png")])
    assert r.status_code == 422 and r.json["code"] == "image_too_large"
    r = key.post(base, json={})
    assert r.status_code == 422 and r.json["code"] == "validation_error"
    huge = images.jpeg() + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    r = _post(key, base, [(huge, "huge.jpg")])
    assert r.status_code == 413 and r.json["code"] == "payload_too_large"
    assert key.get(base).json == []


def test_attachments_over_the_api(app, bay, api_client, portal_client, events):
    from .conftest import customer_upload, portal_csrf

    portal = portal_client(bay.claim)
    customer_upload(portal, [(images.pdf(), "estimate.pdf")], portal_csrf(portal))
    key = api_client(bay.shop)
    base = f"/api/v1/claims/{bay.claim.id}/attachments"
    r = _post(key, base, [(images.pdf(3), "supplement.pdf")], note="Supplement 1")
    assert r.status_code == 201 and r.json[0]["source"] == "staff" and r.json[0]["note"] == "Supplement 1"
    assert len([e for e in events if e.type == "upload.received"]) == 1  # only the customer's upload notifies
    rows = key.get(base).json
    assert [(a["filename"], a["source"]) for a in rows] == [("estimate.pdf", "customer"), ("supplement.pdf", "staff")]
    content = key.get(f"{base}/{rows[0]['id']}/content")
    assert content.status_code == 200 and content.data.startswith(b"%PDF")
    assert content.headers["Content-Disposition"].startswith("attachment")
    r = _post(key, base, [(images.MALFORMED_PDF, "broken.pdf")])
    assert r.status_code == 422 and r.json["code"] == "unreadable_pdf"
    assert key.patch(f"{base}/{rows[1]['id']}", json={"note": "Supp 1 (approved)"}).json["note"] == "Supp 1 (approved)"
    assert key.delete(f"{base}/{rows[0]['id']}").status_code == 204
    assert [a["filename"] for a in key.get(base).json] == ["supplement.pdf"]
    assert key.get(f"{base}/{rows[0]['id']}/content").status_code == 404


def test_read_only_key_cannot_upload(app, bay, api_client):
    key = api_client(bay.shop, scopes=("read",))
    r = _post(key, f"/api/v1/claims/{bay.claim.id}/photos", [(images.jpeg(), "a.jpg")])
    assert r.status_code == 403 and r.json["code"] == "permission_denied"
    assert key.get(f"/api/v1/claims/{bay.claim.id}/photos").status_code == 200
