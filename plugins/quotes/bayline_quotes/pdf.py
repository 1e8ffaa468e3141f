"""The estimate as a PDF (reportlab): the same :func:`service.totals` as the API and the portal, so
every amount matches them to the cent."""
from __future__ import annotations

import io
from typing import Any

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas

from . import service


def estimate_pdf(version: Any, shop_name: str, claim_number: str, customer_view: bool = False) -> bytes:
    pol = service.policy()
    t = service.totals(version, pol)
    lines = service.customer_lines(version) if customer_view else [ln for ln in version.lines]
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=LETTER, invariant=True)
    c.setTitle(f"{shop_name} {claim_number} {version.label}")
    width, height = LETTER
    y = height - inch

    def row(text: str, amount: str = "", bold: bool = False) -> None:
        nonlocal y
        if y < inch:
            c.showPage()
            y = height - inch
        c.setFont("Helvetica-Bold" if bold else "Helvetica", 10)
        c.drawString(inch, y, text[:90])
        if amount:
            c.drawRightString(width - inch, y, amount)
        y -= 14

    row(shop_name, bold=True)
    row(f"Repair {claim_number} - {version.label}")
    y -= 8
    for ln in lines:
        la = t.lines[ln.id]
        row(f"{ln.line_no}. {ln.description} ({ln.payer})", pol.format(la.gross))
    y -= 8
    row("Tax", pol.format(t.tax))
    row("Total", pol.format(t.gross), bold=True)
    if t.deductible_applied:
        row("Deductible", pol.format(t.deductible_applied))
    if t.betterment:
        row("Betterment", pol.format(t.betterment))
    row("Insurer pays", pol.format(t.payers["insurer"]))
    if t.payers["warranty"]:
        row("Goodwill", pol.format(t.payers["warranty"]))
    row("Customer pays", pol.format(t.payers["customer"]), bold=True)
    c.showPage()
    c.save()
    return buf.getvalue()
