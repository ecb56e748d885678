"""Replies built without Telegram, on a real SQLite store; and `heatpump chat` end to end."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.analytics import performance
from bot.commands import Context, answer, chart_of, split_command
from bot.replies import device_lines
from heatpump.settings import Settings
from heatpump.store.base import Latest, Point
from heatpump.store.sqlite import SQLiteStore
from tests import synthetic
from tests.fakes.telegram import png_size

NOW = datetime(2026, 1, 15, 11, 2, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def settings(tmp: Path) -> Settings:
    return Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                  "HEATPUMP_DATA_DIR": str(tmp)})


def ask(store, s: Settings, text: str, now: datetime) -> str:
    """The reply to `text` at `now`, through the command table as Telegram and chat ask."""
    return answer(text, Context(store, s, lambda: now)).text


@pytest.fixture
def empty(tmp_path):
    s = settings(tmp_path)
    with SQLiteStore(tmp_path / "e.sqlite3", s.tz) as store:
        yield store, s


@pytest.fixture(scope="module")
def house(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("house")
    s = settings(tmp)
    store = SQLiteStore(tmp / "demo" / "heatpump.sqlite3", s.tz)
    synthetic.fill(store, NOW - timedelta(days=9), NOW - timedelta(minutes=2), gaps=[
        synthetic.Gap("heatpump", NOW - timedelta(hours=5), NOW - timedelta(hours=2),
                      "quota_exhausted")])
    store.write([Point("health", NOW - timedelta(minutes=30),
                       {"status": "down", "reason": "unreachable",
                        "detail": "no answer within 4 s", "failures": 3},
                       {"source": "meter", "device": synthetic.METER})])
    store.flush()
    yield store, s, tmp
    store.close()


def test_empty_store_answers_without_inventing(empty):
    store, s = empty
    status = ask(store, s, "/status", NOW)
    assert "⚡ power: no meter data" in status
    assert "heat pump: no data" in status
    assert "today: no energy data yet" in status
    assert "sources: no data yet" in status
    assert "API calls" not in status  # no Viessmann source configured: no quota to show
    with_vicare = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                         "VICARE_USERNAME": "me@example.com",
                                         "VICARE_PASSWORD": "pw-1234", "VICARE_CLIENT_ID": "x"})
    assert "Viessmann API calls: 0 today, 0 in the last 24 h" in ask(store, with_vicare,
                                                                     "/status", NOW)
    jaz = ask(store, s, "/jaz", NOW)
    assert jaz.splitlines() == ["JAZ last 12 months (16.01.2025 – today)",
                                "JAZ: no data in this period"]
    assert "no meter data" in ask(store, s, "/live", NOW)
    ctx = Context(store, s, lambda: NOW)
    chart = answer("/chart cop 30d", ctx)
    assert chart.photo is not None and png_size(chart.photo) == (1000, 700)
    assert chart.text.endswith("no data in this range")


def test_status_shows_outage_and_stale_meter(house):
    store, s, _ = house
    text = ask(store, s, "/status", NOW + timedelta(minutes=10))
    assert "— STALE" in text
    assert "meter shellypro3em-0001: DOWN since 15.01.2026 11:32 because unreachable: " \
           "no answer within 4 s" in text
    assert "heat pump 7571381681420106: up since 15.01.2026 10:02" in text
    # polls every 5 min at :02, :07...; local midnight is 23:00 UTC: 23:02..11:02 is 145
    # polls, less the 36 of the 3-hour outage; the last 24 h start at 12:00 UTC: 277 - 36
    assert "Viessmann API calls: 109 today, 241 in the last 24 h (budget 1400)" in text


def test_jaz_hand_check_against_the_generator(house):
    store, s, _ = house
    text = ask(store, s, "/jaz yesterday", NOW)
    lines = text.splitlines()
    assert lines[0] == "COP yesterday (14.01.2026)"
    # every hour of yesterday is covered by both sides in the synthetic house
    assert "covers 100% of the period (24 of 24 h" in lines[2]
    assert lines[3] == "heat measured by the heat pump's heat counter"
    today = ask(store, s, "/jaz today", NOW)
    # today so far: 23:00-11:00 UTC, 12 complete hours. The outage skipped the polls
    # 06:07-09:02 UTC: hours 06, 07, 08 lack heat; hour 09 keeps 11 of 12 polls (92% >= 90%)
    assert "covers 75% of the period (9 of 12 h with both meter and heat data)" in today


def test_device_spf_shown_when_reported_and_absent_otherwise():
    perf = performance([], NOW, NOW)
    assert device_lines(perf, {}) == []
    spf = {"device_spf_heating": Latest(NOW, 4.4, {}), "device_spf_dhw": Latest(NOW, 3.1, {}),
           "device_spf_total": Latest(NOW, "n/a", {}), "device_scop_total": Latest(NOW, 4.0, {})}
    assert device_lines(perf, spf) == [
        "the heat pump's own SPF (as it reports it): heating 4.40, hot water 3.10",
        "the heat pump's own SCOP (as it reports it): total 4.00"]


def test_split_command():
    assert split_command("/jaz@MyBot 12m") == ("jaz", ["12m"])
    assert split_command("/Status") == ("status", [])
    assert split_command("hello /jaz") == (None, [])
    assert split_command("") == (None, [])


def run_cli(tmp: Path, *args: str, stdin: str = "",
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEATPUMP_", "TELEGRAM_"))}
    env.update({"HEATPUMP_DATA_DIR": str(tmp), "HEATPUMP_TZ": "Europe/Berlin",
                "PYTHONPATH": str(ROOT), **(extra_env or {})})
    return subprocess.run([sys.executable, "-m", "heatpump.cli", "--env-file", "/nonexistent",
                           *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=tmp, timeout=120)


def test_chat_one_shot_and_chart_file(house):
    _, _, tmp = house
    r = run_cli(tmp, "chat", "--demo", "/jaz", "2026-01")  # the house is in January 2026
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("COP January 2026\nCOP ") and "covers" in r.stdout
    r = run_cli(tmp, "chat", "--demo", "--out", str(tmp / "charts"), "chart", "energy", "7d")
    assert r.returncode == 0, r.stderr
    path = Path(r.stdout.split("chart saved: ")[1].splitlines()[0])
    assert path.parent == tmp / "charts"
    assert png_size(path.read_bytes()) == (1000, 700)


def test_chat_interactive(house):
    _, _, tmp = house
    r = run_cli(tmp, "chat", "--demo",
                stdin="status\n/jaz nonsense\n/help\nhello how is my heat pump\n\n")
    assert r.returncode == 0, r.stderr
    assert "Heat pump status" in r.stdout
    assert "Sorry: 'nonsense' is not a period" in r.stdout
    # free text gets a one-line hint, as in Telegram; never "unknown command /hello"
    assert "I did not understand that: I answer commands" in r.stdout
    assert "/hello" not in r.stdout
    # the wrong period gets its usage line, not the whole help (only /help shows that)
    assert "Sorry: 'nonsense' is not a period" in r.stdout
    assert "Usage: /jaz [today|yesterday|7d|month|12m|2025|2025-11]" in r.stdout
    assert r.stdout.count("Commands:") == 1


def test_bot_without_token_says_how_to_fix(tmp_path):
    r = run_cli(tmp_path, "bot")
    assert r.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is empty" in r.stderr and "Traceback" not in r.stderr


def test_long_periods_paired_by_days_match_hour_by_hour(tmp_path):
    """The day-first pairing of long periods gives the hourly rule's answer on gappy data."""
    from bot import store_reads

    s = settings(tmp_path)
    with SQLiteStore(tmp_path / "long.sqlite3", s.tz) as store:
        synthetic.fill(store, NOW - timedelta(days=50), NOW, meter_step_s=300, gaps=[
            synthetic.Gap("meter", NOW - timedelta(days=20, hours=3),
                          NOW - timedelta(days=20)),
            synthetic.Gap("heatpump", NOW - timedelta(days=30, hours=7),
                          NOW - timedelta(days=29, hours=22))])
        start = NOW - timedelta(days=45, hours=5)
        end = NOW.replace(minute=0)
        mixed = store_reads.hour_pairs(store, start, end, s.tz)
        hourly = store_reads._pairs(store, start, end, s.tz, "hour")
        assert any(p.hours == 24 for p in mixed) and any(p.hours == 1 for p in mixed)
        a, b = performance(mixed, start, end), performance(hourly, start, end)
        assert a.hours_counted == b.hours_counted
        assert a.ratio == pytest.approx(b.ratio, rel=1e-9)
        assert a.heat_by_circuit == pytest.approx(b.heat_by_circuit)
        assert a.device_elec_wh == pytest.approx(b.device_elec_wh)
        # nothing double counted or lost: the mixed pairs tile the period without overlap
        spans = sorted((p.start, p.end) for p in mixed)
        assert all(x[1] <= y[0] for x, y in itertools.pairwise(spans))


