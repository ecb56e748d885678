"""Alert rules and life cycle on scripted histories: pure, no I/O except the restart test."""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.alert_data import (
    DayStats,
    DeviceMessage,
    Health,
    MessagePoll,
    Notification,
    Snapshot,
    SourceSeen,
)
from bot.alerts import persist
from bot.alerts.engine import active_alerts, empty_state, evaluate
from bot.alerts.rules import classify, fit_cop_model
from heatpump.settings import Settings

TZ = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
CFG = Settings()
# A store that is current to the last poll: InfluxDB, where the collector commits every poll.
# The scripted timelines below show such a store; `committed_timeline` shows the embedded
# store's hourly commits (CFG's default).
CURRENT = Settings(flush_minutes=0)
HP = "7571381681420106"
F1100 = DeviceMessage("error", "F.1100", "criticalError", "Compressor fault",
                      datetime(2026, 1, 12, 6, 28, tzinfo=UTC))
S134 = DeviceMessage("status", "S.134", "status")
W = DeviceMessage("service", "P.8", "warning", "Maintenance due")


def run(snapshots, cfg=CFG, state=None):
    """Evaluate a timeline; returns (final state, [(time, notification)])."""
    state = state or empty_state()
    sent: list[tuple[datetime, Notification]] = []
    for snap in snapshots:
        state, notes = evaluate(snap, state, cfg, TZ)
        sent += [(snap.now, n) for n in notes]
    return state, sent


def events(sent):
    return [(n.kind, n.event) for _, n in sent]


# --- faults -----------------------------------------------------------------------------


def fault_timeline(present, minutes=180, step=5):
    """One poll every `step` minutes; `present(minute)` gives the messages at that poll."""
    for m in range(0, minutes, step):
        now = T0 + timedelta(minutes=m)
        msgs = tuple(present(m))
        errors = sum(1 for x in msgs if x.kind == "error")
        yield Snapshot(now, polls=(MessagePoll(HP, now, msgs, errors),))


def test_classify_table():
    assert classify(F1100) == "fault"
    assert classify(DeviceMessage("error", "F.2", "warning")) == "warning"
    assert classify(W) == "warning"
    assert classify(S134) is None
    assert classify(DeviceMessage("info", "I.114", "info")) is None


def test_fault_appears_and_clears_once():
    state, sent = run(fault_timeline(lambda m: [S134] + ([F1100] if 30 <= m < 90 else [])))
    assert events(sent) == [("fault", "raised"), ("fault", "resolved")]
    (t_raise, raised), (t_res, resolved) = sent
    assert t_raise == T0 + timedelta(minutes=30)
    # clear must last 10 min: gone at 90, resolved at 100
    assert t_res == T0 + timedelta(minutes=100)
    assert "F.1100" in raised.text and "criticalError" in raised.text
    assert "Compressor fault" in raised.text
    assert "since 07:28" in raised.text  # the device's own time, local (Berlin)
    assert "07:28 to 08:30" in resolved.text and resolved.text.startswith("✅")
    assert active_alerts(state) == []


def test_fault_gone_for_one_poll_does_not_flap():
    _, sent = run(fault_timeline(lambda m: [F1100] if m != 60 else []))
    assert events(sent) == [("fault", "raised")]


def test_fault_repeats_at_most_every_repeat_hours():
    cfg = Settings(alert_repeat_h=1)
    _, sent = run(fault_timeline(lambda m: [F1100], minutes=200), cfg)
    assert events(sent) == [("fault", "raised")] + [("fault", "repeat")] * 3
    assert [t - T0 for t, _ in sent] == [timedelta(hours=h) for h in range(4)]
    assert sent[1][1].text.startswith("⚠️ Still active")


def test_implausible_device_time_is_replaced_by_first_seen():
    old = DeviceMessage("error", "F.1100", "criticalError", "",
                        datetime(2000, 7, 22, 20, 37, tzinfo=UTC))
    _, sent = run(fault_timeline(lambda m: [old], minutes=10))
    assert "since 07:00" in sent[0][1].text and "2000" not in sent[0][1].text


