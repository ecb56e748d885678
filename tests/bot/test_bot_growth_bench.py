"""benchmarks/bot_growth_bench.py cannot rot: its store builder (benchmarks/growth_stores.py)
fills, keeps and rebuilds a tiny store of each backend, and every operation it times runs
through the bot's real path on them (the benchmark itself is never timed here)."""

from __future__ import annotations

import importlib.util
import os
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from heatpump.schema import HEALTH_SOURCE
from heatpump.store.base import Store
from tests import synthetic
from tests.paths import ROOT

spec = importlib.util.spec_from_file_location("bot_growth_bench",
                                              ROOT / "benchmarks" / "bot_growth_bench.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up
spec.loader.exec_module(bench)
growth_stores = bench.growth_stores

END = growth_stores.data_end()
# outages 1 and 2 days back, so a 3-day store holds one of each
SOON = ((timedelta(days=1), timedelta(hours=4), "meter", "unreachable"),
        (timedelta(days=2), timedelta(hours=6), "heatpump", "quota_exhausted"))


class CountingFill:
    """The benchmark's fill, counting how often it ran."""

    def __init__(self) -> None:
        self.fill = bench.synthetic_fill(300)
        self.days: list[int] = []

    def __call__(self, store: Store, days: int, start) -> str:
        self.days.append(days)
        return self.fill(store, days, start)


def test_outages_repeat_back_from_the_end() -> None:
    year = bench.outages(END - timedelta(days=365), END)
    meter = [g for g in year if g.source == "meter"]
    pump = [g for g in year if g.source == "heatpump"]
    assert [(END - g.start).days for g in meter] == [310, 220, 130, 40]
    assert [(END - g.start).days for g in pump] == [280, 190, 100]
    assert all(g.reason == "quota_exhausted" and g.end - g.start == timedelta(days=1)
               for g in pump)
    three = bench.outages(END - timedelta(days=3 * 365), END)
    assert set(year) < set(three) and len(three) == 24


def test_the_sqlite_builder_fills_keeps_and_rebuilds(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench, "OUTAGES", SOON)
    fill = CountingFill()
    store = growth_stores.sqlite_store(tmp_path, "t", 3, END, fill)
    power = store.latest("meter", ["power_w"])["power_w"]
    assert END - timedelta(minutes=5) <= power.time <= END
    assert store.points("meter", END - timedelta(days=3, minutes=1), END, limit=1)[0].time \
        <= END - timedelta(days=3) + timedelta(minutes=5)
    health = store.points("health", END - timedelta(days=3), END,
                          {"source": HEALTH_SOURCE["heatpump"]})
    down = [p for p in health if p.fields["status"] == "down"]
    assert len(down) == 1 and down[0].fields["reason"] == "quota_exhausted"
    assert down[0].fields["until"] == (down[0].time + timedelta(hours=6)).isoformat()
    store.close()
    assert fill.days == [3]
    growth_stores.sqlite_store(tmp_path, "t", 3, END, fill).close()  # kept: reused
    assert fill.days == [3]
    rebuilt = growth_stores.sqlite_store(tmp_path, "t", 2, END, fill)  # other days: built
    assert fill.days == [3, 2]
    first = rebuilt.points("meter", END - timedelta(days=3), END, limit=1)[0]
    assert first.time > END - timedelta(days=2)
    rebuilt.close()


def check_timings(timings: list) -> None:
    assert [t.label for t in timings][:4] == [*bench.COMMANDS, "alert check, first of the hour"]
    assert len(timings) == 6
    assert all(t.small_s > 0 and t.big_s > 0 for t in timings)


def test_every_operation_runs_on_sqlite(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench, "OUTAGES", SOON)
    timings = bench.run_sqlite(tmp_path, [2, 3], bench.synthetic_fill(300), END, rounds=1)
    check_timings(timings)
    out = capsys.readouterr().out
    assert "2 days vs 3 days" in out and "/chart 12m" in out and "ratio" in out


@pytest.mark.influx
def test_every_operation_runs_on_influxdb(influxd, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bench, "OUTAGES", SOON)
    name = f"growth_{os.getpid()}"
    fill = CountingFill()
    stores = [growth_stores.influx_store(influxd, tmp_path, name, d, END, fill)
              for d in (2, 3)]
    try:
        assert fill.days == [2, 3]
        assert "until" in stores[1].latest("health", ["until"],
                                           {"source": HEALTH_SOURCE["heatpump"],
                                            "device": synthetic.PUMP})
        check_timings(bench.compare(stores[0], stores[1], tmp_path, END, rounds=1))
    finally:
        for s in stores:
            s.close()
    again = growth_stores.influx_store(influxd, tmp_path, name, 3, END, fill)
    again.close()
    assert fill.days == [2, 3]  # kept: reused


def test_an_answer_that_fails_is_no_timing(tmp_path: Path) -> None:
    """A run raises when the bot answers with an error instead of doing the work (here: an
    InfluxDB that is not there)."""
    from heatpump.store.influx import InfluxStore
    from tests.influxd import free_port

    store = InfluxStore(f"http://127.0.0.1:{free_port()}", "gone", growth_stores.TZ,
                        timeout_s=2.0)
    try:
        ops = dict(bench.operations(store, tmp_path / "state", END))
        for text in bench.COMMANDS:
            with pytest.raises(RuntimeError, match="cannot be read"):
                ops[text]()
    finally:
        store.close()


def test_store_growth_bench_builds_on_the_same_builder(tmp_path: Path, capsys) -> None:
    """benchmarks/store_growth_bench.py shares growth_stores: its stores build and its reads
    run once on tiny stores."""
    growth_spec = importlib.util.spec_from_file_location(
        "store_growth_bench", ROOT / "benchmarks" / "store_growth_bench.py")
    assert growth_spec is not None and growth_spec.loader is not None
    growth = importlib.util.module_from_spec(growth_spec)
    growth_spec.loader.exec_module(growth)
    growth.run_sqlite(tmp_path, [1, 2], rounds=1)
    out = capsys.readouterr().out
    assert "1 days vs 2 days" in out and out.count("ratio") >= 9
    assert (tmp_path / f"growth_2_to_{growth.END:%Y%m%d}.sqlite.days").read_text() == "2\n"
