"""The shop's own DRP scorecard over a period, for the location, per insurer and per estimator:
response rate, average CSI (overall 1–5) and NPS (overall 0–10: % promoters 9–10 − % detractors
0–6), cycle time keys-to-keys (claim opened → delivered) and production time (first move out of
the intake stage → delivered) from the stage history, in elapsed hours and in shop-local calendar
days (a repair spanning a DST change keeps its true elapsed hours), the delivered-as-promised rate
(delivered on or before the ETA given at drop-off: the first ETA set) and, where the quotes plugin
is active, supplements per claim (counted from its ``quote.imported`` events).

Figures are kept as sums and counts per shop-local delivery day (:class:`Tally`), so a period adds
up exactly: stored days (``csi_daily``, written by the daily beat task and on demand) are read, and
days not stored (always today) are computed live."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select

from bayline.plugin_api import Claim, EtaHistory, StageHistory, commit, get_session, is_feature_active, utcnow

from .models import CsiDaily, CsiResponse, CsiSupplement, CsiSurvey

DIMENSIONS = ("location", "insurer", "estimator")
"""Claims have an estimator (``Claim.estimator``) but no technician: there is no per-technician view."""
LOCATION = "(all claims)"
MAX_DAYS = 366


@dataclass
class Row:
    claim: Claim
    day: date
    keys_hours: float
    keys_days: int
    production_hours: float | None
    promised: date | None
    on_time: bool | None
    surveyed: bool
    overall: int | None
    scale: str | None
    supplements: int | None


@dataclass
class Tally:
    """Sums and counts of one group of claims; :func:`figures` turns them into rates and averages."""

    delivered: int = 0
    surveys: int = 0
    responses: int = 0
    csi_sum: int = 0
    csi_n: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0
    keys_hours_sum: float = 0.0
    keys_days_sum: int = 0
    production_sum: float = 0.0
    production_n: int = 0
    promised_n: int = 0
    on_time_n: int = 0
    supplements_sum: int | None = None

    def add(self, r: Row) -> None:
        self.delivered += 1
        self.surveys += r.surveyed
        self.keys_hours_sum += r.keys_hours
        self.keys_days_sum += r.keys_days
        if r.production_hours is not None:
            self.production_sum += r.production_hours
            self.production_n += 1
        if r.on_time is not None:
            self.promised_n += 1
            self.on_time_n += r.on_time
        if r.surveyed and r.overall is not None:
            self.responses += 1
            if r.scale == "nps":
                self.nps_n += 1
                self.promoters += r.overall >= 9
                self.detractors += r.overall <= 6
            else:
                self.csi_sum += r.overall
                self.csi_n += 1
        if r.supplements is not None:
            self.supplements_sum = (self.supplements_sum or 0) + r.supplements

    def merge(self, other: Tally) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if f.name == "supplements_sum":
                if theirs is not None:
                    setattr(self, f.name, (mine or 0) + theirs)
            else:
                setattr(self, f.name, mine + theirs)


def _zone(shop: Any) -> ZoneInfo:
    return ZoneInfo(shop.timezone or "UTC")


def today(shop: Any) -> date:
    """The shop-local date now: the one day the scorecard always computes live."""
    return utcnow().astimezone(_zone(shop)).date()


def _rows(shop: Any, start: date, end: date) -> list[Row]:
    session = get_session()
    zone = _zone(shop)
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
    answers = {r.claim_id: r for r in session.scalars(select(CsiResponse).where(CsiResponse.claim_id.in_(ids)))}
    supplements: dict[int, int] | None = None
    if is_feature_active(shop, "quotes"):  # the feature key only: plugins never import each other
        supplements = dict(session.execute(select(CsiSupplement.claim_id, func.count()).where(
            CsiSupplement.claim_id.in_(ids)).group_by(CsiSupplement.claim_id)).all())
    rows = []
    for c in claims:
        delivered = c.delivered_at
        left_intake = next((h.at for h in moves[c.id] if h.from_stage_id is not None), None)
        promised = first_eta.get(c.id)
        local_delivered = delivered.astimezone(zone).date()
        answer = answers.get(c.id)
        rows.append(Row(claim=c, day=local_delivered, keys_hours=(delivered - c.created_at).total_seconds() / 3600,
                        keys_days=(local_delivered - c.created_at.astimezone(zone).date()).days,
                        production_hours=(delivered - left_intake).total_seconds() / 3600 if left_intake else None,
                        promised=promised, on_time=(local_delivered <= promised) if promised else None,
                        surveyed=c.id in surveys, overall=answer.overall if answer else None,
                        scale=answer.scale if answer else None,
                        supplements=None if supplements is None else supplements.get(c.id, 0)))
    return rows


def _estimator(claim: Claim) -> str:
    est = claim.estimator
    return (est.name or est.email) if est else "(none)"


def _groups(r: Row) -> list[tuple[str, str]]:
    return [("location", LOCATION), ("insurer", r.claim.insurer or "(customer pay)"),
            ("estimator", _estimator(r.claim))]


Days = dict[date, dict[tuple[str, str], Tally]]


def live_days(shop: Any, start: date, end: date) -> Days:
    """Tallies per shop-local delivery day and group, computed from the claims now."""
    out: Days = defaultdict(dict)
    for r in _rows(shop, start, end):
        for key in _groups(r):
            out[r.day].setdefault(key, Tally()).add(r)
    return out


def stored_days(start: date, end: date) -> Days:
    out: Days = defaultdict(dict)
    names = [f.name for f in fields(Tally)]
    for row in get_session().scalars(select(CsiDaily).where(CsiDaily.day >= start, CsiDaily.day <= end)):
        out[row.day][(row.dimension, row.name)] = Tally(**{n: getattr(row, n) for n in names})
    return out


def stored_dates(start: date, end: date) -> set[date]:
    """Days of the period with a stored scorecard (a day with no delivery is stored as a zero row)."""
    return set(get_session().scalars(select(CsiDaily.day).where(CsiDaily.day >= start, CsiDaily.day <= end,
                                                                CsiDaily.dimension == "location")))


def days(shop: Any, start: date, end: date) -> Days:
    """Stored days as stored; every other day of the period (today, days never stored) live."""
    stored = stored_dates(start, end)
    out = stored_days(start, end) if stored else defaultdict(dict)
    missing = [start + timedelta(days=i) for i in range((end - start).days + 1)
               if start + timedelta(days=i) not in stored]
    if missing:
        live = live_days(shop, min(missing), max(missing))
        for day in missing:
            out[day] = live.get(day, {})
    return out


def store(shop: Any, start: date, end: date) -> int:
    """Compute and store the daily scorecard of ``start``..``end`` (before today: today stays live),
    replacing what was stored. Returns the number of days stored. The caller's tenant is ``shop``."""
    end = min(end, today(shop) - timedelta(days=1))
    if end < start:
        return 0
    session = get_session()
    live = live_days(shop, start, end)
    session.execute(delete(CsiDaily).where(CsiDaily.day >= start, CsiDaily.day <= end))
    now, n = utcnow(), 0
    day = start
    while day <= end:
        tallies = live.get(day) or {("location", LOCATION): Tally()}
        for (dimension, name), tally in tallies.items():
            session.add(CsiDaily(day=day, dimension=dimension, name=name[:200], computed_at=now, **asdict(tally)))
        day += timedelta(days=1)
        n += 1
    commit(session)
    return n


