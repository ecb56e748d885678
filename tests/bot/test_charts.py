"""Charts from a real SQLite store: the data behind each view (partial periods, 0 against no
data, the bounded mean-run axis, the flow target without idle zeros), every view drawn in
English and German, localised axes, and `heatpump chat`'s chart files."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import charts
from bot.chat import chart_path
from bot.commands import Context, Reply, answer, chart_buttons, chart_of
from heatpump.i18n import using
from heatpump.settings import Settings
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.bot.test_replies import run_cli
from tests.fakes.telegram import png_size

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)  # 12:00 in Berlin
H = timedelta(hours=1)
FULL_STARTS, ZERO_STARTS, NO_DATA, PARTIAL, LONG_RUN, FULL_AGAIN, TODAY = range(14, 21)


def local(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=BERLIN).astimezone(UTC)


def outdoor_of(day: int) -> float:
    return float(day - 15)  # -1 °C on the 14th ... 5 °C on the 20th


def hour_points(day: int, hour: int, *, starts: int, running_s: float, elec_wh: float,
                heat_wh: float, target_c: float) -> list[Point]:
    """One local hour: the meter's electricity, the heat, and twelve 5-minute polls whose
    flow target alternates with the idle 0 some devices report."""
    t0 = local(day, hour)
    out = [Point("electricity", t0 + H - timedelta(seconds=1),
                 {"energy_wh": elec_wh, "duration_s": 3600.0, "running_s": running_s,
                  "starts": starts, "running_wh": elec_wh if running_s else 0.0},
                 {"device": "m", "source": "meter", "circuit": "total"}),
           Point("heat", t0 + H - timedelta(seconds=1),
                 {"energy_wh": heat_wh, "duration_s": 3600.0, "estimate": False},
                 {"device": "hp", "method": "counter", "circuit": "total"})]
    for k in range(12):
        out.append(Point("heatpump", t0 + timedelta(minutes=5 * k + 2),
                         {"outside_temp_c": outdoor_of(day),
                          "supply_temp_c": 35.0 - outdoor_of(day),
                          "heating_supply_target_temp_c": target_c if k % 2 == 0 else 0.0},
                         {"device": "hp"}))
    return out


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A week in Berlin: a full day with starts, a full day without any, a day without data,
    a day with 6 of 24 hours, a day of one start and 23 hours running, a full day whose
    flow target is always the idle 0, and today (to 12:00)."""
    tmp = tmp_path_factory.mktemp("charts")
    store = SQLiteStore(tmp / "charts.sqlite3", BERLIN)
    pts: list[Point] = []
    for day, hours in ((FULL_STARTS, 24), (PARTIAL, 6), (FULL_AGAIN, 24), (TODAY, 12)):
        target = 0.0 if day == FULL_AGAIN else 34.0
        for h in range(hours):
            pts += hour_points(day, h, starts=1, running_s=1800.0, elec_wh=1000.0,
                               heat_wh=3000.0, target_c=target)
    for h in range(24):
        pts += hour_points(ZERO_STARTS, h, starts=0, running_s=0.0, elec_wh=20.0,
                           heat_wh=0.0, target_c=34.0)
        if h < 23:  # one start, then the compressor runs for 23 hours
            pts += hour_points(LONG_RUN, h, starts=1 if h == 0 else 0, running_s=3600.0,
                               elec_wh=1500.0, heat_wh=4500.0, target_c=34.0)
        else:
            pts += hour_points(LONG_RUN, h, starts=0, running_s=0.0, elec_wh=20.0,
                               heat_wh=0.0, target_c=34.0)
    store.write(pts)
    store.flush()
    settings = Settings.from_mapping({"HEATPUMP_TZ": "Europe/Berlin",
                                      "HEATPUMP_DATA_DIR": str(tmp)})
    yield Context(store, settings, lambda: NOW)
    store.close()


def by_day(chart: charts.Chart, values: list[float]) -> dict[int, float]:
    return {t.day: v for t, v in zip(chart.times, values, strict=True)}


def test_zero_starts_is_a_value_and_no_data_is_a_gap(ctx):
    chart = chart_of(ctx, "starts", "7d")
    starts = by_day(chart, chart.line("starts").values)
    assert starts[FULL_STARTS] == 24 and starts[FULL_AGAIN] == 24
    assert starts[ZERO_STARTS] == 0.0  # drawn as a dash on the axis
    assert math.isnan(starts[NO_DATA])
    hatched = [lo.day for lo, _hi in chart.nodata]
    assert hatched == [NO_DATA]  # the day without data, and not the day without starts
    runs = by_day(chart, chart.line("run").values)
    assert math.isnan(runs[ZERO_STARTS])  # no start: no mean run (not 1e-9, not negative)
    assert runs[FULL_STARTS] == 30.0