def test_error_count_without_details_is_a_fault():
    now = T0
    snap = Snapshot(now, polls=(MessagePoll(HP, now, (), 2),))
    _, notes = evaluate(snap, empty_state(), CFG, TZ)
    assert [n.key for n in notes] == [f"fault:{HP}:error:count"]
    assert "2 active errors" in notes[0].text


def test_warnings_switchable():
    timeline = list(fault_timeline(lambda m: [W] if m < 60 else [], minutes=120))
    _, sent = run(timeline)
    assert events(sent) == [("warning", "raised"), ("warning", "resolved")]
    assert "Maintenance due" in sent[0][1].text
    _, sent = run(timeline, Settings(alert_warnings=False))
    assert sent == []


def test_stale_device_keeps_fault_active():
    """Without a newer poll nothing is known: the fault neither resolves nor repeats."""
    snaps = [Snapshot(T0, polls=(MessagePoll(HP, T0, (F1100,), 1),))]
    snaps += [Snapshot(T0 + timedelta(hours=h), polls=()) for h in range(1, 5)]
    state, sent = run(snaps)
    assert events(sent) == [("fault", "raised")]
    assert len(active_alerts(state)) == 1


# --- stale data -------------------------------------------------------------------------

QUOTA = Health(datetime(2026, 1, 12, 10, 2, tzinfo=UTC), "down", "quota_exhausted",
               "Viessmann day limit of 1450 calls reached",
               datetime(2026, 1, 13, 0, 0, tzinfo=UTC), 3)


def outage_timeline(down_from, down_to, source="heatpump", poll_s=300, health=None,
                    hours=5, check_min=5):
    """The source delivers every poll_s except in [down_from, down_to)."""
    for m in range(0, hours * 60, check_min):
        now = T0 + timedelta(minutes=m)
        t = T0
        last = T0
        while t <= now:
            if not down_from <= t < down_to:
                last = t
            t += timedelta(seconds=poll_s)
        h = health if down_from <= now and last < down_from + timedelta(minutes=1) else None
        yield Snapshot(now, sources=(SourceSeen(source, "dev1", last, h),))


def test_two_hour_outage_alerts_once_and_recovers_once():
    down_from, down_to = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    _, sent = run(outage_timeline(down_from, down_to, health=QUOTA), CURRENT)
    assert events(sent) == [("stale", "raised"), ("stale", "resolved")]
    (t1, raised), (t2, resolved) = sent
    last_sample = down_from - timedelta(minutes=5)  # 06:55 UTC = 07:55 Berlin
    assert t1 == last_sample + timedelta(minutes=60)
    assert "heat pump (Viessmann cloud)" in raised.text
    assert "since 07:55" in raised.text
    assert "quota exhausted" in raised.text and "waiting until Tue 01:00" in raised.text
    assert "day limit" in raised.text
    # data back at 09:00 UTC; must keep arriving for 30 min before "resolved"
    assert t2 == down_to + timedelta(minutes=30)
    assert "arriving again" in resolved.text and "07:55 to 10:00" in resolved.text


def test_meter_outage_without_health_asks_about_collector():
    down_from, down_to = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    _, sent = run(outage_timeline(down_from, down_to, source="meter", poll_s=10), CURRENT)
    assert events(sent) == [("stale", "raised"), ("stale", "resolved")]
    assert "electricity meter (Shelly)" in sent[0][1].text
    assert "is the collector still running" in sent[0][1].text
    assert sent[0][0] == down_from + timedelta(minutes=60)


