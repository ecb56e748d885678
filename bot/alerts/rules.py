"""The alert rules: pure functions from a snapshot (and the keys already active) to findings.

A rule says, per alert key, "raise" (clearly bad), "clear" (clearly fine) or "hold" (in the
hysteresis band, or not judgeable from the data at hand). Whether that becomes a message is
the engine's business (hold times, repeats, one "resolved").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.alert_data import DayStats, DeviceMessage, Finding, Health, Snapshot, SourceSeen
from heatpump.settings import Settings

# --- heat pump messages -----------------------------------------------------------------

# (message kind, priority substring, alert kind); first match wins, "*" matches anything.
# Status (S.) and info (I.) messages describe normal operation and never alert.
MESSAGE_CLASSES: tuple[tuple[str, str, str], ...] = (
    ("error", "warning", "warning"),
    ("error", "*", "fault"),
    ("service", "*", "warning"),
    ("*", "warning", "warning"),
)


def classify(message: DeviceMessage) -> str | None:
    """Which alert kind a device message belongs to ("fault", "warning"), or None."""
    kind, priority = message.kind.lower(), message.priority.lower()
    for k, p, alert_kind in MESSAGE_CLASSES:
        if k in ("*", kind) and (p == "*" or p in priority):
            return alert_kind
    return None


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def message_rule(alert_kind: str) -> Callable[[Snapshot, Settings, Collection[str],
                                               Mapping[str, Mapping[str, Any]]], list[Finding]]:
    """A rule raising one alert per active message of `alert_kind` and clearing it when a
    newer poll of the same device no longer lists it."""

    def rule(snap: Snapshot, cfg: Settings, active: Collection[str],
             facts_of: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
        out: list[Finding] = []
        for poll in snap.polls:
            present: dict[str, dict[str, Any]] = {}
            for m in poll.messages:
                if classify(m) == alert_kind:
                    present[f"{alert_kind}:{poll.device}:{m.kind}:{m.code}"] = {
                        "device": poll.device, "kind": m.kind, "code": m.code,
                        "priority": m.priority, "text": m.text, "since": _iso(m.since),
                        "seen": _iso(poll.time)}
            if (alert_kind == "fault" and poll.error_count
                    and not any(m.kind.lower() == "error" for m in poll.messages)):
                # The device counts errors but did not say which: still a fault.
                present[f"fault:{poll.device}:error:count"] = {
                    "device": poll.device, "kind": "error", "code": "",
                    "priority": "error", "text": "", "since": None, "seen": _iso(poll.time),
                    "count": poll.error_count}
            for key, facts in present.items():
                first = facts_of.get(key, {}).get("first_seen") or facts["seen"]
                out.append(Finding(key, alert_kind, "raise", {**facts, "first_seen": first}))
            prefix = f"{alert_kind}:{poll.device}:"
            for key in active:
                if key.startswith(prefix) and key not in present:
                    out.append(Finding(key, alert_kind, "clear",
                                       {**facts_of.get(key, {}), "gone": _iso(poll.time)}))
        return out

    return rule


# --- stale sources ----------------------------------------------------------------------


STALE_MIN_CLEAR = timedelta(minutes=30)
RETIRED_AFTER = timedelta(days=14)


def stale_after(cfg: Settings, source: str) -> timedelta:
    """No sample from `source` ("meter" or "vicare") for this long raises the alert:
    ALERT_STALE_SHELLY_MIN or ALERT_STALE_VICARE_MIN."""
    minutes = cfg.alert_stale_shelly_min if source == "meter" else cfg.alert_stale_vicare_min
    return timedelta(minutes=minutes)


def fresh_within(cfg: Settings, source: str) -> timedelta:
    """A source counts as recovered while its latest sample is younger than this: three
    poll intervals (at least 5 min), at most half the stale threshold.

    Between `fresh_within` and `stale_after` is the hysteresis band: nothing changes."""
    poll_s = cfg.shelly_poll_seconds if source == "meter" else cfg.vicare_poll_seconds
    return min(stale_after(cfg, source) / 2,
               max(3 * timedelta(seconds=poll_s), timedelta(minutes=5)))


def commit_lag(snap: Snapshot, cfg: Settings, health: Health | None,
               last_time: datetime) -> timedelta:
    """How much older the newest stored sample may be than the newest sample the collector
    has at `snap.now`, while the source delivers fine.

    The collector commits its samples every HEATPUMP_FLUSH_MINUTES (`Settings.flush_s`: 90
    minutes on the embedded store, every poll on InfluxDB; docs/collector.md "Commits"); in
    between they wait in its memory, so a stored sample that old says nothing wrong
    (`snap.uncommitted` says how much when a replay knows better). Zero when the collector
    recorded the source `down` at or after that sample: a health change is committed at
    once, with everything the collector held, so the store is complete up to that record
    and the silence since is real. (`degraded` polls still deliver data.) The bot reads the
    same settings as the collector (one `.env` for both)."""
    if health is not None and health.status == "down" and health.time >= last_time:
        return timedelta(0)
    if snap.uncommitted is not None:
        return snap.uncommitted
    return timedelta(seconds=cfg.flush_s)


def silence(snap: Snapshot, seen: SourceSeen, cfg: Settings) -> timedelta:
    """How long the store proves `seen` silent at `snap.now`.

    Two pieces of evidence, the stronger counts: every commit holds all that the collector
    had, so a newer sample of any other source (a later commit) proves this one silent up
    to that sample; and past the newest stored sample, its age less the `commit_lag` the
    collector may still hold in memory. So commits every 90 minutes neither raise a false
    alert just before a commit nor keep a real one from resolving; a source silent beside a working
    one is reported at the first commit past the threshold, a recorded failure on time, a
    collector that stopped altogether one commit interval late (docs/alerts.md). In
    hindsight (`heatpump alerts replay` over old data) the other sources show the store
    complete, so the lag drops out."""
    newest = max(s.last_time for s in snap.sources)
    return max(newest - seen.last_time,
               snap.now - seen.last_time - commit_lag(snap, cfg, seen.health, seen.last_time))


def stale_rule(snap: Snapshot, cfg: Settings, active: Collection[str],
               facts_of: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """No sample for too long; fresh again only when the latest sample is recent. Both are
    judged on the `silence` the store proves, not on the newest stored sample's age."""
    out = []
    for s in snap.sources:
        key = f"stale:{s.source}:{s.device}"
        age = silence(snap, s, cfg)
        facts: dict[str, Any] = {
            "source": s.source, "device": s.device, "last": _iso(s.last_time),
            "threshold_min": stale_after(cfg, s.source) / timedelta(minutes=1)}
        if key in facts_of:
            facts["since"] = facts_of[key].get("since", facts["last"])
        else:
            facts["since"] = facts["last"]
        h = s.health
        if h is not None:
            facts["health"] = {"time": _iso(h.time), "status": h.status, "reason": h.reason,
                               "detail": h.detail, "until": _iso(h.until),
                               "failures": h.failures}
        if age > RETIRED_AFTER:
            verdict = "hold"  # a replaced or removed device: no more daily reminders
        elif age >= stale_after(cfg, s.source):
            verdict = "raise"
        elif age <= fresh_within(cfg, s.source):
            verdict = "clear"
        else:
            verdict = "hold"
        # Recovery must outlast the "fresh" window, so a lone sample never resolves.
        out.append(Finding(key, "stale", verdict, facts,
                           clear_after=max(STALE_MIN_CLEAR, 2 * fresh_within(cfg, s.source))))
    return out


