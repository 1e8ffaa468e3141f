"""Hostile and broken files: each gets a clear 4xx JSON answer and leaves no rows and no stored bytes."""
from __future__ import annotations

import pytest

from bayline.photos.models import Attachment, FileAudit, Photo

from . import images
from .conftest import count_rows, customer_upload, portal_csrf, stored_keys

BAD_FILES = [
    ("png_bomb", lambda: images.png_bomb(), "bomb.png", 422, "image_too_large"),
    ("truncated_jpeg", lambda: images.jpeg(1600, 1200)[:9000], "cut.jpg", 422, "unreadable_image"),
    ("html_renamed_jpg", lambda: images.HTML_POLYGLOT, "photo.jpg", 415, "unsupported_file_type"),
    ("svg", lambda: images.SVG, "logo.svg", 415, "unsupported_file_type"),
    ("elf_executable", lambda: images.ELF, "run.jpg", 415, "unsupported_file_type"),
    ("windows_exe", lambda: images.WINDOWS_EXE, "setup.exe", 415, "unsupported_file_type"),
    ("empty", lambda: b"", "empty.jpg", 422, "empty_file"),
    ("text_as_jpeg", lambda: b"just some text, honestly a jpeg", "notes.jpg", 415, "unsupported_file_type"),
]


def _nothing_left(app, shop_id):
    assert count_rows(app, shop_id, Photo) == 0
    assert count_rows(app, shop_id, Attachment) == 0
    assert count_rows(app, shop_id, FileAudit) == 0
    assert stored_keys(app) == []


@pytest.mark.parametrize("name,make,filename,status,code", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_staff_upload_refuses_bad_file(app, bay, name, make, filename, status, code):
    r = bay.upload([(images.jpeg(), "good-first.jpg"), (make(), filename)])
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.json["code"] == code and r.json["status"] == status
    assert r.json["message"] and filename in r.json["errors"]["files"]
    _nothing_left(app, bay.shop.id)  # the good file in the same request was not kept either


def test_decompression_bomb_under_the_pillow_default_limit_is_refused_by_the_shop_limit(app, bay, set_setting):
    set_setting(bay.shop, "photos.max_megapixels", 1)
    r = bay.upload([(images.jpeg(1500, 1000, gps=False), "big.jpg")])
    assert r.status_code == 422 and r.json["code"] == "image_too_large" and "1 megapixels" in r.json["message"]
    _nothing_left(app, bay.shop.id)


def test_over_the_request_limit_is_413_json(app, bay, app_config):
    huge = images.jpeg() + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    r = bay.upload([(huge, "huge.jpg")])
    assert r.status_code == 413 and r.is_json
    assert r.json["code"] == "payload_too_large" and r.json["status"] == 413
    _nothing_left(app, bay.shop.id)


def test_over_the_shop_file_limit_is_413_json(app, bay, set_setting):
    set_setting(bay.shop, "uploads.max_file_mb", 1)
    big = images.jpeg(2000, 2000, gps=False, quality=100)
    big += b"\0" * max(0, 1024 * 1024 + 1 - len(big))
    r = bay.upload([(big, "big.jpg")])
    assert r.status_code == 413 and r.json["code"] == "file_too_large" and "1 MB" in r.json["message"]
    _nothing_left(app, bay.shop.id)


def test_fifty_files_at_once_is_refused(app, bay):
    small = images.jpeg(32, 32, gps=False)
    r = bay.upload([(small, f"f{i}.jpg") for i in range(50)])
    assert r.status_code == 413 and r.json["code"] == "too_many_files" and "at most 10" in r.json["message"]
    _nothing_left(app, bay.shop.id)


def test_no_file_is_a_clear_400(app, bay):
    r = bay.upload([])
    assert r.status_code == 400 and r.json["code"] == "no_files"


@pytest.mark.parametrize("name,make,filename,status,code", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_customer_upload_refuses_bad_file(app, bay, portal_client, name, make, filename, status, code):
    portal = portal_client(bay.claim)
    r = customer_upload(portal, [(images.pdf(), "estimate.pdf"), (make(), filename, "image/jpeg")],
                        portal_csrf(portal))
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.json["code"] == code and r.json["message"]
    _nothing_left(app, bay.shop.id)


def test_customer_malformed_pdf_refused(app, bay, portal_client):
    portal = portal_client(bay.claim)
    r = customer_upload(portal, [(images.MALFORMED_PDF, "estimate.pdf", "application/pdf")], portal_csrf(portal))
    assert r.status_code == 422 and r.json["code"] == "unreadable_pdf"
    _nothing_left(app, bay.shop.id)


def test_customer_over_limit_is_413_json(app, bay, portal_client):
    portal = portal_client(bay.claim)
    csrf = portal_csrf(portal)
    huge = images.pdf() + b"\0" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    r = customer_upload(portal, [(huge, "big.pdf")], csrf)
    assert r.status_code == 413 and r.is_json and r.json["code"] == "payload_too_large"
    _nothing_left(app, bay.shop.id)


def test_customer_html_form_shows_the_reason(app, bay, portal_client):
    portal = portal_client(bay.claim)
    r = customer_upload(portal, [(images.SVG, "x.svg")], portal_csrf(portal), json=False)
    assert r.status_code == 303 and r.headers["Location"].endswith("/c/s/#uploads")
    assert "This file type is not accepted" in portal.get("/c/s/").get_data(as_text=True)
    _nothing_left(app, bay.shop.id)
