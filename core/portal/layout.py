"""Layout of the printed check-in documents (reportlab): one shared header, one QR block.

Documents: the work order (Letter or A4, shop setting ``documents.paper``), the rear-view-mirror
hang tag (3.5 x 8.5 in die-cut) and the check-in receipt (80 mm thermal roll). Every document
carries its own portal link as a QR with the link's short URL printed under it (to type by hand),
"Point your phone camera here", and the shop PIN when the shop's verification asks for one.
"""
from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import segno

from bayline.claims.models import Claim
from bayline.phones import pretty
from bayline.plugins.types import Brand
from bayline.tenants.models import Shop

if TYPE_CHECKING:  # reportlab is imported by the first document printed, not with the app
    from reportlab.pdfgen.canvas import Canvas

# PostScript points, the values of reportlab.lib.units and reportlab.lib.pagesizes
inch = 72.0
mm = 72.0 / 25.4
LETTER = (8.5 * inch, 11 * inch)
A4 = (210 * mm, 297 * mm)

CAMERA = "Point your phone camera here"
PAPER = {"letter": LETTER, "a4": A4}


@dataclass(frozen=True)
class Sheet:
    """What one printed page shows besides the claim: the link and the shop's print settings."""

    claim: Claim
    shop: Shop
    url: str
    short_url: str | None = None  # the typable form printed under the QR (the QR holds ``url``)
    pin: str | None = None  # printed when the shop's verification asks for its PIN
    terms: str = ""
    notes: str | None = None  # damage / notes, when the shop prints them
    brand: Brand | None = None  # hook ``branding``: the logo and primary colour of the header


def qr_png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def display_url(url: str) -> str:
    """The link as printed under the QR: without the scheme, which nobody needs to type."""
    return url.split("://", 1)[-1]


def _local(shop: Shop, value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(shop.timezone or "UTC")).strftime("%b %d, %Y %H:%M")


def vehicle_line(claim: Claim) -> str:
    return " ".join(p for p in (claim.vehicle or "", f"({claim.vehicle_color})" if claim.vehicle_color else "") if p)


def header(c: Canvas, sheet: Sheet, title: str, x: float, top: float, width: float, compact: bool = False) -> float:
    """Shop name, address and phone (with the brand's logo and a bar of its primary colour), then
    the document title and claim number; returns the y below."""
    shop, claim = sheet.shop, sheet.claim
    y = top
    if sheet.brand is not None:
        x, y = _brand_band(c, sheet.brand, x, top, width, compact)
    c.setFont("Helvetica-Bold", 11 if compact else 18)
    c.drawString(x, y, (sheet.brand.name if sheet.brand is not None else shop.name)[:48])
    c.setFont("Helvetica", 7.5 if compact else 10)
    for line in (shop.address or "", pretty(shop.phone) if shop.phone else ""):
        if line:
            y -= 10 if compact else 14
            c.drawString(x, y, line[:60])
    y -= 16 if compact else 26
    c.setFont("Helvetica-Bold", 10 if compact else 14)
    c.drawString(x, y, f"{title} · {claim.number}")
    c.setLineWidth(0.6)
    c.line(x, y - 5, x + width, y - 5)
    return y - (14 if compact else 22)


def _brand_band(c: Canvas, brand: Brand, x: float, top: float, width: float, compact: bool) -> tuple[float, float]:
    """A bar of the brand's primary colour above the header and the logo at its left; returns where
    the shop's name goes."""
    from reportlab.lib.colors import HexColor
    from reportlab.lib.utils import ImageReader

    bar = 4 if compact else 6
    c.saveState()
    c.setFillColor(HexColor(brand.primary))
    c.rect(x, top + (8 if compact else 14), width, bar, stroke=0, fill=1)
    c.restoreState()
    logo = brand.logo_png() if brand.logo_png is not None else None
    if not logo:
        return x, top
    side = 22 if compact else 40
    try:
        reader = ImageReader(io.BytesIO(logo))
        w, h = reader.getSize()
        draw_w = side * w / h if h else side
        c.drawImage(reader, x, top - side + (10 if compact else 16), min(draw_w, side * 4), side, mask="auto",
                    preserveAspectRatio=True)
    except Exception:  # a logo that does not draw never stops the print
        return x, top
    return x + min(draw_w, side * 4) + 8, top


def qr_block(c: Canvas, sheet: Sheet, cx: float, top: float, size: float, small: bool = False) -> float:
    """The QR centred on ``cx`` below ``top``, the camera line, the typable URL and the PIN; returns
    the y below the block."""
    from reportlab.lib.utils import ImageReader

    c.setFont("Helvetica-Bold", 8 if small else 11)
    c.drawCentredString(cx, top - 10, CAMERA)
    y = top - 14 - size
    c.drawImage(ImageReader(io.BytesIO(qr_png(sheet.url, scale=10))), cx - size / 2, y, size, size)
    c.setFont("Courier-Bold" if sheet.short_url else "Courier", (11 if small else 12) if sheet.short_url
              else (5.5 if small else 7))
    shown = display_url(sheet.short_url or sheet.url)
    per_line = int((size + (0 if small else 60)) / (3.3 if small else 4.2))
    for line in textwrap.wrap(shown, max(per_line, 20), break_on_hyphens=False) or [shown]:
        y -= 13 if sheet.short_url else (7 if small else 9)
        c.drawCentredString(cx, y, line)
    if sheet.pin:
        y -= 11 if small else 14
        c.setFont("Helvetica-Bold", 8 if small else 11)
        c.drawCentredString(cx, y, f"Shop PIN: {sheet.pin}")
    return y - 6