# --- COP drop ---------------------------------------------------------------------------

MIN_REFERENCE_DAYS = 10  # valid days needed before "normal" is learned
MIN_FIT_SPREAD_K = 3.0  # narrower temperature spread: take the mean COP, not a slope
# Judge days at most this far outside the learned temperature range. The daily COP is
# close to linear in the outdoor temperature while space heating dominates, so colder days
# are judged up to 8 K below what was learned. Above the range the hot-water share grows as
# space heating fades and the daily COP falls again: on the simulator's healthy house (seed
# 3, late April) a line learned up to 10.5 °C put 13-14 °C days 25 % "below normal". Warmer
# days are judged only 3 K beyond the range (docs/alerts.md, tests/bot/alerts/
# test_calibration.py).
EXTRAPOLATE_COLD_K = 8.0
EXTRAPOLATE_WARM_K = 3.0
EXTRAPOLATE_FLAT_K = 2.0
MIN_COVERAGE = 0.9  # share of the day both heat and electricity must cover
MAX_JUDGE_AGE_DAYS = 3  # the newest judged day must be this recent


@dataclass(frozen=True, slots=True)
class CopModel:
    """Normal daily COP against mean outdoor temperature, learned from own history."""

    intercept: float
    slope_per_k: float
    t_min_c: float
    t_max_c: float
    days: int
    margin_k: float  # below t_min_c
    margin_warm_k: float  # above t_max_c

    def expected(self, temp_c: float) -> float | None:
        """Normal COP at `temp_c`, or None when too far outside what was learned."""
        if not self.t_min_c - self.margin_k <= temp_c <= self.t_max_c + self.margin_warm_k:
            return None
        return self.intercept + self.slope_per_k * temp_c


