"""Parsing estimates: CIECA BMS XML (``VehicleDamageEstimateAddRq``), CSV and JSON, into one
:class:`ImportedEstimate`. Parsing never touches the database; every problem is collected with
where it is (``line 3: quantity: ...``) and raised together as :class:`ImportRejected`, so nothing
is half-imported.

XML safety: the bytes are first checked by ``defusedxml`` (no DTD, no entity declarations, no
external references: XXE and billion-laughs payloads are refused), then parsed by ``lxml`` with
entity resolution, network access and DTD loading off, and a size limit (``MAX_BYTES``).
Element names are matched by local name, so files with or without the BMS namespace read the same.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import defusedxml
from defusedxml import ElementTree as SafeET
from lxml import etree

from .money import PAYERS, ZERO, MoneyError, to_decimal

MAX_BYTES = 5 * 1024 * 1024
MAX_LINES = 2000
PART_TYPES = ("oem", "aftermarket", "used", "reconditioned")
# BMS PartType codes (public code list names) -> our part types
BMS_PART_TYPES = {"PAN": "oem", "PAO": "oem", "PAA": "aftermarket", "PAL": "used", "PAG": "used",
                  "PAM": "reconditioned", "PAR": "reconditioned", "PAC": "reconditioned"}
BMS_LABOR_TYPES = {"LAB": "body", "LAR": "refinish", "LAM": "mechanical", "LAF": "frame", "LAS": "structural",
                   "LAE": "electrical", "LAG": "glass", "LAD": "diagnostic"}
LABOR_TYPES = ("body", "refinish", "mechanical", "frame", "structural", "electrical", "glass", "diagnostic")

CSV_HEADER_FIELDS = ("estimate_id", "version", "claim_number", "ro_number", "vin", "deductible", "total")
CSV_LINE_FIELDS = ("line_ref", "operation", "description", "part_number", "part_type", "quantity", "unit_price",
                   "labor_type", "labor_hours", "labor_rate", "paint_materials", "sublet", "taxable", "payer",
                   "betterment_pct", "shop_only", "internal_note")
CSV_COLUMNS = CSV_HEADER_FIELDS + CSV_LINE_FIELDS
REQUIRED_COLUMNS = ("estimate_id", "version", "description")


class ImportRejected(ValueError):
    """The file cannot be imported; ``errors`` lists every problem with its place."""

    def __init__(self, code: str, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.errors = errors or []


@dataclass
class ImportedLine:
    line_ref: str
    description: str
    operation: str = ""
    part_number: str | None = None
    part_type: str | None = None
    quantity: Decimal = Decimal("1")
    unit_price: Decimal = ZERO
    labor_type: str | None = None
    labor_hours: Decimal = ZERO
    labor_rate: Decimal = ZERO
    paint_materials: Decimal = ZERO
    sublet: Decimal = ZERO
    taxable: bool = True
    payer: str = "insurer"
    betterment_pct: Decimal = ZERO
    shop_only: bool = False
    internal_note: str | None = None

    def fingerprint(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


@dataclass
class ImportedEstimate:
    source: str
    source_ref: str
    version_number: int
    lines: list[ImportedLine]
    claim_number: str | None = None
    ro_number: str | None = None
    vin: str | None = None
    deductible: Decimal = ZERO
    estimator: str | None = None
    file_totals: dict[str, str] = field(default_factory=dict)

    def content_hash(self) -> str:
        """Stable over re-saves of the same content (timestamps and RqUIDs are not part of it)."""
        body = {"deductible": str(self.deductible), "lines": [ln.fingerprint() for ln in self.lines],
                "totals": self.file_totals}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


# -- shared validation -------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        if len(self.items) < 200:
            self.items.append(f"{where}: {message}")


def _num(raw: Any, where: str, name: str, errors: _Errors, *, negative: bool = False,
         default: Decimal = ZERO) -> Decimal:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    if isinstance(raw, bool):
        errors.add(where, f"{name}: {raw!r} is not a number")
        return default
    try:
        value = to_decimal(raw, name)
    except MoneyError as exc:
        errors.add(where, str(exc))
        return default
    if value < 0 and not negative:
        errors.add(where, f"{name}: must not be negative ({value})")
        return default
    if abs(value) >= Decimal("1e9"):
        errors.add(where, f"{name}: {value} is too large")
        return default
    return value


def _flag(raw: Any, where: str, name: str, errors: _Errors, default: bool) -> bool:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "y", "yes", "true", "t"):
        return True
    if text in ("0", "n", "no", "false", "f"):
        return False
    errors.add(where, f"{name}: {raw!r} is not yes/no")
    return default


def _choice(raw: Any, where: str, name: str, allowed: tuple[str, ...], errors: _Errors,
            default: str | None) -> str | None:
    if raw is None or str(raw).strip() == "":
        return default
    value = str(raw).strip().lower()
    if value not in allowed:
        errors.add(where, f"{name}: {raw!r} is not one of {', '.join(allowed)}")
        return default
    return value


def _text(raw: Any, limit: int) -> str | None:
    if raw is None:
        return None
    value = " ".join(str(raw).split())
    return value[:limit] or None


def line_from_mapping(row: dict[str, Any], where: str, errors: _Errors, index: int) -> ImportedLine | None:
    description = _text(row.get("description"), 300)
    if not description:
        errors.add(where, "description: required")
    line = ImportedLine(
        line_ref=_text(row.get("line_ref"), 60) or str(index),
        description=description or "",
        operation=_text(row.get("operation"), 40) or "",
        part_number=_text(row.get("part_number"), 60),
        part_type=_choice(row.get("part_type"), where, "part_type", PART_TYPES, errors, None),
        quantity=_num(row.get("quantity"), where, "quantity", errors, default=Decimal("1")),
        unit_price=_num(row.get("unit_price"), where, "unit_price", errors, negative=True),
        labor_type=_choice(row.get("labor_type"), where, "labor_type", LABOR_TYPES, errors, None),
        labor_hours=_num(row.get("labor_hours"), where, "labor_hours", errors),
        labor_rate=_num(row.get("labor_rate"), where, "labor_rate", errors),
        paint_materials=_num(row.get("paint_materials"), where, "paint_materials", errors),
        sublet=_num(row.get("sublet"), where, "sublet", errors),
        taxable=_flag(row.get("taxable"), where, "taxable", errors, True),
        payer=_choice(row.get("payer"), where, "payer", PAYERS, errors, "insurer") or "insurer",
        betterment_pct=_num(row.get("betterment_pct"), where, "betterment_pct", errors),
        shop_only=_flag(row.get("shop_only"), where, "shop_only", errors, False),
        internal_note=_text(row.get("internal_note"), 500),
    )
    if line.betterment_pct > 100:
        errors.add(where, "betterment_pct: must be between 0 and 100")
    return line


def _version(raw: Any, where: str, errors: _Errors) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        errors.add(where, f"version: {raw!r} is not a whole number (0 = original, 1 = supplement 1)")
        return 0
    if not 0 <= value <= 99:
        errors.add(where, "version: must be between 0 and 99")
    return value


def _finish(est: ImportedEstimate, errors: _Errors) -> ImportedEstimate:
    if not est.lines and not errors.items:
        errors.add("file", "no estimate lines")
    if len(est.lines) > MAX_LINES:
        errors.add("file", f"more than {MAX_LINES} lines")
    seen: set[str] = set()
    dupes = sorted({ln.line_ref for ln in est.lines if ln.line_ref in seen or seen.add(ln.line_ref)})
    if dupes:
        errors.add("file", f"line_ref repeated: {', '.join(dupes[:10])}")
    if errors.items:
        raise ImportRejected("quotes_invalid_file", "The file has errors; nothing was imported.", errors.items)
    return est


def _check_size(data: bytes) -> None:
    if len(data) > MAX_BYTES:
        raise ImportRejected("quotes_file_too_large", f"The file is larger than {MAX_BYTES // 1024 // 1024} MB.")
    if not data.strip():
        raise ImportRejected("quotes_invalid_file", "The file is empty.")


# -- CSV ---------------------------------------------------------------------------


def parse_csv(data: bytes) -> ImportedEstimate:
    """One row per line; the header columns (``CSV_HEADER_FIELDS``) are read from the first row and
    must not disagree on later rows. Columns: ``CSV_COLUMNS``; any other column is an error."""
    _check_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected("quotes_invalid_file", "The CSV file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in (reader.fieldnames or [])]
    errors = _Errors()
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        errors.add("header", f"unknown column(s): {', '.join(unknown)} (known: {', '.join(CSV_COLUMNS)})")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        errors.add("header", f"missing column(s): {', '.join(missing)}")
    if errors.items:
        raise ImportRejected("quotes_invalid_file", "The CSV header is not the documented column set.", errors.items)
    reader.fieldnames = columns
    head: dict[str, str] = {}
    lines: list[ImportedLine] = []
    for n, row in enumerate(reader, start=2):  # line 1 is the header
        where = f"line {n}"
        if None in row:
            errors.add(where, "more values than columns")
        row = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        for key in CSV_HEADER_FIELDS:
            if row.get(key):
                if key in head and head[key] != row[key]:
                    errors.add(where, f"{key}: {row[key]!r} differs from {head[key]!r} on an earlier line")
                head.setdefault(key, row[key])
        line = line_from_mapping(row, where, errors, len(lines) + 1)
        if line is not None:
            lines.append(line)
    if not head.get("estimate_id"):
        errors.add("file", "estimate_id: required")
    est = ImportedEstimate(
        source="csv", source_ref=_text(head.get("estimate_id"), 120) or "", lines=lines,
        version_number=_version(head.get("version", "0"), "file", errors),
        claim_number=_text(head.get("claim_number"), 60), ro_number=_text(head.get("ro_number"), 60),
        vin=_text(head.get("vin"), 17), deductible=_num(head.get("deductible"), "file", "deductible", errors))
    if head.get("total"):
        est.file_totals = {"total": str(_num(head["total"], "file", "total", errors))}
    return _finish(est, errors)


# -- JSON --------------------------------------------------------------------------


def parse_json(data: bytes | dict[str, Any]) -> ImportedEstimate:
    """``{"estimate_id", "version", "claim_number"?, "ro_number"?, "vin"?, "deductible"?,
    "totals"?: {"total", "tax"}, "lines": [{line fields}]}``."""
    if isinstance(data, (bytes, bytearray)):
        _check_size(bytes(data))
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ImportRejected("quotes_invalid_file", f"The file is not JSON: {exc}") from None
    else:
        doc = data
    if not isinstance(doc, dict):
        raise ImportRejected("quotes_invalid_file", "The JSON must be an object with 'lines'.")
    errors = _Errors()
    known = {"estimate_id", "version", "claim_number", "ro_number", "vin", "deductible", "totals", "lines"}
    unknown = sorted(set(doc) - known)
    if unknown:
        errors.add("file", f"unknown field(s): {', '.join(unknown)}")
    rows = doc.get("lines")
    if not isinstance(rows, list):
        errors.add("file", "lines: must be a list")
        rows = []
    lines = []
    for i, row in enumerate(rows):
        where = f"lines[{i}]"
        if not isinstance(row, dict):
            errors.add(where, "must be an object")
            continue
        extra = sorted(set(row) - set(CSV_LINE_FIELDS))
        if extra:
            errors.add(where, f"unknown field(s): {', '.join(extra)}")
        line = line_from_mapping(row, where, errors, i + 1)
        if line is not None:
            lines.append(line)
    if not doc.get("estimate_id"):
        errors.add("file", "estimate_id: required")
    totals = doc.get("totals") if isinstance(doc.get("totals"), dict) else {}
    est = ImportedEstimate(
        source="json", source_ref=_text(doc.get("estimate_id"), 120) or "", lines=lines,
        version_number=_version(doc.get("version", 0), "file", errors),
        claim_number=_text(doc.get("claim_number"), 60), ro_number=_text(doc.get("ro_number"), 60),
        vin=_text(doc.get("vin"), 17), deductible=_num(doc.get("deductible"), "file", "deductible", errors),
        file_totals={k: str(_num(v, "totals", k, errors)) for k, v in totals.items() if k in ("total", "tax")})
    return _finish(est, errors)


# -- CIECA BMS XML -----------------------------------------------------------------


def _local(el: Any) -> str:
    """The element's name without its namespace (``{http://www.cieca.com/BMS}LineNum`` -> ``LineNum``)."""
    tag = el.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _strip_namespaces(root: Any) -> Any:
    """Rename every element to its local name once, so lookups below are lxml's own (fast) ``find``."""
    for el in root.iter():
        tag = el.tag
        if isinstance(tag, str) and tag.startswith("{"):
            el.tag = tag.rpartition("}")[2]
    return root


