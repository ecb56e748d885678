"""The provisioned Grafana dashboard against a real influxd filled by a demo run: every query
of every panel runs through InfluxDB's HTTP /query the way Grafana sends it (the provisioned
data source: GET, the bucket as database, epoch ms; `$timeFilter`, `$__interval` and `${tz}`
substituted as Grafana does), the panel's transformations are applied as Grafana applies
them, and the figures equal the bot's (bot.store_reads, bot.analytics) on the same data.

Grafana itself does not run here (no Grafana binary on the test machine): the
transformations used (joinByField, calculateField binary, formatTime, groupBy, organize) are
re-done below; any other transformation fails the test so it cannot go unchecked.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import yaml

from bot import store_reads
from bot.analytics import performance
from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.store.base import Store
from heatpump.store.influx import InfluxStore
from tests.paths import ROOT

pytestmark = pytest.mark.influx

DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
DATASOURCE = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "influxdb.yml"
TZ_NAME = "Europe/Berlin"
TZ = ZoneInfo(TZ_NAME)
# four whole local days, 30 Jan - 2 Feb 2026: two months, a fault on the 31st, the meter out
# for two hours on 1 Feb
FIRST, LAST = date(2026, 1, 30), date(2026, 2, 2)
GAP = datetime(2026, 2, 1, 10, 0, tzinfo=UTC)  # the meter's 2-hour outage
INTERVAL = "5m"  # Grafana's $__interval for 4 days on a ~1200-pixel-wide panel


def local_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=TZ).astimezone(UTC)


@dataclass
class Demo:
    store: Store
    settings: Settings


@pytest.fixture(scope="module")
def demo(influxd, tmp_path_factory) -> Iterator[Demo]:
    """A demo run (the simulated devices through the real collector) into the influxd."""
    from collector.collect_cmd import build_collector
    from collector.drive import every, merged, run_polls
    from collector.service import VirtualClock
    from collector.wiring import build_sources
    from simhouse.demo_cmd import ANSWER_DELAY, BULK_FLUSH_EVERY, devices_of, simulated_house
    from simhouse.scenarios import build_setup

    data = tmp_path_factory.mktemp("grafana-demo")
    # the store the settings name, as the collector and the bot open it; Grafana's data
    # source reads the same INFLUX_URL and INFLUX_BUCKET (docker-compose.yml)
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data), "HEATPUMP_TZ": TZ_NAME,
                                      "INFLUX_URL": influxd.url,
                                      "INFLUX_BUCKET": "grafana_demo"})
    start, end = local_midnight(FIRST), local_midnight(LAST + timedelta(days=1))
    # a Plus 1PM keeps no energy records, so the outage stays a gap (a Pro 3EM's records
    # would fill it: collector/shelly/records.py) and the panels show what they do with one
    setup = build_setup(["fault@2026-01-31T08:00:00+00:00/3h",
                         f"meter-outage@{GAP.isoformat()}/2h"], end, "plus1pm")
    clock = VirtualClock(start)
    house = simulated_house(settings, start, setup, 1, clock.now, "plus1pm")
    sources, state = build_sources(settings, clock, data_dir=data, devices=devices_of(house))
    store = open_store(settings)
    assert isinstance(store, InfluxStore)
    collector = build_collector(settings, sources, store, clock=clock, threaded=False,
                                data_dir=data, flush_every=BULK_FLUSH_EVERY, state=state)
    meter, pump = sources
    run_polls(collector, merged(every(meter, start, end), every(pump, start, end, ANSWER_DELAY)),
              clock, lambda t: None)
    store.close()  # the collector's store is done; the bot reads with its own
    reader = open_store(settings)
    yield Demo(reader, settings)
    reader.close()


# --- what Grafana sends ---------------------------------------------------------------------


def datasource() -> dict[str, Any]:
    return yaml.safe_load(DATASOURCE.read_text())["datasources"][0]


def panels() -> list[dict[str, Any]]:
    out = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        out += json.loads(path.read_text())["panels"]
    return out


def panel(title: str) -> dict[str, Any]:
    return next(p for p in panels() if p["title"] == title)


def grafana_sql(query: str, start: datetime, end: datetime) -> str:
    """The query as Grafana's InfluxQL data source sends it: $timeFilter is the range in
    epoch ms (the end inclusive, one ms before the picker's end), the variables replaced."""
    time_filter = (f"time >= {int(start.timestamp() * 1000)}ms and "
                   f"time <= {int(end.timestamp() * 1000) - 1}ms")
    sql = query.replace("$timeFilter", time_filter).replace("$__interval", INTERVAL)
    sql = sql.replace("${tz}", TZ_NAME)
    assert "$" not in sql, f"a macro or variable this test does not know: {sql}"
    return sql


Frame = dict[str, Any]  # {"name": ..., "tags": {...}, "fields": {column: [values]}}


def run_query(demo: Demo, query: str, start: datetime, end: datetime) -> list[Frame]:
    ds = datasource()
    assert ds["type"] == "influxdb" and ds["jsonData"]["httpMode"] == "GET"
    # ${...}: the grafana container's environment, the same settings as the collector's
    env = {"INFLUX_URL": demo.settings.influx_url, "INFLUX_BUCKET": demo.settings.influx_bucket}
    url, db = (re.sub(r"\$\{(\w+)\}", lambda m: str(env[m[1]]), v)
               for v in (ds["url"], ds["jsonData"]["dbName"]))
    r = httpx.get(f"{url}/query", params={"db": db, "epoch": "ms",
                                          "q": grafana_sql(query, start, end)})
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert "error" not in result, f"{result['error']}: {query}"
    frames = []
    for s in result.get("series", []):
        cols = s["columns"]
        frames.append({"name": s["name"], "tags": s.get("tags", {}),
                       "fields": {c: [row[i] for row in s["values"]] for i, c in enumerate(cols)}})
    return frames


# --- what Grafana does with the answers ------------------------------------------------------


def join_by_time(frames: list[Frame]) -> dict[int, dict[str, Any]]:
    """joinByField on Time (outer): one row per time, the fields of every frame."""
    rows: dict[int, dict[str, Any]] = defaultdict(dict)
    for f in frames:
        times = f["fields"]["time"]
        for name, values in f["fields"].items():
            if name != "time":
                for t, v in zip(times, values, strict=True):
                    rows[t][name] = v
    return dict(sorted(rows.items()))


def apply(transformations: list[dict[str, Any]], frames: list[Frame]) -> list[dict[str, Any]]:
    """The panel's transformations, as Grafana applies them, over the query frames."""
    rows: list[dict[str, Any]] | None = None
    for tr in transformations:
        kind, opt = tr["id"], tr.get("options", {})
        if kind == "joinByField":
            assert opt == {"byField": "Time", "mode": "outer"}
            rows = [{"Time": t, **values} for t, values in join_by_time(frames).items()]
        elif kind == "calculateField":
            assert rows is not None and opt["mode"] == "binary"
            b = opt["binary"]
            assert b["operator"] == "/"
            for r in rows:
                left, right = r.get(b["left"]), r.get(b["right"])
                r[opt["alias"]] = (left / right if left is not None and right
                                   else None)
        elif kind == "formatTime":
            assert rows is not None and opt["timeField"] == "Time"
            assert opt["outputFormat"] == "YYYY-MM" and opt["useTimezone"]
            for r in rows:
                r["Time"] = datetime.fromtimestamp(r["Time"] / 1000, TZ).strftime("%Y-%m")
        elif kind == "groupBy":
            assert rows is not None
            keys = [k for k, v in opt["fields"].items() if v["operation"] == "groupby"]
            sums = [k for k, v in opt["fields"].items() if v["operation"] == "aggregate"]
            assert all(opt["fields"][k]["aggregations"] == ["sum"] for k in sums)
            groups: dict[tuple, dict[str, Any]] = {}
            for r in rows:
                g = groups.setdefault(tuple(r[k] for k in keys), {k: r[k] for k in keys})
                for k in sums:
                    if r.get(k) is not None:
                        g[f"{k} (sum)"] = g.get(f"{k} (sum)", 0.0) + r[k]
            rows = list(groups.values())
        elif kind == "organize":
            assert rows is not None
            for r in rows:
                for name in opt.get("excludeByName", {}):
                    r.pop(name, None)
        else:
            pytest.fail(f"transformation {kind} is not checked by this test")
    if rows is None:
        rows = [{"Time": t, **values} for t, values in join_by_time(frames).items()]
    return rows


def panel_rows(demo: Demo, p: dict[str, Any], start: datetime, end: datetime
               ) -> list[dict[str, Any]]:
    for t in p["targets"]:
        # Grafana names a time series "<measurement>.<column>" unless the alias says
        # "$col" (the column alone), the name the transformations and the test use
        assert t["resultFormat"] == "table" or t.get("alias") == "$col", t["refId"]
    frames = [f for t in p["targets"] for f in run_query(demo, t["query"], start, end)]
    return apply(p.get("transformations", []), frames)


def by_day(rows: list[dict[str, Any]]) -> dict[date, dict[str, Any]]:
    return {datetime.fromtimestamp(r["Time"] / 1000, TZ).date(): r for r in rows}


# --- the tests --------------------------------------------------------------------------------

SPAN = (local_midnight(FIRST), local_midnight(LAST + timedelta(days=1)))


def test_every_query_of_every_panel_is_valid_and_answers(demo):
    n = 0
    for p in panels():
        assert p["datasource"]["uid"] == datasource()["uid"], p["title"]
        for t in p["targets"]:
            assert t["rawQuery"] and t["datasource"]["uid"] == datasource()["uid"]
            frames = run_query(demo, t["query"], *SPAN)
            assert frames, f"{p['title']} {t['refId']}: no data from {t['query']}"
            n += 1
    assert n >= 12


def test_an_invalid_query_fails(demo):
    with pytest.raises(AssertionError, match="error parsing query"):
        run_query(demo, 'SELECT sum("energy_wh_sum" FROM "heat_1d" WHERE $timeFilter', *SPAN)


def test_daily_cop_and_coverage_equal_the_bots(demo):
    rows = by_day(panel_rows(demo, panel("COP per day, with coverage"), *SPAN))
    bot = {d.day: d for d in store_reads.day_stats(demo.store, FIRST, LAST, TZ)}
    assert sorted(rows) == sorted(bot) == [FIRST + timedelta(days=i) for i in range(4)]
    for day, d in bot.items():
        # the share of the day the meter measured: the bot's coverage (the heat side is
        # complete), the gap's hours left out on both
        assert rows[day]["meter_coverage_pct"] == pytest.approx(100 * d.coverage, abs=0.1)
        assert rows[day]["heat_coverage_pct"] >= 99  # the first poll's 5 minutes
        if d.coverage == 1.0:
            assert rows[day]["COP"] == pytest.approx(d.cop, rel=1e-9), day
    gap_day = GAP.astimezone(TZ).date()
    assert [day for day, d in bot.items() if d.coverage < 1] == [gap_day]
    assert bot[gap_day].coverage == pytest.approx(22 / 24)
    # that day the panel divides the whole day's heat by 22 hours of electricity (docs/
    # grafana.md): higher than the bot's, which leaves the gap's hours out on both sides
    assert rows[gap_day]["COP"] > bot[gap_day].cop * 1.02


def test_monthly_jaz_equals_the_bots(demo):
    rows = {r["Time"]: r for r in panel_rows(demo, panel("JAZ per month"), *SPAN)}
    assert sorted(rows) == ["2026-01", "2026-02"]
    feb = local_midnight(date(2026, 2, 1))
    jan = performance(store_reads.hour_pairs(demo.store, SPAN[0], feb, TZ), SPAN[0], feb)
    assert jan.coverage == 1.0
    assert rows["2026-01"]["JAZ"] == pytest.approx(jan.ratio, rel=1e-9)
    assert f"{rows['2026-01']['JAZ']:.2f}" == f"{jan.ratio:.2f}"
    assert rows["2026-01"]["meter_hours (sum)"] == pytest.approx(jan.hours_counted, abs=0.01)
    # February has the meter's gap: the hours say so (46 of 48), and the JAZ differs
    bot = performance(store_reads.hour_pairs(demo.store, feb, SPAN[1], TZ), feb, SPAN[1])
    assert rows["2026-02"]["meter_hours (sum)"] == pytest.approx(bot.hours_counted, abs=0.01)
    assert bot.hours_counted == 46
    assert rows["2026-02"]["heat_hours (sum)"] == pytest.approx(48, abs=0.01)
    assert rows["2026-02"]["JAZ"] != pytest.approx(bot.ratio, rel=1e-3)


def test_heat_and_electricity_per_day_equal_the_bots(demo):
    rows = by_day(panel_rows(demo, panel("Heat and electricity per day"), *SPAN))
    for d in store_reads.day_stats(demo.store, FIRST, LAST, TZ):
        if d.coverage < 1:  # the gap's day: the bot counts paired hours only
            continue
        assert rows[d.day]["heat_kwh"] * 1000 == pytest.approx(d.heat_wh, rel=1e-9)
        assert rows[d.day]["electricity_kwh"] * 1000 == pytest.approx(d.electricity_wh,
                                                                       rel=1e-9)


def test_starts_and_run_length_equal_the_bots(demo):
    rows = by_day(panel_rows(demo, panel("Compressor starts and run length per day"), *SPAN))
    days = store_reads.day_stats(demo.store, FIRST, LAST, TZ)
    assert any(d.starts for d in days) and any(not d.starts for d in days)
    for d in days:
        r = rows[d.day]
        assert r["starts"] == d.starts and r["running_h"] * 3600 == pytest.approx(d.running_s)
        if d.starts:
            assert r["mean_run_min"] == pytest.approx(d.running_s / d.starts / 60)
        else:  # no start that day: no mean run, not 0
            assert r.get("mean_run_min") is None


def test_events_are_the_stored_messages_and_health_changes(demo):
    p = panel("Events: faults, warnings and source health")
    messages, health = (run_query(demo, t["query"], *SPAN) for t in p["targets"])
    stored = demo.store.points("message", *SPAN)
    assert {f["tags"]["code"] for f in messages} == {"F.1100"}
    assert sum(len(f["fields"]["time"]) for f in messages) == len(stored) > 0
    assert sum(len(f["fields"]["time"]) for f in health) == len(
        demo.store.points("health", *SPAN)) > 0


def test_temperatures_are_the_stored_polls(demo):
    (frame,) = run_query(demo, panel("Temperatures")["targets"][0]["query"], *SPAN)
    outdoor = [v for v in frame["fields"]["outdoor"] if v is not None]
    bot = store_reads.daily_outdoor(demo.store, *SPAN, TZ)
    assert len(outdoor) == 4 * 24 * 12  # one poll per 5-minute bucket
    mean = sum(outdoor) / len(outdoor)
    assert mean == pytest.approx(sum(bot.values()) / len(bot), abs=0.05)


def test_the_dashboard_names_only_known_variables():
    for p in panels():
        for t in p["targets"]:
            names = set(re.findall(r"\$\{?(\w+)", t["query"]))
            assert names <= {"timeFilter", "__interval", "tz"}, names