def test_a_day_carrying_a_bridged_heat_interval_is_paired_hour_by_hour(tmp_path):
    """Periods over 35 days pair whole days first. A heat interval that bridged a Viessmann
    outage across midnight lands on the next day with its whole duration (its day covers
    more than 24 h): that day used to count whole (up to 1.5 x 24 h of heat), so the
    coverage shown was higher than the real one. Now a day counts whole only within 1 %,
    and the figure and coverage are those of the hour-by-hour pairing."""
    from bot import store_reads

    s = settings(tmp_path)
    gap = (NOW - timedelta(days=20, hours=14), NOW - timedelta(days=20, hours=5))  # 21-06 h
    with SQLiteStore(tmp_path / "long.sqlite3", s.tz) as store:
        synthetic.fill(store, NOW - timedelta(days=45), NOW, meter_step_s=300,
                       gaps=[synthetic.Gap("heatpump", *gap)])
        # the first poll after the outage delivers its heat, over its whole duration
        polls = store.points("heat", gap[1], gap[1] + timedelta(minutes=10),
                             {"circuit": "heating"})
        first = polls[0]
        bridged = (first.time - gap[0]).total_seconds()
        store.write([Point("heat", first.time, {"energy_wh": 3000.0 * bridged / 3600,
                                                 "duration_s": bridged, "estimate": False},
                           dict(first.tags))])
        store.flush()
        start, end = NOW - timedelta(days=40, hours=3), NOW.replace(minute=0)
        mixed = performance(store_reads.hour_pairs(store, start, end, s.tz), start, end)
        hourly = performance(store_reads._pairs(store, start, end, s.tz, "hour"), start, end)
    assert mixed.hours_counted == hourly.hours_counted < mixed.hours_elapsed - 9
    assert mixed.coverage == pytest.approx(hourly.coverage)
    assert mixed.ratio == pytest.approx(hourly.ratio, rel=1e-9)


