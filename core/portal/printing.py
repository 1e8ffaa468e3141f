"""QR codes (segno) and printable documents (reportlab) that carry a claim's portal links.

Each document has its own link (purpose ``work_order``, ``hang_tag``, ``receipt``; the bare QR
``qr_sticker``). Printing again reuses that document's current link, so the paper already in the
customer's hand keeps working; ``reissue`` replaces only that document's link, on purpose. The
check-in set is the three documents in one PDF, one link each. Layout: :mod:`.layout`.
"""
from __future__ import annotations

import io

import segno
from marshmallow import ValidationError

from bayline import settings_registry
from bayline.brand import brand_for
from bayline.claims.models import Claim
from bayline.tenants.models import Shop

from . import layout, tokens, verify

CAPTION = layout.CAMERA
CHECK_IN_SET = ("work-order", "hang-tag", "receipt")


def qr_svg(url: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=False,
                                    title="Repair status QR code")
    return out.getvalue()


qr_png = layout.qr_png

# kind -> (title, link purpose, fixed page size or None for the shop's paper, draw)
DOCUMENTS: dict[str, tuple[str, str, tuple[float, float] | None, layout.Draw]] = {
    "work-order": ("Work order", "work_order", None, layout.work_order),
    "hang-tag": ("Mirror hang tag", "hang_tag", layout.HANG_TAG, layout.hang_tag),
    "receipt": ("Check-in receipt", "receipt", layout.RECEIPT, layout.receipt),
}


def _kind(kind: str) -> tuple[str, str, tuple[float, float] | None, layout.Draw]:
    if kind not in DOCUMENTS:
        raise ValidationError({"document": [f"must be one of: {', '.join(DOCUMENTS)}"]})
    return DOCUMENTS[kind]


def document_link(claim: Claim, kind: str, reissue: bool = False, user_id: int | None = None) -> tokens.IssuedLink:
    """The link a document of ``kind`` prints: its current one, or a new one (only that
    document's link is replaced) when ``reissue`` or none is live."""
    purpose = kind if kind == "qr_sticker" else _kind(kind)[1]
    if reissue:
        return tokens.issue(claim, user_id, purpose=purpose)
    return tokens.current_or_issue(claim, purpose, user_id)


def short_url(url: str) -> str | None:
    """The typable short URL of a printed link's ``url`` (None when the link has no short code)."""
    raw = url.rsplit(tokens.PATH_PREFIX, 1)[-1]
    token = tokens.find_any(raw)
    if token is None or not token.short_hash:
        return None
    return tokens.portal_url(tokens.short_code(raw), token.tenant_id)


def sheet(claim: Claim, shop: Shop, url: str) -> layout.Sheet:
    values = settings_registry.get_all(shop.id)
    pin = str(values["portal.pin"]).strip() if verify.mode(shop.id) == "name_claim_pin" else None
    return layout.Sheet(claim=claim, shop=shop, url=url, short_url=short_url(url), pin=pin or None,
                        terms=str(values["documents.authorization_terms"] or ""),
                        notes=claim.internal_notes if values["documents.print_notes"] else None,
                        brand=brand_for(shop))


def paper_size(shop: Shop, paper: str | None = None) -> tuple[float, float]:
    chosen = paper or str(settings_registry.get(shop.id, "documents.paper"))
    if chosen not in layout.PAPER:
        raise ValidationError({"paper": [f"must be one of: {', '.join(layout.PAPER)}"]})
    return layout.PAPER[chosen]


def render(kind: str, pages: list[tuple[Claim, Shop, str]], paper: str | None = None) -> bytes:
    """A PDF of ``kind`` with one page per (claim, shop, url) (batch printing passes several)."""
    return render_pages([(kind, claim, shop, url) for claim, shop, url in pages], paper)


def render_pages(pages: list[tuple[str, Claim, Shop, str]], paper: str | None = None) -> bytes:
    """One PDF, a page per (kind, claim, shop, url); each page has its own size."""
    from reportlab.pdfgen.canvas import Canvas  # imported by the first document printed

    out = io.BytesIO()
    canvas = Canvas(out, invariant=True)
    titles = []
    for kind, claim, shop, url in pages:
        title, _, size, draw = _kind(kind)
        page = size or paper_size(shop, paper)
        canvas.setPageSize(page)
        draw(canvas, sheet(claim, shop, url), page)
        canvas.showPage()
        titles.append(title)
    canvas.setTitle(titles[0] if len(set(titles)) == 1 else "Check-in set")
    canvas.save()
    return out.getvalue()


def check_in_set(claim: Claim, shop: Shop, user_id: int | None = None, paper: str | None = None) -> bytes:
    """Work order, hang tag and receipt in one PDF, each with its own (current) link."""
    return render_pages([(kind, claim, shop, document_link(claim, kind, user_id=user_id).url)
                         for kind in CHECK_IN_SET], paper)