def _avg(total: float, n: int) -> float | None:
    return round(total / n, 2) if n else None


def _rate(part: int, n: int) -> float | None:
    return round(part / n, 4) if n else None


def figures(t: Tally) -> dict[str, Any]:
    return {"delivered": t.delivered, "surveys": t.surveys, "responses": t.responses,
            "response_rate": _rate(t.responses, t.surveys),
            "average_csi": _avg(t.csi_sum, t.csi_n),
            "nps": round(100 * (t.promoters - t.detractors) / t.nps_n, 1) if t.nps_n else None,
            "cycle_time_hours": _avg(t.keys_hours_sum, t.delivered),
            "cycle_time_days": _avg(t.keys_days_sum, t.delivered),
            "production_hours": _avg(t.production_sum, t.production_n),
            "delivered_as_promised": _rate(t.on_time_n, t.promised_n),
            "supplements": t.supplements_sum,
            "supplements_per_claim": _avg(t.supplements_sum, t.delivered) if t.supplements_sum is not None else None}


def _total(per_day: Days, lo: date, hi: date) -> dict[tuple[str, str], Tally]:
    out: dict[tuple[str, str], Tally] = {}
    for day, groups in per_day.items():
        if lo <= day <= hi:
            for key, tally in groups.items():
                out.setdefault(key, Tally()).merge(tally)
    return out


def scorecard(shop: Any, start: date, end: date, per_day: Days | None = None) -> dict[str, Any]:
    """The location's figures, then the same figures per insurer and per estimator."""
    per_day = per_day if per_day is not None else days(shop, start, end)
    total = _total(per_day, start, end)

    def group(dimension: str) -> list[dict[str, Any]]:
        return [{"name": name, **figures(t)} for (dim, name), t in sorted(total.items()) if dim == dimension]

    return {"start": start, "end": end, "location": shop.name,
            "totals": figures(total.get(("location", LOCATION), Tally())),
            "insurers": group("insurer"), "estimators": group("estimator")}


def trend(shop: Any, start: date, end: date, per_day: Days | None = None) -> list[dict[str, Any]]:
    """Week by week (weeks starting on ``start``): the figures of the claims delivered that week."""
    per_day = per_day if per_day is not None else days(shop, start, end)
    weeks = []
    week = start
    while week <= end:
        last = min(week + timedelta(days=6), end)
        t = _total(per_day, week, last).get(("location", LOCATION), Tally())
        weeks.append({"start": week, "end": last, **figures(t)})
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
        h = 0.0 if v is None or v < 0 else (height - 2 * pad) * v / top
        bars.append({"x": round(pad + i * slot + slot * 0.15, 1), "y": round(height - pad - h, 1),
                     "w": round(slot * 0.7, 1), "h": round(h, 1), "value": v, "label": w["start"].strftime("%b %d")})
    return {"width": width, "height": height, "bars": bars, "top": top, "pad": pad}


CSV_COLUMNS = ("group", "name", "delivered", "surveys", "responses", "response_rate", "average_csi", "nps",
               "cycle_time_hours", "cycle_time_days", "production_hours", "delivered_as_promised", "supplements",
               "supplements_per_claim")


def csv_rows(card: dict[str, Any]) -> list[list[Any]]:
    rows = [["location", card["location"], *[card["totals"][c] for c in CSV_COLUMNS[2:]]]]
    for group in ("insurers", "estimators"):
        rows += [[group[:-1], f["name"], *[f[c] for c in CSV_COLUMNS[2:]]] for f in card[group]]
    return rows


def side_by_side(locations: list[Any], start: date, end: date) -> list[dict[str, Any]]:
    """A group admin's view: each location's totals over the same period (caller binds each shop)."""
    from bayline.plugin_api import for_shop

    out = []
    for shop in locations:
        with for_shop(shop) as bound:
            if is_feature_active(bound, "csi"):
                out.append({"location": bound.name, "shop_id": bound.id,
                            **scorecard(bound, start, end)["totals"]})
    return out