def test_flapping_source_does_not_spam():
    """A sample only every 70 min: one alert, no resolve/raise ping-pong."""
    snaps = []
    for m in range(0, 12 * 60, 5):
        now = T0 + timedelta(minutes=m)
        last = T0 + timedelta(minutes=70 * (m // 70))
        snaps.append(Snapshot(now, sources=(SourceSeen("heatpump", "dev1", last),)))
    _, sent = run(snaps, CURRENT)
    assert events(sent) == [("stale", "raised")]


def test_flapping_bursts_do_not_spam():
    """Ten minutes of data, then 65 minutes of silence, over and over."""
    snaps = []
    for m in range(0, 12 * 60, 5):
        now = T0 + timedelta(minutes=m)
        cycle_start = 75 * (m // 75)
        last = T0 + timedelta(minutes=min(m, cycle_start + 10))
        snaps.append(Snapshot(now, sources=(SourceSeen("meter", "m1", last),)))
    _, sent = run(snaps, CURRENT)
    assert events(sent) == [("stale", "raised")]


def test_repeated_real_recoveries_back_off():
    """40 min of data, 65 min of silence, for 12 h: at most raise, resolve, raise."""
    snaps = []
    for m in range(0, 12 * 60, 5):
        now = T0 + timedelta(minutes=m)
        cycle_start = 105 * (m // 105)
        last = T0 + timedelta(minutes=min(m, cycle_start + 40))
        snaps.append(Snapshot(now, sources=(SourceSeen("meter", "m1", last),)))
    _, sent = run(snaps, CURRENT)
    assert events(sent) == [("stale", "raised"), ("stale", "resolved"), ("stale", "raised")]


def test_a_retired_device_stops_reminding():
    cfg = Settings(alert_repeat_h=24)
    last = T0 - timedelta(days=10)
    snaps = [Snapshot(T0 + timedelta(days=d), sources=(SourceSeen("meter", "old", last),))
             for d in range(10)]
    _, sent = run(snaps, cfg)
    assert events(sent) == [("stale", "raised"), ("stale", "repeat"), ("stale", "repeat"),
                            ("stale", "repeat"), ("stale", "repeat")]  # until 14 days


def test_short_gap_below_threshold_is_silent():
    _, sent = run(outage_timeline(T0 + timedelta(hours=1), T0 + timedelta(minutes=110)), CURRENT)
    assert sent == []



# --- stale data under the embedded store's hourly commits --------------------------------

TICK = timedelta(seconds=10)  # the meter's poll: every commit happens at some poll


def committed_timeline(source, poll_s, *, hours=24, down=None, stopped_at=None,
                       degraded_at=None, offset_s=130, check_offset_s=150):
    """What each alert check (every 5 min) reads from a store the collector commits every
    HEATPUMP_FLUSH_MINUTES (CFG: 60) and at once on a health change of the source, as
    collector/sink.py does: the newest committed sample and health record. The source polls
    every `poll_s` (first at `offset_s`), fails in `down` = (from, to), delivers but is
    recorded `degraded` from its first poll at or after `degraded_at`, and the collector
    stops at `stopped_at`."""
    commit = timedelta(seconds=CFG.flush_s)
    committed: list[tuple[datetime, datetime | None, Health | None]] = []  # (at, newest, health)
    newest = health = None
    last_commit = T0
    status = "up"
    t, end = T0, T0 + timedelta(hours=hours)
    while t < end and (stopped_at is None or t < stopped_at):
        change = False
        if (t - T0).total_seconds() % poll_s == offset_s % poll_s:
            failing = down is not None and down[0] <= t < down[1]
            if failing and status == "up":
                status, change = "down", True
                health = Health(t, "down", "unreachable", "no answer", None, 1)
            elif not failing:
                newest = t
                if degraded_at is not None and t >= degraded_at and health is None:
                    change = True
                    health = Health(t, "degraded", "partial", "some features missing", None, 0)
                if status == "down":
                    status, change = "up", True
                    health = Health(t, "up", "", "", None, 0)
        if change or t - last_commit >= commit:
            committed.append((t, newest, health))
            last_commit = t
        t += TICK
    snaps = []
    now = T0 + timedelta(seconds=check_offset_s)
    while now < (end if stopped_at is None else end + timedelta(hours=3)):
        seen = [(n, h) for at, n, h in committed if at <= now and n is not None]
        if seen:
            n, h = seen[-1]
            snaps.append(Snapshot(now, sources=(SourceSeen(source, "dev1", n, h),)))
        now += timedelta(minutes=5)
    return snaps


@pytest.mark.parametrize(("source", "poll_s"), [("heatpump", 300), ("meter", 10)])
def test_hourly_commits_raise_nothing_for_a_healthy_source(source, poll_s):
    """Just before a commit the newest stored heat pump poll is up to 65 min old: that is
    the commit cadence, not silence (judged as a current store, it would raise)."""
    snaps = committed_timeline(source, poll_s)
    assert run(snaps)[1] == []
    if source == "heatpump":
        assert ("stale", "raised") in events(run(snaps, CURRENT)[1])


def test_hourly_commits_do_not_take_a_degraded_source_for_a_silent_one():
    """`degraded` is committed at once too, but its polls go on delivering (into memory):
    the hour until the next commit is no silence, even with a 30-min threshold."""
    snaps = committed_timeline("heatpump", 300, degraded_at=T0 + timedelta(hours=2))
    assert any(s.sources[0].health for s in snaps)
    assert run(snaps, Settings(alert_stale_vicare_min=30))[1] == []


def test_hourly_commits_report_a_recorded_failure_on_time_and_resolve_it():
    """A failure is committed at once, so its silence is real from the first minute: raised
    at the threshold, and resolved 30 min after the data came back although the store is
    committed only hourly after that."""
    down = (T0 + timedelta(hours=3, minutes=20), T0 + timedelta(hours=6))
    snaps = committed_timeline("heatpump", 300, down=down)
    state, sent = run(snaps)
    assert events(sent) == [("stale", "raised"), ("stale", "resolved")]
    last = T0 + timedelta(hours=3, minutes=17, seconds=10)  # the last poll before the failure
    assert last + timedelta(minutes=60) <= sent[0][0] < last + timedelta(minutes=65)
    assert down[1] + timedelta(minutes=30) <= sent[1][0] < down[1] + timedelta(minutes=40)
    assert not active_alerts(state)


def test_hourly_commits_report_a_stopped_collector_one_commit_interval_later():
    """Nothing committed any more: the uncommitted hour is given the benefit of the doubt,
    so the alert comes at the threshold plus HEATPUMP_FLUSH_MINUTES, and says since when."""
    late = timedelta(minutes=CFG.alert_stale_shelly_min, seconds=CFG.flush_s)
    stopped = T0 + timedelta(hours=5, minutes=30)
    snaps = committed_timeline("meter", 10, stopped_at=stopped, hours=6)
    _, sent = run(snaps)
    assert events(sent) == [("stale", "raised")]
    stored = max(s.sources[0].last_time for s in snaps)
    assert stored + late <= sent[0][0] < stored + late + timedelta(minutes=5)
    assert "is the collector still running" in sent[0][1].text


def test_hourly_commits_report_a_source_silent_beside_a_working_one_at_the_next_commit():
    """The heat pump stops delivering (no failure recorded: e.g. its thread hangs) while the
    meter goes on: each hourly commit holds the meter's newest sample and proves the heat
    pump silent up to it, so the alert comes with the first commit past the threshold, not
    a whole commit interval after it."""
    commit = timedelta(seconds=CFG.flush_s)
    silent_from = T0 + timedelta(hours=2, minutes=1)
    last_hp = T0 + timedelta(hours=1, minutes=57, seconds=10)  # its last poll (every 5 min)
    commits = [T0 + k * commit for k in range(9)]
    snaps = []
    for m in range(0, 8 * 60, 5):
        now = T0 + timedelta(minutes=m, seconds=150)
        at = max(c for c in commits if c <= now)
        hp = max((T0 + timedelta(seconds=130 + 300 * k) for k in range(200)
                  if T0 + timedelta(seconds=130 + 300 * k) <= min(at, silent_from)),
                 default=None)
        seen = (SourceSeen("meter", "m1", at),)
        if hp is not None:  # nothing of it stored before the first commit with a poll
            seen += (SourceSeen("heatpump", "dev1", hp),)
        snaps.append(Snapshot(now, sources=seen))
    assert max(s.sources[-1].last_time for s in snaps) == last_hp
    _, sent = run(snaps)
    assert events(sent) == [("stale", "raised")]
    assert sent[0][0] == T0 + timedelta(hours=3, seconds=150)  # the check after the commit
    assert sent[0][0] - last_hp < timedelta(minutes=60) + commit

# --- restart ----------------------------------------------------------------------------


def test_restart_mid_alert_neither_repeats_nor_forgets(tmp_path):
    down_from, down_to = T0 + timedelta(hours=1), T0 + timedelta(hours=3)
    snaps = list(outage_timeline(down_from, down_to, health=QUOTA))
    half = len(snaps) // 2  # in the middle of the outage
    state, first = run(snaps[:half], CURRENT)
    assert events(first) == [("stale", "raised")]
    persist.save_state(tmp_path, state)
    del state
    restored = persist.load_state(tmp_path)
    assert json.loads((tmp_path / persist.STATE_FILE).read_text())["alerts"]
    _, second = run(snaps[half:], CURRENT, state=restored)
    assert events(second) == [("stale", "resolved")]
    assert "07:55 to 10:00" in second[0][1].text


def test_damaged_state_file_is_kept_aside(tmp_path):
    (tmp_path / persist.STATE_FILE).write_text("{not json")
    assert persist.load_state(tmp_path) == empty_state()
    (aside,) = tmp_path.glob(persist.STATE_FILE + ".broken-*")  # timestamped, kept
    assert aside.read_text() == "{not json"


# --- COP drop ---------------------------------------------------------------------------


def curve(temp_c: float) -> float:
    """This heat pump's normal daily COP at a mean outdoor temperature."""
    return 3.0 + 0.1 * temp_c


def day(d: date, temp_c: float, cop: float, runtime_h: float = 10, starts: float = 12):
    elec = 20000.0
    return DayStats(d, heat_wh=cop * elec, electricity_wh=elec, running_s=runtime_h * 3600,
                    starts=starts, outside_temp_c=temp_c, coverage=1.0)


def history(n=35, start=date(2025, 12, 1), seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = 2 + 6 * rng.random()  # mild: 2..8 °C
        out.append(day(start + timedelta(days=i), t, curve(t) * (1 + rng.gauss(0, 0.03))))
    return out


def daily_run(days, cfg=CFG, first_check=35):
    """Evaluate each morning at 06:00 local with the complete days up to yesterday."""
    state, sent = empty_state(), []
    for i in range(first_check, len(days) + 1):
        now = datetime.combine(days[i - 1].day + timedelta(days=1),
                               datetime.min.time(), TZ) + timedelta(hours=6)
        state, notes = evaluate(Snapshot(now.astimezone(UTC), days=tuple(days[:i])),
                                state, cfg, TZ)
        sent += [(days[i - 1].day, n) for n in notes]
    return state, sent


def test_fit_learns_the_curve():
    model = fit_cop_model(history())
    assert model is not None
    assert model.expected(5) == pytest.approx(curve(5), rel=0.03)
    assert 0.05 < model.slope_per_k < 0.15
    assert model.expected(-30) is None  # no wild extrapolation


def test_cold_spell_with_normal_cop_does_not_alert():
    days = history()
    start = days[-1].day + timedelta(days=1)
    days += [day(start + timedelta(days=i), t, curve(t)) for i, t in
             enumerate([-1.0, -2.0, -2.5, -2.0, -1.5])]
    _, sent = daily_run(days)
    assert sent == []


def test_five_day_cop_drop_in_cold_weather_alerts_once_then_resolves():
    days = history()
    start = days[-1].day + timedelta(days=1)
    cold = [-1.0, -2.0, -2.5, -2.0, -1.5]
    days += [day(start + timedelta(days=i), t, curve(t) * 0.7) for i, t in enumerate(cold)]
    days += [day(start + timedelta(days=5), 0.0, curve(0.0))]
    cfg = Settings(alert_cop_days=3)
    state, sent = daily_run(days, cfg)
    # checked each morning: reminded daily (ALERT_REPEAT_H=24) while it lasts
    assert events(sent) == [("cop_drop", "raised"), ("cop_drop", "repeat"),
                            ("cop_drop", "repeat"), ("cop_drop", "resolved")]
    (d_raise, raised), (d_res, resolved) = sent[0], sent[-1]
    assert d_raise == start + timedelta(days=2)  # third low day
    assert d_res == start + timedelta(days=5)
    text = raised.text
    assert "3 days in a row" in text and "20 %" in text
    # expected vs actual with the temperature, e.g. "COP 1.89, normal 2.70 at −3 °C"
    m = re.search(r"Wed 07 Jan: COP (\d\.\d\d), normal (\d\.\d\d) at −2\.5 °C \(−(\d+) %\)",
                  text)
    assert m, text
    assert float(m[1]) == pytest.approx(curve(-2.5) * 0.7, abs=0.01)
    assert float(m[2]) == pytest.approx(curve(-2.5), rel=0.03)
    assert 26 <= int(m[3]) <= 32
    assert "learned from 35 days" in text
    assert "back to normal" in resolved.text
    assert active_alerts(state) == []


def test_drop_below_threshold_or_interrupted_does_not_alert():
    days = history()
    start = days[-1].day + timedelta(days=1)
    factors = [0.85, 0.85, 0.85, 0.7, 0.7, 1.0, 0.7, 0.7, 1.0]  # 15 % or <3 days in a row
    days += [day(start + timedelta(days=i), 4.0, curve(4.0) * f)
             for i, f in enumerate(factors)]
    _, sent = daily_run(days)
    assert sent == []


def test_short_runtime_days_are_ignored():
    days = history()
    start = days[-1].day + timedelta(days=1)
    days += [day(start + timedelta(days=i), 12.0, 1.0, runtime_h=1) for i in range(4)]
    _, sent = daily_run(days)
    assert sent == []


def test_floor_until_history_exists():
    start = date(2026, 1, 1)
    days = [day(start + timedelta(days=i), 3.0, 2.1) for i in range(4)]
    cfg = Settings(alert_cop_floor=2.5, alert_repeat_h=48)
    _, sent = daily_run(days, cfg, first_check=1)
    assert events(sent) == [("cop_drop", "raised")]
    assert "ALERT_COP_FLOOR" in sent[0][1].text
    _, sent = daily_run(days, Settings(), first_check=1)
    assert sent == []  # no floor, no history: nothing to judge against


# --- short cycling ----------------------------------------------------------------------


def test_short_cycling_raises_and_clears_with_hysteresis():
    start = date(2026, 1, 1)
    # per 10 h of runtime: 4, 7.5, 6.5, 5.5 (band: above 80 % of 6), 4
    starts = [40, 75, 65, 55, 40]
    days = [day(start + timedelta(days=i), 3.0, 3.3, starts=s) for i, s in enumerate(starts)]
    _, sent = daily_run(days, first_check=1)  # the default limit: 6 starts per runtime hour
    assert events(sent) == [("short_cycle", "raised"), ("short_cycle", "repeat"),
                            ("short_cycle", "resolved")]
    assert sent[0][0] == start + timedelta(days=1)
    assert sent[2][0] == start + timedelta(days=4)
    assert "75 compressor starts in 10.0 h" in sent[0][1].text
    assert "7.5 starts per hour (limit 6)" in sent[0][1].text
    assert "runs of 8 min" in sent[0][1].text
    _, sent = daily_run(days, Settings(alert_short_cycle_starts_per_h=0), first_check=1)
    assert sent == []


def test_drop_that_began_before_the_tested_days_is_not_learned_as_normal():
    """The bot started late: five low days, of which only the last three are under test."""
    days = history()
    start = days[-1].day + timedelta(days=1)
    days += [day(start + timedelta(days=i), -3.0, curve(-3.0) * 0.7) for i in range(5)]
    _, sent = daily_run(days, first_check=len(days))
    assert events(sent) == [("cop_drop", "raised")]
    text = sent[0][1].text
    assert "learned from 35 days" in text  # the two earlier low days are left out
    m = re.search(r"Fri 09 Jan: COP 1\.89, normal (\d\.\d\d)", text)
    assert m and float(m[1]) == pytest.approx(curve(-3.0), rel=0.03), text