def _rows(c: Canvas, x: float, y: float, rows: list[tuple[str, str]], label_w: float, size: float = 10,
          step: float = 15) -> float:
    for label, value in rows:
        c.setFont("Helvetica-Bold", size)
        c.drawString(x, y, f"{label}:")
        c.setFont("Helvetica", size)
        c.drawString(x + label_w, y, value[:70])
        y -= step
    return y


def _wrapped(c: Canvas, x: float, y: float, text: str, chars: int, size: float = 9, step: float = 11) -> float:
    c.setFont("Helvetica", size)
    for paragraph in text.splitlines() or [""]:
        for line in textwrap.wrap(paragraph, chars) or [""]:
            c.drawString(x, y, line)
            y -= step
    return y


def work_order(c: Canvas, sheet: Sheet, page: tuple[float, float]) -> None:
    claim, shop = sheet.claim, sheet.shop
    width, height = page
    margin = 0.7 * inch
    qr_size = 1.9 * inch
    body_w = width - 2 * margin
    y = header(c, sheet, "Work order", margin, height - margin, body_w)
    qr_block(c, sheet, width - margin - qr_size / 2, y + 4, qr_size)
    rows = [("Date in", _local(shop, claim.created_at)),
            ("ETA / promised", claim.eta.strftime("%b %d, %Y") if claim.eta else "to be confirmed"),
            ("Claim / RO #", claim.number),
            ("Insurer", claim.insurer or ("Customer pay" if claim.claim_type != "insurance" else "")),
            ("Insurer claim #", claim.insurer_claim_number or ""),
            ("Adjuster", " · ".join(p for p in (claim.adjuster_name or "", pretty(claim.adjuster_phone)
                                                  if claim.adjuster_phone else "") if p))]
    y = _rows(c, margin, y - 4, rows, 1.3 * inch)
    y -= 8
    c.setFont("Helvetica-Bold", 12)
    c.drawString(margin, y, "Customer")
    y = _rows(c, margin, y - 16, [("Name", claim.customer_name),
                                  ("Mobile", pretty(claim.customer_mobile) if claim.customer_mobile else ""),
                                  ("Email", claim.customer_email or "")], 1.3 * inch)
    y -= 8
    c.setFont("Helvetica-Bold", 12)
    c.drawString(margin, y, "Vehicle")
    y = _rows(c, margin, y - 16, [("Vehicle", vehicle_line(claim)), ("VIN", claim.vin or ""),
                                  ("Plate", claim.plate or "")], 1.3 * inch)
    y = min(y, height - margin - 3.6 * inch) - 10
    c.setFont("Helvetica-Bold", 12)
    c.drawString(margin, y, "Damage / notes")
    box_h = 2.2 * inch
    c.rect(margin, y - 6 - box_h, body_w, box_h)
    if sheet.notes:
        _wrapped(c, margin + 6, y - 20, sheet.notes, int(body_w / 4.6))
    y = y - 6 - box_h - 24
    c.setFont("Helvetica-Bold", 12)
    c.drawString(margin, y, "Authorization")
    y = _wrapped(c, margin, y - 14, sheet.terms, int(body_w / 4.4))
    y -= 30
    c.setLineWidth(0.8)
    c.line(margin, y, margin + 3.6 * inch, y)
    c.line(width - margin - 2 * inch, y, width - margin, y)
    c.setFont("Helvetica", 8)
    c.drawString(margin, y - 10, f"Customer signature ({claim.customer_name})")
    c.drawString(width - margin - 2 * inch, y - 10, "Date")
    c.setFont("Helvetica", 7.5)
    c.drawString(margin, margin / 2, f"Follow this repair at any time: scan the code above. {shop.name}")


HANG_TAG = (3.5 * inch, 8.5 * inch)


def hang_tag(c: Canvas, sheet: Sheet, page: tuple[float, float]) -> None:
    claim = sheet.claim
    width, height = page
    c.circle(width / 2, height - 1.0 * inch, 0.7 * inch)  # die-cut guide for the mirror
    y = header(c, sheet, "Hang tag", 0.25 * inch, height - 2.0 * inch, width - 0.5 * inch, compact=True)
    c.setFont("Helvetica-Bold", 26)
    c.drawCentredString(width / 2, y - 20, claim.number)
    c.setFont("Helvetica", 10)
    c.drawCentredString(width / 2, y - 36, vehicle_line(claim)[:40])
    c.drawCentredString(width / 2, y - 50, f"ETA {claim.eta.strftime('%b %d')}" if claim.eta else "")
    qr_block(c, sheet, width / 2, y - 60, 2.4 * inch, small=True)


RECEIPT = (80 * mm, 140 * mm)


def receipt(c: Canvas, sheet: Sheet, page: tuple[float, float]) -> None:
    claim, shop = sheet.claim, sheet.shop
    width, height = page
    x = 5 * mm
    y = header(c, sheet, "Check-in receipt", x, height - 8 * mm, width - 2 * x, compact=True)
    rows = [("Date in", _local(shop, claim.created_at)), ("Customer", claim.customer_name),
            ("Vehicle", vehicle_line(claim)), ("ETA", claim.eta.strftime("%b %d, %Y") if claim.eta else "TBC"),
            ("Insurer", claim.insurer or ""), ("Claim #", claim.insurer_claim_number or "")]
    y = _rows(c, x, y, [r for r in rows if r[1]], 15 * mm, size=7, step=9.5)
    qr_block(c, sheet, width / 2, y - 2, 46 * mm, small=True)


Draw = Callable[["Canvas", Sheet, tuple[float, float]], None]