def _kids(el: Any, name: str) -> list[Any]:
    return el.findall(name)


def _find(el: Any, path: str) -> Any:
    """The first element at ``A/B/C`` (local names), or None."""
    return el.find(path)


def _findall(el: Any, name: str) -> list[Any]:
    return list(el.iter(name))


def _val(el: Any, path: str) -> str | None:
    found = _find(el, path) if el is not None else None
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _safe_tree(data: bytes) -> Any:
    _check_size(data)
    try:
        SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise ImportRejected("quotes_xml_forbidden",
                             "The XML declares a DTD or entities; estimate files never need them, so it was "
                             "refused.") from None
    except SafeET.ParseError as exc:
        raise ImportRejected("quotes_invalid_file", f"The file is not well-formed XML: {exc}") from None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_comments=True, remove_pis=True)
    try:
        return _strip_namespaces(etree.fromstring(data, parser=parser))
    except etree.XMLSyntaxError as exc:
        raise ImportRejected("quotes_invalid_file", f"The file is not well-formed XML: {exc}") from None


def _person(el: Any) -> str | None:
    if el is None:
        return None
    first = _val(el, "Party/PersonInfo/PersonName/FirstName") or ""
    last = _val(el, "Party/PersonInfo/PersonName/LastName") or ""
    return (f"{first} {last}".strip() or _val(el, "Party/OrgInfo/CompanyName"))