def test_same_answers_on_both_backends(make_store, tmp_path):
    """/jaz and /status read only through the Store contract: SQLite and InfluxDB agree."""
    s = settings(tmp_path)
    store = make_store(s.tz)
    synthetic.fill(store, NOW - timedelta(days=2), NOW - timedelta(minutes=2), meter_step_s=300,
                   gaps=[synthetic.Gap("meter", NOW - timedelta(hours=30),
                                       NOW - timedelta(hours=28))])
    text = ask(store, s, "/jaz yesterday", NOW)
    lines = text.splitlines()
    assert lines[0] == "COP yesterday (14.01.2026)"
    # the meter outage 05:02-07:02 UTC leaves hours 05 and 06 out (07 keeps 11 of 12)
    assert lines[2] == "covers 92% of the period (22 of 24 h with both meter and heat data)"
    status = ask(store, s, "/status", NOW)
    assert "meter shellypro3em-0001: up since 14.01.2026 08:02" in status
    assert "today: electricity" in status


def test_refused_token_exits_with_a_clear_line(tmp_path):
    from tests.fakes.telegram import FakeBotApi

    api = FakeBotApi(token="1:right").start()
    wrong = "987654321:AAwrongTokenThatMustNotBeShown"
    try:
        env = {"TELEGRAM_BOT_TOKEN": wrong, "TELEGRAM_API_BASE_URL": api.url}
        r = run_cli(tmp_path, "bot", extra_env=env)
    finally:
        api.stop()
    assert r.returncode == 2, r.stderr
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in r.stderr
    assert wrong not in r.stderr and wrong not in r.stdout
    assert "AAwrongToken" not in r.stderr


def test_gaps_are_gaps_in_charts(house):
    import math

    store, s, _ = house
    ctx = Context(store, s, lambda: NOW)
    chart = chart_of(ctx, "temps", "24h")
    outdoor = next(ln for ln in chart.lines if ln.label == "outdoor")
    gap = [v for t, v in zip(chart.times, outdoor.values, strict=True)
           if datetime(2026, 1, 15, 7, 30) <= t < datetime(2026, 1, 15, 10, 0)]  # local
    assert gap and all(math.isnan(v) for v in gap)
    assert sum(not math.isnan(v) for v in outdoor.values) > 200
    energy = chart_of(ctx, "energy", "24h")
    heat = next(ln for ln in energy.lines if ln.label == "heat")
    assert math.isnan(heat.values[-4])  # 08:00-09:00 UTC: no heat poll at all
    assert 0 not in heat.values


