"""Example alert messages, produced by the real engine from scripted snapshots.

docs/alerts.md shows exactly these texts (a test keeps them in step), so the documentation
never drifts from what the bot sends. Run `python -m bot.alerts.examples` to print them
(`python -m bot.alerts.examples de`: in German, as docs/bot.md's "Deutsch" shows them).
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.alert_data import (
    DayStats,
    DeviceMessage,
    Health,
    MessagePoll,
    Notification,
    Snapshot,
    SourceSeen,
)
from bot.alerts.engine import empty_state, evaluate
from heatpump import i18n
from heatpump.settings import Settings

TZ = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)
PUMP = "7571381681420106"
METER = "shellypro3em-0001"


def _run(snaps: list[Snapshot], cfg: Settings | None = None) -> list[Notification]:
    cfg = cfg or Settings()
    state, out = empty_state(), []
    for s in snaps:
        state, notes = evaluate(s, state, cfg, TZ)
        out += notes
    return out


def fault() -> list[Notification]:
    msg = DeviceMessage("error", "F.1100", "criticalError", "",
                        T0 + timedelta(minutes=28))
    snaps = []
    for m in range(0, 180, 5):
        now = T0 + timedelta(minutes=m)
        present = (msg,) if 30 <= m < 90 else ()
        snaps.append(Snapshot(now, polls=(MessagePoll(PUMP, now, present, len(present)),)))
    return _run(snaps)


def warning() -> list[Notification]:
    msg = DeviceMessage("service", "P.8", "warning", "", T0)
    snaps = [Snapshot(T0, polls=(MessagePoll(PUMP, T0, (msg,), 0),))]
    return _run(snaps)


def stale() -> list[Notification]:
    down_from, down_to = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    quota = Health(down_from + timedelta(minutes=2), "down", "quota_exhausted",
                   "The Viessmann day limit of 1450 calls was reached.",
                   datetime(2026, 1, 13, 0, 0, tzinfo=UTC), 3)
    snaps = []
    for m in range(0, 5 * 60, 5):
        now = T0 + timedelta(minutes=m)
        last = min(now, down_from - timedelta(minutes=5)) if now < down_to else now
        h = quota if down_from <= now < down_to else None
        snaps.append(Snapshot(now, sources=(SourceSeen("heatpump", PUMP, last, h),)))
    return _run(snaps)


def stale_meter() -> list[Notification]:
    now = T0 + timedelta(hours=2)
    last = T0 + timedelta(minutes=50)
    h = Health(T0 + timedelta(minutes=51), "down", "unreachable",
               "The meter did not answer within 4 s.", None, 12)
    return _run([Snapshot(now, sources=(SourceSeen("meter", METER, last, h),))])


def _day(d: date, temp_c: float, cop: float, starts: float = 12) -> DayStats:
    return DayStats(d, heat_wh=cop * 20000, electricity_wh=20000.0, running_s=10 * 3600,
                    starts=starts, outside_temp_c=temp_c, coverage=1.0)


def cop_drop() -> list[Notification]:
    start = date(2025, 12, 1)
    temps = [2 + (i * 37 % 13) / 2 for i in range(35)]  # 2..8 °C, a fixed pattern
    days = [_day(start + timedelta(days=i), t, 3.0 + 0.1 * t) for i, t in enumerate(temps)]
    cold = start + timedelta(days=35)
    days += [_day(cold + timedelta(days=i), t, (3.0 + 0.1 * t) * 0.72)
             for i, t in enumerate([-1.5, -2.5, -3.0])]
    days += [_day(cold + timedelta(days=3), 0.5, 3.05)]
    out = []
    state = empty_state()
    for i in range(35, len(days) + 1):
        now = datetime.combine(days[i - 1].day + timedelta(days=1), datetime.min.time(),
                               TZ) + timedelta(hours=7)
        state, notes = evaluate(Snapshot(now.astimezone(UTC), days=tuple(days[:i])), state,
                                Settings(alert_repeat_h=72), TZ)
        out += notes
    return out


def short_cycle() -> list[Notification]:
    d = date(2026, 1, 11)
    days = (_day(d, 9.0, 4.1, starts=75),)
    now = datetime(2026, 1, 12, 7, 0, tzinfo=TZ).astimezone(UTC)
    return _run([Snapshot(now, days=days)])


def heating_rod() -> list[Notification]:
    """A rod stuck on for heating at 9 °C, then a normal day (a 1.2 kWh hygiene run)."""
    days = (DayStats(date(2026, 1, 11), rod_wh=14200.0, rod_heating_wh=13100.0,
                     outside_temp_c=9.0),
            DayStats(date(2026, 1, 12), rod_wh=1200.0, rod_heating_wh=0.0,
                     outside_temp_c=8.0))
    out: list[Notification] = []
    state = empty_state()
    for i in (1, 2):
        now = datetime.combine(days[i - 1].day + timedelta(days=1), time(7, 0),
                               TZ).astimezone(UTC)
        state, notes = evaluate(Snapshot(now, days=days[:i]), state, Settings(), TZ)
        out += notes
    return out


ALL = {"fault": fault, "warning": warning, "stale": stale, "stale_meter": stale_meter,
       "cop_drop": cop_drop, "short_cycle": short_cycle, "heating_rod": heating_rod}


def main(argv: list[str] | None = None) -> None:
    """Print every example; `python -m bot.alerts.examples de` prints them in German."""
    args = sys.argv[1:] if argv is None else argv
    with i18n.using(args[0] if args else "en"):
        for name, make in ALL.items():
            for n in make():
                print(f"--- {name} {n.event}\n{n.text}\n")


if __name__ == "__main__":
    main()
