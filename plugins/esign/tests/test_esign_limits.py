"""Issue 17 M5 and M7: resource limits of the e-signature plugin.

M5: a drawn signature had no pixel limit (an 8 KB 8000x8000 PNG cost 4.5 s and +460 MB and was sealed
into the PDF; a bigger one was a 500, DecompressionBombError); now the size is checked from the header,
before decoding, and anything too large is a 422 ``signature_invalid``.
M7: ``{{ 7**16000000 }}`` in a shop template held a request 84 s (GIL) then a 500; shop templates are a
restricted language (fields, text, if) and any error is a 422 ``template_error``.
"""
from __future__ import annotations

import base64
import zlib

import pytest


def _png_data_url(width: int, height: int) -> str:
    """A valid, highly compressible PNG of ``width`` x ``height`` (tiny on the wire, huge decoded)."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * width  # filter byte + greyscale pixels
    raw = zlib.compress(row * height, 9)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", raw) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode()


@pytest.mark.parametrize("size", [(8000, 8000), (30000, 30000), (1300, 100)])
def test_oversized_signature_is_refused_before_decoding(h, app, shop_with_package, phone, size) -> None:
    _shop, claim, staff, pkg = shop_with_package()
    doc = pkg["documents"][0]
    customer = phone(claim)
    h.consent(customer, pkg["id"], doc["id"])
    resp = h.sign(customer, doc["id"], signature=_png_data_url(*size), initials="DR")
    assert resp.status_code == 422 and resp.get_json()["code"] == "signature_invalid", resp.get_json()
    assert staff.get(f"/plugins/esign/packages/{pkg['id']}").get_json()["documents"][0]["signed_sha256"] is None


def test_decode_checks_pixels_from_the_header() -> None:
    from bayline_esign import pdf

    with pytest.raises(pdf.SignatureImageError, match="too large"):
        pdf.decode_drawn(_png_data_url(8000, 8000))


@pytest.mark.parametrize("evil", [
    "{{ 7**16000000 }}", "{{ 9*9*9*9 }}", "{{ 'x' * 100000000 }}", "{{ customer_name|center(100000000) }}",
    "{% for i in range(10**8) %}x{% endfor %}", "{{ claim_number ~ claim_number }}", "{{ range(5) }}",
    "{% set x = 1 %}", "{{ customer_name.upper() }}", "{{ customer_name[0] }}", "x" * 20_001,
])
def test_templates_allow_fields_and_ifs_only(h, app, shop_with_package, evil) -> None:
    _shop, _claim, staff, _pkg = shop_with_package()
    resp = staff.post("/plugins/esign/templates", json={"key": "loaner", "title": "Loaner", "body": evil,
                                                        "requires_initials": False}, headers=h.JSON)
    assert resp.status_code == 422 and resp.get_json()["code"] == "template_error", resp.get_json()


def test_the_restricted_language_keeps_every_builtin() -> None:
    from bayline_esign.templating import BUILTIN, FIELDS, render_body

    sample = {name: "x" for name in FIELDS}
    for template in BUILTIN.values():
        assert render_body(template["body"], sample)
    assert render_body("{% if insurer == 'Acme' %}A{% elif insurer != 'B' %}B{% else %}C{% endif %}",
                       {**sample, "insurer": "Acme"}) == "A"


@pytest.mark.parametrize("body", [{"templates": 5}, {"templates": [5]}, {"templates": [{"a": 1}]},
                                  {"templates": ["repair_authorization"], "title": 7},
                                  {"templates": ["repair_authorization"], "signer_name": ["x"]}])
def test_package_input_types_are_checked(h, app, make_shop, make_claim, api_client, body) -> None:
    """L8: ``templates: 5`` (and other non-text values) in the package JSON were a 500."""
    shop = make_shop()
    claim = make_claim(shop)
    resp = api_client(shop).post(f"/plugins/esign/claims/{claim.id}/packages", json=body, headers=h.JSON)
    assert resp.status_code == 422 and resp.get_json()["code"] == "validation_error", resp.get_json()