def test_today_without_heat_data_says_so_instead_of_zero(empty):
    """A meter-only day (the heat pump's data missing since midnight) is a gap on the heat
    side: /status must not claim the heat pump delivered 0.0 kWh."""
    store, s = empty
    midnight = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # 15.01. 00:00 in Berlin
    synthetic.fill(store, NOW - timedelta(days=1), NOW - timedelta(minutes=2), meter_step_s=300,
                   gaps=[synthetic.Gap("heatpump", midnight - timedelta(hours=2), NOW)])
    line = next(x for x in ask(store, s, "/status", NOW).splitlines() if x.startswith("today:"))
    assert line.startswith("today: electricity ")
    assert "heat 0.0 kWh" not in line and "heat –" in line, line


def _meter_and_heat(store, start, hours, minute_fields, heat_wh=1500.0):
    """Per-minute meter electricity (fields from `minute_fields(minute)`) and 5-minute heat
    points (polled a second before each fifth minute ends), as the collector writes them."""
    points = []
    for i in range(hours * 60):
        t = start + timedelta(minutes=i)
        points.append(Point("electricity", t, minute_fields(t),
                            {"device": synthetic.METER, "source": "meter", "circuit": "total"}))
        if i % 5 == 4:
            points.append(Point("heat", t + timedelta(seconds=59),
                                {"energy_wh": heat_wh, "duration_s": 300.0, "estimate": False},
                                {"device": synthetic.PUMP, "method": "counter",
                                 "circuit": "total"}))
    store.write(points)
    store.flush()


def test_jaz_leaves_bridged_energy_out_and_says_how_much(empty):
    """A meter outage across hours: its energy is spread (bridged) and left out of the
    JAZ, which says so; the running COP leaves standby out."""
    store, s = empty
    day = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # local midnight
    gap = (day + timedelta(hours=2, minutes=30), day + timedelta(hours=4, minutes=30))

    def minute(t):
        bridged = gap[0] <= t < gap[1]
        return {"energy_wh": 100.0, "duration_s": 60.0, "running_s": 60.0,
                "running_wh": 0.0 if bridged else 95.0, "starts": 0,
                **({"bridged_wh": 100.0, "bridged_s": 60.0} if bridged else {})}

    _meter_and_heat(store, day, 8, minute)
    text = ask(store, s, "/jaz today", day + timedelta(hours=8, minutes=10))
    lines = text.splitlines()
    # the outage 01:30-03:30 UTC leaves hours 01, 02, 03 out on both sides
    assert lines[1] == "COP 3.00 = 90.0 kWh heat / 30.0 kWh electricity (meter)"
    assert lines[2] == "covers 62% of the period (5 of 8 h with both meter and heat data)"
    assert "left out: 12.0 kWh the meter counted across outages, whose hours are not known" \
        in lines
    assert "running COP 3.16 (heat over the electricity while the compressor ran, 5 h)" \
        in lines
    status = ask(store, s, "/status", day + timedelta(hours=8, minutes=10))
    assert "today: electricity 48.0 kWh, heat" in status  # bridged energy is real energy


def test_jaz_and_status_say_when_electricity_is_estimated(empty):
    store, s = empty
    day = datetime(2026, 1, 14, 23, 0, tzinfo=UTC)
    _meter_and_heat(store, day, 3, lambda t: {"energy_wh": 100.0, "duration_s": 60.0,
                                              "running_s": 60.0, "running_wh": 100.0,
                                              "starts": 0, "estimated_wh": 100.0})
    now = day + timedelta(hours=3, minutes=5)
    lines = ask(store, s, "/jaz today", now).splitlines()
    assert lines[1].startswith("COP 3.00 (ESTIMATED electricity) = ")
    assert ("electricity ESTIMATED from the meter's power for 100% of it (the meter reports "
            "no energy counter)") in lines
    assert "today: electricity 18.0 kWh (estimated), heat" in ask(store, s, "/status", now)


NBSP = "\u00a0"  # Babel's German percent: '30 %'