def parse_bms(data: bytes) -> ImportedEstimate:
    """A ``VehicleDamageEstimateAddRq`` (BMS), original or supplement (``DocumentVer``)."""
    root = _safe_tree(data)
    if _local(root) != "VehicleDamageEstimateAddRq":
        raise ImportRejected("quotes_invalid_file",
                             f"Expected a VehicleDamageEstimateAddRq document, got <{_local(root)}>.")
    errors = _Errors()
    doc = _find(root, "DocumentInfo")
    source_ref = _val(doc, "DocumentID") if doc is not None else None
    if not source_ref:
        errors.add("DocumentInfo", "DocumentID: required")
    ver_code = (_val(doc, "DocumentVer/DocumentVerCode") or "EM").upper() if doc is not None else "EM"
    ver_num = _val(doc, "DocumentVer/DocumentVerNum") if doc is not None else None
    version = _version(ver_num if ver_num is not None else "0", "DocumentInfo/DocumentVer", errors)
    if ver_code in ("EM", "ES", "ORIG") and ver_num is None:
        version = 0
    ro_number = None
    for ref in _findall(root, "RepairOrderID") + _findall(root, "RONum"):
        if ref.text and ref.text.strip():
            ro_number = ref.text.strip()
            break
    claim = _find(root, "ClaimInfo")
    deductible_el = next(iter(_findall(claim, "DeductibleAmt")), None) if claim is not None else None
    deductible = _num(deductible_el.text if deductible_el is not None else None, "ClaimInfo", "DeductibleAmt", errors)
    rates: dict[str, Decimal] = {}
    for rate in _findall(root, "RateInfo"):
        kind = (_val(rate, "RateType") or "").upper()
        if kind:
            rates[kind] = _num(_val(rate, "Rate"), "ProfileInfo/RateInfo", "Rate", errors)
    lines: list[ImportedLine] = []
    for i, dl in enumerate(_kids(root, "DamageLineInfo"), start=1):
        where = f"DamageLineInfo {i}"
        part = _find(dl, "PartInfo")
        labor = _find(dl, "LaborInfo")
        paint = _find(dl, "RefinishLaborInfo")
        row: dict[str, Any] = {
            "line_ref": _val(dl, "UniqueSequenceNum") or _val(dl, "LineNum") or str(i),
            "description": _val(dl, "LineDesc"),
            "operation": (_val(labor, "LaborOperation") if labor is not None else None) or _val(dl, "LineType"),
            "internal_note": _val(dl, "LineMemo"),
        }
        taxable = True
        if part is not None:
            code = (_val(part, "PartType") or "").upper()
            row["part_type"] = BMS_PART_TYPES.get(code)
            if code and code not in BMS_PART_TYPES:
                errors.add(where, f"PartType: unknown code {code!r}")
            row["part_number"] = _val(part, "PartNum") or _val(part, "OEMPartNum")
            row["unit_price"] = _val(part, "PartPrice") or _val(part, "ActualPartPrice")
            row["quantity"] = _val(part, "Quantity")
            taxable = _flag(_val(part, "TaxableInd"), where, "TaxableInd", errors, True)
            row["betterment_pct"] = _val(part, "BettermentInfo/BettermentPct")
        if labor is not None:
            code = (_val(labor, "LaborType") or "LAB").upper()
            row["labor_type"] = BMS_LABOR_TYPES.get(code, "body")
            hours = _num(_val(labor, "LaborHours"), where, "LaborHours", errors)
            row["labor_hours"] = hours
            amount = _val(labor, "LaborAmt")
            if amount is not None and hours:
                row["labor_rate"] = _num(amount, where, "LaborAmt", errors) / hours
            else:
                row["labor_rate"] = rates.get(code, ZERO)
            if _val(labor, "TaxableInd") is not None and part is None:
                taxable = _flag(_val(labor, "TaxableInd"), where, "TaxableInd", errors, True)
        if paint is not None:
            row["paint_materials"] = _val(paint, "PaintMaterialsAmt") or _val(paint, "LaborAmt")
        other = _find(dl, "OtherChargesInfo")
        if other is not None and (_val(other, "OtherChargesType") or "").upper() == "SUB":
            row["sublet"] = _val(other, "Price")
        elif other is not None and row.get("unit_price") is None:
            row["unit_price"] = _val(other, "Price")
        if _flag(_val(dl, "CustomerPayInd"), where, "CustomerPayInd", errors, False):
            row["payer"] = "customer"
        elif _flag(_val(dl, "WarrantyInd"), where, "WarrantyInd", errors, False):
            row["payer"] = "warranty"
        row["taxable"] = taxable
        line = line_from_mapping(row, where, errors, i)
        if line is not None:
            lines.append(line)
    totals: dict[str, str] = {}
    for summary in _findall(root, "SummaryTotalsInfo"):
        kind = (_val(summary, "TotalType") or "").upper()
        amount = _val(summary, "TotalAmt")
        if kind in ("TOT", "GRAND") and amount is not None:
            totals["total"] = str(_num(amount, "RepairTotalsInfo", "TotalAmt", errors, negative=True))
        elif kind in ("TAX", "STX") and amount is not None:
            totals["tax"] = str(_num(amount, "RepairTotalsInfo", "TotalAmt", errors, negative=True))
    est = ImportedEstimate(
        source="bms", source_ref=source_ref or "", version_number=version, lines=lines,
        claim_number=_val(claim, "ClaimNum") if claim is not None else None, ro_number=ro_number,
        vin=next((v.text.strip() for v in _findall(root, "VINNum") if v.text and v.text.strip()), None),
        deductible=deductible, estimator=_person(_find(root, "AdminInfo/Estimator")), file_totals=totals)
    return _finish(est, errors)


def parse(data: bytes, fmt: str | None, filename: str | None = None) -> ImportedEstimate:
    """Parse ``data`` as ``fmt`` (``bms`` | ``csv`` | ``json``), or guess from the name and content."""
    if not fmt:
        name = (filename or "").lower()
        head = data.lstrip()[:1]
        fmt = ("bms" if name.endswith(".xml") or head == b"<" else
               "json" if name.endswith(".json") or head in (b"{", b"[") else "csv")
    if fmt == "bms":
        return parse_bms(data)
    if fmt == "csv":
        return parse_csv(data)
    if fmt == "json":
        return parse_json(data)
    raise ImportRejected("quotes_unknown_format", f"Unknown format {fmt!r}; use bms, csv or json.")
