"""The shop's own DRP scorecard over a period, per insurer and per estimator: response rate,
average CSI (overall 1–5), cycle time keys-to-keys (claim opened → delivered) and production time
(first move out of the intake stage → delivered) from the stage history, in elapsed hours and in
shop-local calendar days (a repair spanning a DST change keeps its true elapsed hours), and the
delivered-as-promised rate (delivered on or before the ETA given at drop-off: the first ETA set)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bayline.plugin_api import Claim, EtaHistory, StageHistory, get_session

from .models import CsiResponse, CsiSurvey


@dataclass
class Row:
    claim: Claim
    keys_hours: float
    keys_days: int
    production_hours: float | None
    promised: date | None
    on_time: bool | None
    surveyed: bool
    overall: int | None


def _rows(shop: Any, start: date, end: date) -> list[Row]:
    session = get_session()
    zone = ZoneInfo(shop.timezone or "UTC")
    lo = datetime.combine(start, time.min, zone)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone)
    claims = session.scalars(select(Claim).where(Claim.delivered_at.is_not(None), Claim.delivered_at >= lo,
                                                 Claim.delivered_at < hi).order_by(Claim.id)).all()
    ids = [c.id for c in claims]
    moves: dict[int, list[StageHistory]] = defaultdict(list)
    for h in session.scalars(select(StageHistory).where(StageHistory.claim_id.in_(ids)).order_by(StageHistory.at)):
        moves[h.claim_id].append(h)
    first_eta: dict[int, date | None] = {}
    for e in session.scalars(select(EtaHistory).where(EtaHistory.claim_id.in_(ids)).order_by(EtaHistory.at,
                                                                                             EtaHistory.id)):
        first_eta.setdefault(e.claim_id, e.new_eta)
    surveys = {s.claim_id: s.id for s in session.scalars(select(CsiSurvey).where(CsiSurvey.claim_id.in_(ids)))}
    scores = {r.claim_id: r.overall for r in session.scalars(select(CsiResponse).where(CsiResponse.claim_id.in_(ids)))}
    rows = []
    for c in claims:
        delivered = c.delivered_at
        keys = delivered - c.created_at
        left_intake = next((h.at for h in moves[c.id] if h.from_stage_id is not None), None)
        promised = first_eta.get(c.id)
        local_delivered = delivered.astimezone(zone).date()
        rows.append(Row(claim=c, keys_hours=keys.total_seconds() / 3600,
                        keys_days=(local_delivered - c.created_at.astimezone(zone).date()).days,
                        production_hours=(delivered - left_intake).total_seconds() / 3600 if left_intake else None,
                        promised=promised, on_time=(local_delivered <= promised) if promised else None,
                        surveyed=c.id in surveys, overall=scores.get(c.id)))
    return rows


def _avg(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def figures(rows: list[Row]) -> dict[str, Any]:
    surveyed = [r for r in rows if r.surveyed]
    answered = [r for r in surveyed if r.overall is not None]
    promised = [r for r in rows if r.on_time is not None]
    production = [r.production_hours for r in rows if r.production_hours is not None]
    return {"delivered": len(rows), "surveys": len(surveyed), "responses": len(answered),
            "response_rate": round(len(answered) / len(surveyed), 4) if surveyed else None,
            "average_csi": _avg([float(r.overall) for r in answered if r.overall is not None]),
            "cycle_time_hours": _avg([r.keys_hours for r in rows]),
            "cycle_time_days": _avg([float(r.keys_days) for r in rows]),
            "production_hours": _avg(production),
            "delivered_as_promised": round(sum(1 for r in promised if r.on_time) / len(promised), 4)
            if promised else None}


def scorecard(shop: Any, start: date, end: date) -> dict[str, Any]:
    """The location's figures, then the same figures per insurer and per estimator."""
    rows = _rows(shop, start, end)
    by_insurer: dict[str, list[Row]] = defaultdict(list)
    by_estimator: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_insurer[r.claim.insurer or "(customer pay)"].append(r)
        est = r.claim.estimator
        by_estimator[(est.name or est.email) if est else "(none)"].append(r)
    return {"start": start, "end": end, "location": shop.name, "totals": figures(rows),
            "insurers": [{"name": k, **figures(v)} for k, v in sorted(by_insurer.items())],
            "estimators": [{"name": k, **figures(v)} for k, v in sorted(by_estimator.items())]}


def trend(shop: Any, start: date, end: date) -> list[dict[str, Any]]:
    """Week by week (weeks starting on ``start``): the figures of the claims delivered that week."""
    rows = _rows(shop, start, end)
    zone = ZoneInfo(shop.timezone or "UTC")
    weeks = []
    week = start
    while week <= end:
        last = min(week + timedelta(days=6), end)
        part = [r for r in rows if week <= r.claim.delivered_at.astimezone(zone).date() <= last]
        weeks.append({"start": week, "end": last, **figures(part)})
        week += timedelta(days=7)
    return weeks


def chart(weeks: list[dict[str, Any]], key: str, width: int = 640, height: int = 200) -> dict[str, Any]:
    """Bar geometry of ``key`` per week for the server-rendered SVG (no script, no client library)."""
    values = [w[key] for w in weeks]
    top = max([v for v in values if v is not None] or [1.0]) or 1.0
    pad, n = 30, max(len(weeks), 1)
    slot = (width - 2 * pad) / n
    bars = []
    for i, (w, v) in enumerate(zip(weeks, values, strict=True)):
        h = 0.0 if v is None else (height - 2 * pad) * v / top
        bars.append({"x": round(pad + i * slot + slot * 0.15, 1), "y": round(height - pad - h, 1),
                     "w": round(slot * 0.7, 1), "h": round(h, 1), "value": v, "label": w["start"].strftime("%b %d")})
    return {"width": width, "height": height, "bars": bars, "top": top, "pad": pad}


CSV_COLUMNS = ("group", "name", "delivered", "surveys", "responses", "response_rate", "average_csi",
               "cycle_time_hours", "cycle_time_days", "production_hours", "delivered_as_promised")


def csv_rows(card: dict[str, Any]) -> list[list[Any]]:
    rows = [["location", card["location"], *[card["totals"][c] for c in CSV_COLUMNS[2:]]]]
    for group in ("insurers", "estimators"):
        rows += [[group[:-1], f["name"], *[f[c] for c in CSV_COLUMNS[2:]]] for f in card[group]]
    return rows
