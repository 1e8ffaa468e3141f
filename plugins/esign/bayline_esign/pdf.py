"""PDF rendering (reportlab): the document as reviewed, and the signed copy with its audit page."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont, UnidentifiedImageError
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Image, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SIGNATURE_SIZE = (1200, 400)
"""The pad is 600x160; twice that in each direction is allowed, checked before any pixel is decoded
(an 8 KB 8000x8000 PNG cost 4.5 s and 460 MB before, a bigger one a DecompressionBombError 500)."""
# Dancing Script (SIL Open Font License 1.1, from Debian's fonts-dancingscript; licence beside it).
SCRIPT_FONT = Path(__file__).parent / "fonts" / "DancingScript-Regular.otf"


class SignatureImageError(ValueError):
    """The signature image is missing, not a PNG, too large or blank."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _styles() -> Any:
    return getSampleStyleSheet()


def _body_flowables(title: str, body: str, header: str) -> list[Any]:
    st = _styles()
    out: list[Any] = [Paragraph(escape(header), st["Normal"]), Spacer(1, 0.2 * inch),
                      Paragraph(escape(title), st["Title"])]
    for para in body.split("\n\n"):
        para = para.strip()
        if para:
            out.append(Paragraph(escape(para).replace("\n", "<br/>"), st["BodyText"]))
            out.append(Spacer(1, 0.12 * inch))
    return out


def _build(flowables: list[Any], title: str) -> bytes:
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=LETTER, title=title, author="Bayline e-signature",
                            invariant=1, pageCompression=0)
    doc.build(flowables)
    return buf.getvalue()


def render_original(title: str, body: str, header: str, requires_initials: bool) -> bytes:
    """The document as the customer reviews it: text, empty signature (and initials) lines."""
    st = _styles()
    flow = _body_flowables(title, body, header)
    flow.append(Spacer(1, 0.4 * inch))
    if requires_initials:
        flow.append(Paragraph("Initials: ________", st["Normal"]))
    flow.append(Paragraph("Signature: ______________________________", st["Normal"]))
    flow.append(Paragraph("Date: ____________", st["Normal"]))
    return _build(flow, title)


@dataclass
class SignatureBlock:
    """One signer's mark on the document: image, printed name, initials, time."""

    signer_name: str
    signature_png: bytes
    initials: str | None
    signed_at: str


def render_signed(title: str, body: str, header: str, *, blocks: list[SignatureBlock],
                  audit: list[tuple[str, str]]) -> bytes:
    """The filled document with every signer's signature image, followed by the audit page."""
    st = _styles()
    flow = _body_flowables(title, body, header)
    for block in blocks:
        flow.append(Spacer(1, 0.3 * inch))
        if block.initials:
            flow.append(Paragraph(f"Initials: <b>{escape(block.initials)}</b>", st["Normal"]))
        img = PILImage.open(io.BytesIO(block.signature_png))
        width = 2.5 * inch
        height = max(0.3 * inch, min(1.2 * inch, width * img.height / max(img.width, 1)))
        flow.append(Paragraph("Signature:", st["Normal"]))
        flow.append(Image(io.BytesIO(block.signature_png), width=width, height=height))
        flow.append(Paragraph(f"{escape(block.signer_name)} &mdash; signed electronically "
                              f"{escape(block.signed_at)}", st["Normal"]))
    flow.append(PageBreak())
    flow.append(Paragraph("Audit trail", st["Title"]))
    mono = ParagraphStyle("audit", parent=st["Normal"], fontName="Courier", fontSize=7.5, leading=9.5)
    rows = [[Paragraph(f"<b>{escape(k)}</b>", st["Normal"]), Paragraph(escape(v), mono)] for k, v in audit]
    flow.append(Table(rows, colWidths=[1.8 * inch, 4.9 * inch]))
    flow.append(Spacer(1, 0.2 * inch))
    flow.append(Paragraph(
        "This document was signed electronically; each signer's signature is a digital signature "
        "(PAdES) of the platform, and the last one locks the document. Any change to the file "
        "invalidates them; verify it at /plugins/esign/verify.", st["Italic"]))
    return _build(flow, title)


def decode_drawn(data_url: str) -> bytes:
    """A canvas data URL (``data:image/png;base64,...``) → PNG bytes; rejects blank canvases."""
    if not data_url or "," not in data_url or not data_url.startswith("data:image/png;base64"):
        raise SignatureImageError("Draw your signature (a PNG image is expected).")
    try:
        raw = base64.b64decode(data_url.split(",", 1)[1], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureImageError("The signature image is not valid base64.") from exc
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise SignatureImageError("The signature image is too large.")
    try:
        img = PILImage.open(io.BytesIO(raw))  # reads the header only
        if img.format != "PNG":
            raise SignatureImageError("The signature image is not a PNG.")
        width, height = img.size
        if width > MAX_SIGNATURE_SIZE[0] or height > MAX_SIGNATURE_SIZE[1]:
            raise SignatureImageError(f"The signature image is too large ({width}x{height} pixels; at most "
                                      f"{MAX_SIGNATURE_SIZE[0]}x{MAX_SIGNATURE_SIZE[1]}).")
        img.load()
    except (UnidentifiedImageError, OSError, PILImage.DecompressionBombError) as exc:
        raise SignatureImageError("The signature image is not a PNG.") from exc
    if _blank(img):
        raise SignatureImageError("The signature is empty: draw your signature first.")
    out = io.BytesIO()
    img.convert("RGBA").save(out, format="PNG")  # re-encode: no foreign chunks end up in the PDF
    return out.getvalue()


def _blank(img: PILImage.Image) -> bool:
    rgba = img.convert("RGBA")
    alpha_box = rgba.getchannel("A").getbbox()
    if alpha_box is None:
        return True  # fully transparent
    # Opaque canvas: blank when every pixel is (near) white.
    grey = rgba.convert("L").point(lambda v: 255 if v < 250 else 0)
    return grey.getbbox() is None


@lru_cache(maxsize=4)
def _script_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(SCRIPT_FONT), size=size)


def render_typed(name: str) -> bytes:
    """A typed signature rendered as a PNG in a script font (Dancing Script)."""
    name = " ".join(name.split())
    if not name:
        raise SignatureImageError("Type your name to sign.")
    if len(name) > 80:
        raise SignatureImageError("The typed name is too long.")
    font = _script_font(72)
    box = ImageDraw.Draw(PILImage.new("RGBA", (1, 1))).textbbox((0, 0), name, font=font)
    w, h = box[2] - box[0] + 40, box[3] - box[1] + 40
    img = PILImage.new("RGBA", (w, h), (255, 255, 255, 0))
    ImageDraw.Draw(img).text((20 - box[0], 20 - box[1]), name, font=font, fill=(20, 30, 90, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()