def test_the_mean_run_axis_is_bounded_by_the_typical_runs(ctx):
    chart = chart_of(ctx, "starts", "7d")
    runs = by_day(chart, chart.line("run").values)
    assert runs[LONG_RUN] == 23 * 60  # one start, 23 hours running: true, and kept
    lo, hi = chart.right_ylim or (None, None)
    # median run 30 min: the axis ends near 3 x 30 min, the 1380 min run is drawn at its top
    assert lo == 0 and charts.RUN_AXIS_MIN_MIN <= hi <= 3 * 30 * 1.15 < runs[LONG_RUN]


def test_a_range_without_starts_has_a_sane_run_axis(ctx):
    end_of_day = local(ZERO_STARTS + 1) - timedelta(minutes=1)
    day_without = Context(ctx.store, ctx.settings, lambda: end_of_day)
    chart = chart_of(day_without, "starts", "24h")
    assert chart.line("starts").values == [0.0] * 24
    assert all(math.isnan(v) for v in chart.line("run").values)
    assert chart.right_ylim == (0.0, charts.RUN_AXIS_MIN_MIN)
    assert "ran without stopping" not in chart.note  # it did not run at all
    end_of_long_run = local(LONG_RUN + 1) - timedelta(minutes=1)
    hours = chart_of(Context(ctx.store, ctx.settings, lambda: end_of_long_run), "starts", "24h")
    assert hours.line("starts").values[1:23] == [0.0] * 22  # running, never starting again
    assert "the compressor ran without stopping" in hours.note
    assert png_size(charts.render(chart)) == (1000, 700)


def test_partial_days_are_flagged_with_their_coverage(ctx):
    for kind, key in (("cop", "cop"), ("energy", "heat"), ("heat", "heat"),
                      ("starts", "starts")):
        line = chart_of(ctx, kind, "7d").line(key)
        times = chart_of(ctx, kind, "7d").times
        cover = {t.day: c for t, c in zip(times, line.coverage or [], strict=True)}
        partial = {t.day: p for t, p in zip(times, line.partial, strict=True)}
        assert cover[PARTIAL] == pytest.approx(0.25), kind
        assert partial[PARTIAL] and partial[TODAY] and partial[NO_DATA], kind
        assert not partial[FULL_STARTS] and not partial[ZERO_STARTS], kind


def test_a_month_with_a_few_days_of_data_is_marked_partial(ctx):
    chart = chart_of(ctx, "cop", "12m")
    cop = chart.line("cop")
    months = {t.month: (v, c, p) for t, v, c, p in
              zip(chart.times, cop.values, cop.coverage or [], cop.partial, strict=True)}
    value, cover, partial = months[11]
    assert value == pytest.approx(3.0, abs=0.05)  # the figure is right, and said to be thin
    assert partial and 0.1 < cover < 0.2  # about 4.75 days of 30
    assert math.isnan(months[10][0]) and len(chart.nodata) == 11  # no data before November


def test_heat_output_per_day_and_per_hour(ctx):
    days = by_day(chart := chart_of(ctx, "heat", "7d"), chart.line("heat").values)
    assert days[FULL_STARTS] == pytest.approx(72.0)  # kWh of the day
    assert days[ZERO_STARTS] == 0.0 and math.isnan(days[NO_DATA])
    assert days[PARTIAL] == pytest.approx(18.0)  # what the 6 hours made, marked partial
    hourly = chart_of(ctx, "heat", "24h")
    assert {v for v in hourly.line("heat").values if not math.isnan(v)} == {3.0}  # kW
    assert hourly.unit == "kW"


def test_flow_target_leaves_the_idle_zeros_out(ctx):
    chart = chart_of(ctx, "flow", "7d")
    flow = chart.line("flow").values
    targets = [v for v in chart.line("target").values if not math.isnan(v)]
    assert targets and set(targets) == {34.0}  # a mean with the zeros would be 17
    on_idle_day = [v for t, v in zip(chart.times, chart.line("target").values, strict=True)
                   if t.day == FULL_AGAIN]
    assert on_idle_day and all(math.isnan(v) for v in on_idle_day)
    assert sum(not math.isnan(v) for v in flow) > len(targets)  # flow drawn on the idle day


def test_cop_against_outdoor_is_one_dot_per_day_with_data(ctx):
    chart = chart_of(ctx, "cop-outdoor", "7d")
    dots = chart.line("cop")
    by_x = dict(zip(dots.x or [], dots.values, strict=True))
    assert by_x[outdoor_of(FULL_STARTS)] == pytest.approx(3.0)
    assert by_x[outdoor_of(ZERO_STARTS)] == 0.0  # no heat that day: COP 0, a value
    assert outdoor_of(NO_DATA) not in by_x
    assert dots.color_values == [35.0 - x for x in dots.x or []]  # the day's mean flow
    assert [p for x, p in zip(dots.x or [], dots.partial, strict=True)
            if x == outdoor_of(PARTIAL)] == [True]
    assert len(dots.values) == 6  # the days with data
    year = chart_of(ctx, "cop-outdoor", "12m")
    assert year.line("cop").values == dots.values  # a dot per day over 12 months too


