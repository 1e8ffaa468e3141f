"""Golden money tests: fixtures computed by hand (the arithmetic is in the comments), mixed tax
categories, a 9.975 % rate, inclusive and exclusive tax, deductible and betterment, per-line and
per-total rounding. Then the same estimate through the API, the portal and the PDF: equal to the cent."""
from __future__ import annotations

import io
import re
from decimal import Decimal as Dec
from types import SimpleNamespace

import pytest
from bayline_quotes.money import RoundingPolicy, compute


def ln(**kw):
    zero = Dec("0")
    base = dict(quantity=Dec("1"), unit_price=zero, labor_hours=zero, labor_rate=zero, paint_materials=zero,
                sublet=zero, taxable=True, payer="insurer", betterment_pct=zero, part_number=None, part_type=None)
    base.update(kw)
    return SimpleNamespace(**base)


RATES = {"parts": Dec("9.975"), "labor": Dec("5"), "paint": Dec("9.975"), "sublet": Dec("0"), "other": Dec("0")}
# The golden estimate (exclusive prices):
#   L1-L3 clip kits 5.05 each, parts 9.975 %: tax 0.5037375 each
#   L4 labour 1.3 h x 52.35 = 68.055, 5 %
#   L5 paint and materials 33.33, 9.975 %: tax 3.3246675
#   L6 tire 180.00, parts 9.975 %: tax 17.955; betterment 30 %
#   L7 sublet 100.00 customer pay (rate 0); L8 towing 75.00 goodwill, not taxable; deductible 250.00
LINES = [
    ("L1", ln(part_number="P1", unit_price=Dec("5.05"))),
    ("L2", ln(part_number="P2", unit_price=Dec("5.05"))),
    ("L3", ln(part_number="P3", unit_price=Dec("5.05"))),
    ("L4", ln(labor_hours=Dec("1.3"), labor_rate=Dec("52.35"))),
    ("L5", ln(paint_materials=Dec("33.33"))),
    ("L6", ln(part_type="oem", unit_price=Dec("180.00"), betterment_pct=Dec("30"))),
    ("L7", ln(sublet=Dec("100.00"), payer="customer")),
    ("L8", ln(unit_price=Dec("75.00"), taxable=False, payer="warranty")),
]


def test_per_line_rounding_exclusive():
    t = compute(LINES, RoundingPolicy(rates=RATES, mode="line"), deductible=Dec("250.00"))
    # tax per line: 0.50 x 3; labour 68.06 (68.055 half-up) x 5 % = 3.403 -> 3.40; paint 3.32; tire 17.96
    assert [t.lines[k].tax for k in ("L1", "L4", "L5", "L6")] == [Dec("0.50"), Dec("3.40"), Dec("3.32"), Dec("17.96")]
    assert t.categories["parts"].net == Dec("195.15") and t.categories["parts"].tax == Dec("1.50") + Dec("17.96")
    assert t.categories["labor"].net == Dec("68.06")
    assert t.net == Dec("471.54")  # 195.15 + 68.06 + 33.33 + 100 + 75
    assert t.tax == Dec("26.18")  # 19.46 + 3.40 + 3.32
    assert t.gross == Dec("497.72")
    # betterment: 30 % of the tire's 197.96 = 59.388 -> 59.39, from the insurer to the customer
    assert t.betterment == Dec("59.39")
    # insurer 322.72 - 59.39 - 250 = 13.33; customer 100 + 59.39 + 250 = 409.39; goodwill 75
    assert t.payers == {"insurer": Dec("13.33"), "customer": Dec("409.39"), "warranty": Dec("75.00")}
    assert sum(t.payers.values()) == t.gross


def test_per_total_rounding_exclusive():
    t = compute(LINES, RoundingPolicy(rates=RATES, mode="total"), deductible=Dec("250.00"))
    # insurer parts 195.15 x 9.975 % = 19.4662125 -> 19.47 (per line it was 1.50 + 17.96 = 19.46)
    assert t.categories["parts"].tax == Dec("19.47")
    assert t.tax == Dec("26.19")
    assert t.gross == Dec("497.73")
    # the tire's exact gross 197.955 x 30 % = 59.3865 -> 59.39
    assert t.payers == {"insurer": Dec("13.34"), "customer": Dec("409.39"), "warranty": Dec("75.00")}
    assert sum(t.payers.values()) == t.gross


