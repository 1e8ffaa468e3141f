"""QR codes (segno) and printable documents (reportlab) that carry a claim's portal link.

Documents: the work order (letter page), the rear-view-mirror hang tag (3.5 x 8.5 in die-cut)
and the check-in receipt (80 mm thermal roll). Printing issues a new link (the old one stops)
unless the caller passes the claim's current link back ("reprint same link"): only the hash of
a link is stored, so the same link can be reused only by whoever still holds it.
"""
from __future__ import annotations

import io
from collections.abc import Callable

import segno
from marshmallow import ValidationError
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from bayline.claims.models import Claim
from bayline.phones import pretty
from bayline.tenants.models import Shop

from . import tokens

CAPTION = "Scan to track your repair"


def qr_svg(url: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=False,
                                    title="Repair status QR code")
    return out.getvalue()


def qr_png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def link_for_print(claim: Claim, same_link: str | None, user_id: int | None) -> tokens.IssuedLink:
    """A new link, or the claim's current one when the caller hands it back."""
    if same_link:
        raw = same_link.rstrip("/").rsplit(tokens.PATH_PREFIX, 1)[-1]
        found = tokens.lookup(raw)
        if found is None or found[1].id != claim.id:
            raise ValidationError({"link": ["is not the current link of this claim; print with a new link"]})
        return tokens.IssuedLink(found[0], raw)
    return tokens.issue(claim, user_id)


def _qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    canvas.drawImage(ImageReader(io.BytesIO(qr_png(url, scale=10))), x, y, size, size)


def _shop_lines(shop: Shop) -> list[str]:
    lines = [shop.name]
    if shop.address:
        lines.append(shop.address)
    if shop.phone:
        lines.append(pretty(shop.phone))
    return lines


def _work_order(canvas: Canvas, claim: Claim, shop: Shop, url: str) -> None:
    width, height = LETTER
    y = height - 0.8 * inch
    canvas.setFont("Helvetica-Bold", 18)
    canvas.drawString(0.8 * inch, y, shop.name)
    canvas.setFont("Helvetica", 10)
    for line in _shop_lines(shop)[1:]:
        y -= 14
        canvas.drawString(0.8 * inch, y, line)
    y -= 36
    canvas.setFont("Helvetica-Bold", 14)
    canvas.drawString(0.8 * inch, y, f"Work order {claim.number}")
    canvas.setFont("Helvetica", 11)
    rows = [("Customer", claim.customer_name), ("Mobile", pretty(claim.customer_mobile) if claim.customer_mobile
                                                   else ""),
            ("Vehicle", " ".join(p for p in (claim.vehicle, claim.vehicle_color or "") if p)),
            ("VIN", claim.vin or ""), ("Plate", claim.plate or ""),
            ("Insurer", claim.insurer or "Customer pay"), ("Insurer claim #", claim.insurer_claim_number or "")]
    for label, value in rows:
        y -= 18
        canvas.drawString(0.8 * inch, y, f"{label}:")
        canvas.drawString(2.2 * inch, y, value)
    size = 2.2 * inch
    _qr(canvas, url, width - 0.8 * inch - size, height - 1.0 * inch - size, size)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(width - 0.8 * inch - size / 2, height - 1.15 * inch - size, CAPTION)


def _hang_tag(canvas: Canvas, claim: Claim, shop: Shop, url: str) -> None:
    width, height = 3.5 * inch, 8.5 * inch
    canvas.circle(width / 2, height - 1.1 * inch, 0.75 * inch)  # die-cut guide for the mirror
    canvas.setFont("Helvetica-Bold", 28)
    canvas.drawCentredString(width / 2, height - 2.5 * inch, claim.number)
    canvas.setFont("Helvetica", 11)
    canvas.drawCentredString(width / 2, height - 2.8 * inch, claim.vehicle or "")
    size = 2.8 * inch
    _qr(canvas, url, (width - size) / 2, 1.3 * inch, size)
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(width / 2, 1.05 * inch, CAPTION)
    canvas.setFont("Helvetica", 9)
    canvas.drawCentredString(width / 2, 0.6 * inch, shop.name)


RECEIPT_WIDTH = 80 * mm
RECEIPT_HEIGHT = 150 * mm


def _receipt(canvas: Canvas, claim: Claim, shop: Shop, url: str) -> None:
    width, height = RECEIPT_WIDTH, RECEIPT_HEIGHT
    y = height - 8 * mm
    canvas.setFont("Helvetica-Bold", 11)
    for line in _shop_lines(shop):
        canvas.drawCentredString(width / 2, y, line[:42])
        canvas.setFont("Helvetica", 8)
        y -= 4.5 * mm
    y -= 3 * mm
    canvas.setFont("Helvetica-Bold", 10)
    canvas.drawCentredString(width / 2, y, f"Check-in receipt · {claim.number}")
    canvas.setFont("Helvetica", 8)
    for line in (claim.customer_name, claim.vehicle or "", claim.insurer or ""):
        if line:
            y -= 4.5 * mm
            canvas.drawCentredString(width / 2, y, line[:48])
    size = 50 * mm
    _qr(canvas, url, (width - size) / 2, y - 6 * mm - size, size)
    canvas.setFont("Helvetica-Bold", 9)
    canvas.drawCentredString(width / 2, y - 10 * mm - size, CAPTION)


DOCUMENTS: dict[str, tuple[str, tuple[float, float], Callable[[Canvas, Claim, Shop, str], None]]] = {
    "work-order": ("Work order", LETTER, _work_order),
    "hang-tag": ("Mirror hang tag", (3.5 * inch, 8.5 * inch), _hang_tag),
    "receipt": ("Check-in receipt", (RECEIPT_WIDTH, RECEIPT_HEIGHT), _receipt),
}


def render(kind: str, pages: list[tuple[Claim, Shop, str]]) -> bytes:
    """A PDF with one page per (claim, shop, url) (batch printing passes several)."""
    if kind not in DOCUMENTS:
        raise ValidationError({"document": [f"must be one of: {', '.join(DOCUMENTS)}"]})
    title, size, draw = DOCUMENTS[kind]
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=size, invariant=True)
    canvas.setTitle(title)
    for claim, shop, url in pages:
        draw(canvas, claim, shop, url)
        canvas.showPage()
    canvas.save()
    return out.getvalue()