def valid_day(d: DayStats, cfg: Settings) -> bool:
    """Enough runtime and complete data for the day's COP to mean something."""
    return (d.cop is not None and d.running_s is not None
            and d.running_s >= cfg.alert_cop_min_runtime_h * 3600
            and (d.coverage is None or d.coverage >= MIN_COVERAGE))


def fit_cop_model(days: list[DayStats], drop_pct: float | None = None) -> CopModel | None:
    """Least-squares line COP = a + b·T over valid days with a temperature.

    A slope below zero (colder would be better) is noise: the mean is used instead. With
    `drop_pct`, days already more than half that far below the line (the start of a drop
    that is not yet under test) are left out and the line fitted again, so a degrading heat
    pump does not teach the rule that low is normal."""
    pts = [(d.outside_temp_c, d.cop) for d in days
           if d.outside_temp_c is not None and d.cop is not None]
    model = _fit(pts)
    for _ in range(3):
        if model is None or drop_pct is None:
            break
        keep = [(t, c) for t, c in pts
                if c >= (model.intercept + model.slope_per_k * t) * (1 - drop_pct / 200)]
        if len(keep) == len(pts) or len(keep) < MIN_REFERENCE_DAYS:
            break
        pts, model = keep, _fit(keep)
    return model


def _fit(pts: list[tuple[float, float]]) -> CopModel | None:
    if len(pts) < MIN_REFERENCE_DAYS:
        return None
    ts = [t for t, _ in pts]
    cs = [c for _, c in pts]
    n = len(pts)
    t_mean, c_mean = sum(ts) / n, sum(cs) / n
    spread = max(ts) - min(ts)
    slope = 0.0
    if spread >= MIN_FIT_SPREAD_K:
        sxx = sum((t - t_mean) ** 2 for t in ts)
        sxy = sum((t - t_mean) * (c - c_mean) for t, c in pts)
        slope = max(0.0, sxy / sxx)
    if slope > 0:
        cold, warm = EXTRAPOLATE_COLD_K, EXTRAPOLATE_WARM_K
    else:
        cold = warm = EXTRAPOLATE_FLAT_K
    return CopModel(c_mean - slope * t_mean, slope, min(ts), max(ts), n, cold, warm)