def test_status_and_jaz_in_german(house, empty):
    """The same replies in German: texts from the catalog, '3,16' and '1.178 kWh', the
    field's terms (Vorlauf, Rücklauf, Warmwasser, Stromzähler)."""
    from heatpump import i18n

    store, s, _tmp = house
    with i18n.using("de"):
        status = ask(store, s, "/status", NOW)
        jaz = ask(store, s, "/jaz 30d", NOW)
        live = ask(store, s, "/live", NOW)
        empty_status = ask(*empty, "/status", NOW)
        empty_jaz = ask(*empty, "/jaz", NOW)
    assert status.splitlines() == [
        "Status der Wärmepumpe · 15.01.2026 12:02",
        "⚡ Leistung 1497 W, vor 0 s",
        f"Wärmepumpe: Verdichter LÄUFT, Modulation 63{NBSP}% (Heizung) — abgefragt vor 0 s",
        "🌡 außen 0,7 °C · Vorlauf 36,6 °C · Rücklauf 31,6 °C · Warmwasser 46,5 °C",
        "✅ keine aktiven Störungen",
        "heute: Strom 24,6 kWh, Wärme 56,0 kWh; COP 2,95 über 9 von 12 vollen Stunden",
        "Quellen:",
        "  Stromzähler shellypro3em-0001: letzte Daten 15.01.2026 12:02 (vor 0 s)",
        "  Wärmepumpe 7571381681420106: letzte Daten 15.01.2026 12:02 (vor 0 s)",
        # the collector's English detail is left out where the reason has a German text
        "  Stromzähler shellypro3em-0001: AUSGEFALLEN seit 15.01.2026 11:32, Grund: im "
        "Netzwerk nicht erreichbar",
        "  Wärmepumpe 7571381681420106: läuft seit 15.01.2026 10:02",
        "Viessmann-API-Aufrufe: 109 heute, 241 in den letzten 24 h (Budget 1400)"]
    assert jaz.splitlines() == [
        "COP letzte 30 Tage (seit 17.12.2025)",
        "COP 3,16 = 1.178 kWh Wärme / 373 kWh Strom (Stromzähler)",
        f"deckt 30{NBSP}% des Zeitraums ab (213 von 708 h mit Zähler- und Wärmedaten)",
        "Wärme gemessen vom Wärmemengenzähler der Wärmepumpe",
        "Bilanzgrenze H2 (SEPEMO: die Wärmepumpe mit Ventilator/Quellenpumpe): der Strom, "
        "den der Stromzähler zählt",
        f"Wärme aufgeteilt: Heizung 1.151 kWh (98{NBSP}%), COP 3,36 nach dem Strom des "
        f"Geräts; Warmwasser 27,0 kWh (2{NBSP}%), COP 2,40 nach dem Strom des Geräts",
        "(die COP je Nutzung teilen durch den eigenen Stromwert der Wärmepumpe für diese "
        "Nutzung, ohne Standby und Pumpen, die der Stromzähler mitzählt; gemittelt ergeben sie "
        "daher nicht den gemessenen Wert oben)",
        "COP im Betrieb 3,16 (Wärme durch den Strom, während der Verdichter lief, 213 h)",
        "Verdichter: 0,1 Starts pro Tag, mittlere Laufzeit 215,9 h",
        "die eigene Stromangabe der Wärmepumpe: 354 kWh (Stromzähler 373 kWh über dieselben "
        f"Stunden, Gerät -5{NBSP}%)"]
    assert live.splitlines() == [
        "Live-Ansicht (aktualisiert alle 15 s für 10 min)",
        "⚡ Leistung 1497 W um 12:02:00",
        f"Verdichter LÄUFT 63{NBSP}% · Vorlauf 36,6 °C · außen 0,7 °C (abgefragt 12:02)"]
    assert empty_status.splitlines() == [
        "Status der Wärmepumpe · 15.01.2026 12:02", "⚡ Leistung: keine Zählerdaten",
        "Wärmepumpe: keine Daten", "heute: noch keine Energiedaten", "Quellen: noch keine Daten"]
    assert empty_jaz.splitlines() == ["JAZ letzte 12 Monate (16.01.2025 – heute)",
                                      "JAZ: keine Daten in diesem Zeitraum"]
    # and back in English outside the block
    assert ask(store, s, "/jaz 30d", NOW).startswith("COP last 30 days (since 17.12.2025)")


def test_a_device_message_in_german(empty):
    """The device's own message text stays as the device sent it; its kind and the frame
    are German."""
    from heatpump import i18n

    store, s = empty
    synthetic.fill(store, NOW - timedelta(hours=1), NOW - timedelta(minutes=2))
    last_poll = max(v.time for v in store.latest("heatpump").values())
    synthetic.message(store, last_poll)
    english = [ln for ln in ask(store, s, "/status", NOW).splitlines() if "F.454" in ln]
    with i18n.using("de"):
        german = [ln for ln in ask(store, s, "/status", NOW).splitlines() if "F.454" in ln]
    assert english == ["❗ error F.454 [criticalError]: Refrigerant circuit: high pressure "
                       "(since 15.01.2026 11:42)"]
    assert german == ["❗ Fehler F.454 [criticalError]: Refrigerant circuit: high pressure "
                      "(seit 15.01.2026 11:42)"]