@pytest.mark.parametrize("kind", charts.KINDS)
def test_every_view_renders_in_english_and_german(ctx, kind):
    """Each view over each range in one of the languages (drawing costs ~0.2 s a chart),
    and over 7 days in both."""
    titles = {}
    for lang, ranges in (("en", ("24h", "7d")), ("de", ("7d", "30d", "12m"))):
        with using(lang):
            for rng in ranges:
                reply = answer(f"/chart {kind} {rng}", ctx)
                assert reply.photo is not None and png_size(reply.photo) == (1000, 700)
            titles[lang] = chart_of(ctx, kind, "7d").title
    assert titles["en"] != titles["de"]
    assert "last 7 days to 20/11/2026, 12:00" in titles["en"]
    assert "letzte 7 Tage bis 20.11.26, 12:00" in titles["de"]


def test_titles_say_what_is_averaged(ctx):
    assert chart_of(ctx, "cop", "7d").title.startswith("Daily COP (heat / electricity per day)")
    assert chart_of(ctx, "cop", "12m").title.startswith("Monthly COP (heat / electricity per")
    assert chart_of(ctx, "power", "24h").title.startswith("Electric power (5-min means)")
    with using("de"):
        assert chart_of(ctx, "cop", "7d").title.startswith(
            "COP pro Tag (Wärme / Strom des Tages)")
        assert chart_of(ctx, "temps", "7d").line("flow").label == "Vorlauf"


def test_axes_speak_the_locale():
    assert charts.date_label(datetime(2026, 1, 1), "12m") == "Jan\n2026"
    assert charts.date_label(datetime(2026, 11, 1), "12m") == "Nov"  # no stray year
    assert charts.date_label(datetime(2026, 11, 1), "12m", first=True) == "Nov\n2026"
    assert charts.date_label(datetime(2026, 11, 20, 15), "24h") == "15:00"
    assert charts.tick_number(2.5, [2.0, 2.5, 3.0]) == "2.5"
    assert charts.tick_number(60000, [0, 20000, 40000]) == "60,000"
    with using("de"):
        assert charts.date_label(datetime(2026, 1, 1), "12m") == "Jan\n2026"
        assert charts.date_label(datetime(2026, 3, 1), "12m") == "Mär"
        assert charts.date_label(datetime(2026, 11, 20), "7d") == "Fr.\n20. Nov."
        assert charts.tick_number(2.5, [2.0, 2.5, 3.0]) == "2,5"
        assert charts.tick_number(1000, [0, 500, 1000]) == "1.000"


def test_new_views_parse_and_old_arguments_still_work():
    assert charts.parse_chart_args(["cop-outdoor", "30d"]) == ("cop-outdoor", "30d")
    assert charts.parse_chart_args(["7d", "flow"]) == ("flow", "7d")
    assert charts.parse_chart_args(["heat"]) == ("heat", "24h")
    assert charts.parse_chart_args([]) == ("power", "24h")
    assert charts.parse_chart_args(["starts", "12m"]) == ("starts", "12m")
    with pytest.raises(charts.ChartError, match="'cop-inside' is not a chart kind"):
        charts.parse_chart_args(["cop-inside"])
    rows = chart_buttons("flow", "7d")
    assert [d for row in rows[1:] for _label, d in row] == [
        f"chart {k} 7d" for k in charts.KINDS]
    assert all(len(row) <= 4 for row in rows)  # wide enough to tap on a phone


def test_chart_files_have_whole_names_and_never_overwrite(tmp_path):
    reply = Reply("Daily COP (heat / electricity per day), last 30 days", photo=b"png",
                  buttons=chart_buttons("cop-outdoor", "30d"))
    at = datetime(2026, 11, 29, 23, 5, 7, tzinfo=UTC)
    first = chart_path(reply, tmp_path, at)
    assert first.name == "chart-cop-outdoor-30d-20261129-230507Z.png"
    first.write_bytes(b"x")
    second = chart_path(reply, tmp_path, at)  # the same second: another name
    assert second.name == "chart-cop-outdoor-30d-20261129-230507Z-2.png"
    assert chart_path(reply, tmp_path, at + timedelta(seconds=1)) != first


def test_chat_saves_charts_in_the_data_dir_not_where_it_runs(tmp_path):
    data, elsewhere = tmp_path / "data", tmp_path / "checkout"
    elsewhere.mkdir()
    for _ in range(2):
        r = run_cli(elsewhere, "chat", "/chart", "energy", "7d",
                    extra_env={"HEATPUMP_DATA_DIR": str(data)})
        assert r.returncode == 0, r.stderr
    saved = sorted((data / "charts").glob("chart-energy-7d-*Z*.png"))
    assert len(saved) == 2  # a second chart of the same view: both kept
    assert f"chart saved: {saved[0]}" in r.stdout or f"chart saved: {saved[1]}" in r.stdout
    assert list(elsewhere.glob("*.png")) == []
    assert png_size(Path(saved[0]).read_bytes()) == (1000, 700)