def cop_rule(snap: Snapshot, cfg: Settings, active: Collection[str],
             facts_of: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Daily COP below normal by more than ALERT_COP_DROP_PCT on ALERT_COP_DAYS valid days."""
    key = "cop_drop"
    if not snap.days:
        return []
    today = snap.current_day
    assert today is not None
    valid = [d for d in snap.days if valid_day(d, cfg)]
    tested = valid[-cfg.alert_cop_days:]
    if len(tested) < cfg.alert_cop_days or (today - tested[-1].day).days > MAX_JUDGE_AGE_DAYS:
        return [Finding(key, "cop_drop", "hold")]
    first_tested = tested[0].day
    # Days since an active drop began are not "normal": keep them out of the reference.
    began = facts_of.get(key, {}).get("first_day")
    exclude_from = min(first_tested, date.fromisoformat(began)) if began else first_tested
    ref_start = exclude_from - timedelta(days=cfg.alert_cop_history_days)
    reference = [d for d in valid if ref_start <= d.day < exclude_from]
    model = fit_cop_model(reference, cfg.alert_cop_drop_pct)
    if model is None and cfg.alert_cop_floor is None:
        return [Finding(key, "cop_drop", "hold")]
    rows = []
    for d in tested:
        cop = d.cop
        assert cop is not None
        if model is not None:
            if d.outside_temp_c is None:
                return [Finding(key, "cop_drop", "hold")]
            expected = model.expected(d.outside_temp_c)
            if expected is None:
                return [Finding(key, "cop_drop", "hold")]
            limit = expected * (1 - cfg.alert_cop_drop_pct / 100)
            back = expected * (1 - cfg.alert_cop_drop_pct / 200)
        else:
            assert cfg.alert_cop_floor is not None
            expected = limit = cfg.alert_cop_floor
            back = cfg.alert_cop_floor * 1.05
        rows.append({"day": d.day.isoformat(), "cop": round(cop, 3),
                     "expected": round(expected, 3), "temp_c": d.outside_temp_c,
                     "below": cop < limit, "back": cop >= back})
    facts: dict[str, Any] = {"days": rows, "pct": cfg.alert_cop_drop_pct,
                             "basis": "floor" if model is None else "history"}
    if model is not None:
        facts.update(ref_days=model.days, ref_t_min=model.t_min_c, ref_t_max=model.t_max_c,
                     slope=round(model.slope_per_k, 4))
    facts["first_day"] = began or first_tested.isoformat()
    if all(r["below"] for r in rows):
        return [Finding(key, "cop_drop", "raise", facts)]
    if rows[-1]["back"]:
        return [Finding(key, "cop_drop", "clear", facts)]
    return [Finding(key, "cop_drop", "hold", facts)]


# --- short cycling ----------------------------------------------------------------------

SHORT_CYCLE_CLEAR_RATIO = 0.8


def short_cycle_rule(snap: Snapshot, cfg: Settings, active: Collection[str],
                     facts_of: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Mean compressor starts per hour of runtime over the latest day with enough runtime."""
    key = "short_cycle"
    limit = cfg.alert_short_cycle_starts_per_h
    if limit <= 0 or not snap.days:
        return []
    days = [d for d in snap.days if d.starts is not None and d.running_s is not None
            and d.running_s >= cfg.alert_cop_min_runtime_h * 3600
            and (d.coverage is None or d.coverage >= MIN_COVERAGE)]
    today = snap.current_day
    assert today is not None
    if not days or (today - days[-1].day).days > MAX_JUDGE_AGE_DAYS:
        return [Finding(key, "short_cycle", "hold")]
    d = days[-1]
    assert d.starts is not None and d.running_s is not None
    runtime_h = d.running_s / 3600
    rate = d.starts / runtime_h
    facts = {"day": d.day.isoformat(), "starts": d.starts, "runtime_h": round(runtime_h, 2),
             "rate": round(rate, 2), "limit": limit}
    if rate > limit:
        verdict = "raise"
    elif rate <= limit * SHORT_CYCLE_CLEAR_RATIO:
        verdict = "clear"
    else:
        verdict = "hold"
    return [Finding(key, "short_cycle", verdict, facts)]


# --- heating rod --------------------------------------------------------------------------

# Below this, heating-circuit rod energy on a mild day is a test run or a defrost aid.
ROD_MILD_MIN_WH = 500.0


def heating_rod_rule(snap: Snapshot, cfg: Settings, active: Collection[str],
                     facts_of: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """The heating rod ran outside what is expected on the latest complete day it reported:
    more electricity than ALERT_ROD_KWH_PER_DAY, longer than ALERT_ROD_HOURS_PER_DAY, or
    ROD_MILD_MIN_WH or more for the heating circuit on a day whose mean outdoor temperature
    was at least ALERT_ROD_MILD_C (a rod should heat the house only below the bivalence
    temperature; hot-water hygiene runs are not counted there). Clear: a reported day
    within all limits; hold: no rod figures."""
    key = "heating_rod"
    days = [d for d in snap.days if d.rod_wh is not None or d.rod_running_s is not None]
    today = snap.current_day
    if not days or today is None or (today - days[-1].day).days > MAX_JUDGE_AGE_DAYS:
        return [Finding(key, "heating_rod", "hold")] if days or key in active else []
    d = days[-1]
    reasons = []
    if cfg.alert_rod_kwh_per_day > 0 and d.rod_wh is not None \
            and d.rod_wh > cfg.alert_rod_kwh_per_day * 1000:
        reasons.append("energy")
    if cfg.alert_rod_hours_per_day > 0 and d.rod_running_s is not None \
            and d.rod_running_s > cfg.alert_rod_hours_per_day * 3600:
        reasons.append("runtime")
    if (cfg.alert_rod_mild_c is not None and d.outside_temp_c is not None
            and d.outside_temp_c >= cfg.alert_rod_mild_c
            and (d.rod_heating_wh or 0.0) >= ROD_MILD_MIN_WH):
        reasons.append("mild")
    facts = {"day": d.day.isoformat(), "rod_wh": d.rod_wh, "heating_wh": d.rod_heating_wh,
             "running_s": d.rod_running_s, "estimated": d.rod_estimated,
             "temp_c": d.outside_temp_c, "reasons": reasons,
             "kwh_limit": cfg.alert_rod_kwh_per_day, "hours_limit": cfg.alert_rod_hours_per_day,
             "mild_c": cfg.alert_rod_mild_c}
    return [Finding(key, "heating_rod", "raise" if reasons else "clear", facts)]