def test_inclusive_tax_is_extracted():
    lines = [("A", ln(part_number="X", unit_price=Dec("114.99"))),  # tax 114.99 x .09975 / 1.09975 = 10.4298.. -> 10.43
             ("B", ln(labor_hours=Dec("2"), labor_rate=Dec("52.50"))),  # 105.00 x .05 / 1.05 = 5.00
             ("C", ln(part_number="Y", unit_price=Dec("0.99")))]  # 0.0897.. -> 0.09
    t = compute(lines, RoundingPolicy(rates=RATES, mode="line", tax_inclusive=True))
    assert [t.lines[k].tax for k in "ABC"] == [Dec("10.43"), Dec("5.00"), Dec("0.09")]
    assert t.gross == Dec("220.98")  # the prices as written: inclusive tax never changes the total
    assert t.net == Dec("205.46") and t.tax == Dec("15.52")
    # per total: parts 115.98 x .09975 / 1.09975 = 10.5196.. -> 10.52, the same here
    total = compute(lines, RoundingPolicy(rates=RATES, mode="total", tax_inclusive=True))
    assert total.gross == Dec("220.98") and total.tax == Dec("15.52")


def test_deductible_never_exceeds_the_insurers_part():
    t = compute([("A", ln(unit_price=Dec("80.00"), taxable=False))], RoundingPolicy(), deductible=Dec("500"))
    assert t.deductible_applied == Dec("80.00")
    assert t.payers["insurer"] == Dec("0.00") and t.payers["customer"] == Dec("80.00")


def test_currency_format_and_precision():
    assert RoundingPolicy().format(Dec("412.3"), signed=True) == "+$412.30"
    assert RoundingPolicy().format(Dec("-32.3"), signed=True) == "-$32.30"
    yen = RoundingPolicy(currency="JPY")
    assert yen.round(Dec("1234.5")) == Dec("1235")


GOLDEN_CSV = ("estimate_id,version,description,part_number,quantity,unit_price,labor_hours,labor_rate,"
              "paint_materials,sublet,taxable,payer,betterment_pct,deductible\n") + """\
G-1,0,Clip kit,P1,1,5.05,,,,,yes,insurer,,250.00
G-1,0,Clip kit,P2,1,5.05,,,,,yes,insurer,,
G-1,0,Clip kit,P3,1,5.05,,,,,yes,insurer,,
G-1,0,Labour,,,,1.3,52.35,,,yes,insurer,,
G-1,0,Paint and materials,,,,,,33.33,,yes,insurer,,
G-1,0,Tire,T1,1,180.00,,,,,yes,insurer,30,
G-1,0,Sublet alignment,,,,,,,100.00,yes,customer,,
G-1,0,Towing,,1,75.00,,,,,no,warranty,,
"""


# Inclusive prices (the same file): the total is the prices as written, 15.15 + 68.06 (1.3 h x 52.35 =
# 68.055, half-up on the line; exact on the total, summed 471.535 -> 471.54) + 33.33 + 180.00 + 100.00
# + 75.00 = 471.54. The insurer's lines are 296.54; betterment 30 % of the tire's 180.00 = 54.00 moves to
# the customer, leaving the insurer 242.54, less than the 250.00 deductible, so only 242.54 of it applies:
# the customer pays the sublet 100.00 + 54.00 + 242.54 = 396.54 (the insurer 0.00).
@pytest.mark.parametrize("mode,inclusive,total,customer", [
    ("line", False, "497.72", "409.39"), ("total", False, "497.73", "409.39"),
    ("line", True, "471.54", "396.54"), ("total", True, "471.54", "396.54")])
def test_api_portal_and_pdf_agree_to_the_cent(quotes_shop, q, set_setting, portal_client, mode, inclusive, total,
                                              customer):
    from pypdf import PdfReader

    shop, claim, api = quotes_shop.shop, quotes_shop.claim, quotes_shop.api
    for key, value in (("parts", "9.975"), ("labor", "5"), ("paint", "9.975")):
        set_setting(shop, f"quotes.tax_{key}", value)
    set_setting(shop, "quotes.rounding", mode)
    set_setting(shop, "quotes.tax_inclusive", inclusive)
    set_setting(shop, "quotes.portal_lines", "all")
    r = api.post(f"/api/v1/plugins/quotes/claims/{claim.id}/imports", json={"format": "csv", "content": GOLDEN_CSV})
    assert r.status_code == 201, r.get_json()
    version = r.get_json()["version"]
    assert version["totals"]["total"] == total
    assert version["totals"]["payers"]["customer"] == customer

    page = portal_client(claim).get(f"/c/s/quotes/versions/{version['id']}").get_data(as_text=True)
    assert f"Estimate total ${total}" in page
    assert re.search(rf'quotes-your-amount">\${re.escape(customer)}<', page)

    pdf = api.get(f"/plugins/quotes/versions/{version['id']}/estimate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert f"Total\n${total}\n" in text
    assert f"Customer pays\n${customer}\n" in text
