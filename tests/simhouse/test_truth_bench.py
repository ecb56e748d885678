"""benchmarks/truth_bench.py: its scenario table is valid, its targets catch what they must,
and one short row through the real path meets them (the benchmark itself is never timed)."""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import re
import sys

import pytest

from heatpump.estimates import ERROR_BANDS, band_text
from heatpump.schema import HEAT_METHODS
from heatpump.settings import Settings
from simhouse.scenarios import build_setup
from tests.paths import ROOT

spec = importlib.util.spec_from_file_location("truth_bench",
                                              ROOT / "benchmarks" / "truth_bench.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up
spec.loader.exec_module(bench)


@pytest.mark.parametrize("name", sorted(bench.ROWS))
def test_every_row_is_a_valid_scenario(name, tmp_path) -> None:
    row = bench.ROWS[name]
    build_setup(list(row.scenarios), row.end, row.meter)  # raises on a bad spec
    Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path), **row.settings})
    assert row.method in HEAT_METHODS and row.device_electricity in ("exact", "gap")


def test_the_matrix_covers_the_issue() -> None:
    rows = bench.ROWS
    for method in HEAT_METHODS:  # every heat method in every season
        for season in ("winter", "spring", "summer", "autumn"):
            assert any(r.method == method and r.end == bench.SEASONS[season]
                       for r in rows.values()), (method, season)
    kinds = {spec.split("@")[0].split(",")[0] for r in rows.values() for spec in r.scenarios}
    assert {"late-reset", "early-reset", "other-zone", "stale-arrays", "zero-counters",
            "meter-reboot", "meter-outage", "heatpump-outage"} <= kinds
    assert any(r.settings.get("HEATPUMP_TZ") == "UTC" for r in rows.values())
    assert {r.method for r in rows.values() if r.year} == set(HEAT_METHODS)
    # both boundaries in a cold and a mild month, with the rod stuck, and estimated
    boundary = [r for r in rows.values() if r.boundaries]
    for end in (bench.WINTER, bench.AUTUMN):
        assert any(r.end == end and not r.scenarios for r in boundary), end
        assert any(r.end == end and any(x.startswith("rod-stuck") for x in r.scenarios)
                   for r in boundary), end
    assert any("rod-runtime" in r.scenarios and r.settings.get("HEATPUMP_HEATING_ROD_KW")
               for r in boundary)


def result(**changes):
    base = bench.Result("x", 30, ("counter",), heat=1000.0, device_heat=1000.0,
                        true_heat=960.0, device_electricity_stored=300.0,
                        device_electricity=300.0, meter=320.0, true_electricity=320.0,
                        phantom_kwh=0.0, missing_kwh=0.0, health=(), wall_s=1.0,
                        rod=10.0, rod_counters=10.0, true_rod=10.0, h2_jaz=3.125,
                        h2_truth=3.125, h3_jaz=3.06, h3_truth=3.06, h3_true_cop=2.9,
                        rod_share=0.03)
    return dataclasses.replace(base, **changes)


def test_the_targets_catch_each_kind_of_miss() -> None:
    row = bench.Row(bench.WINTER, health=("counter_glitch",))
    assert bench.evaluate(row, result(health=("counter_glitch",))) == []
    assert "health reason counter_glitch not reported" in bench.evaluate(row, result())
    misses = " ".join(bench.evaluate(row, result(heat=1010.0, phantom_kwh=3.0,
                                                 device_electricity_stored=310.0,
                                                 meter=330.0, methods=("flow",))))
    for words in ("of the device's counters", "phantom kWh", "the device's electricity",
                  "meter electricity", "heat method flow, expected counter"):
        assert words in misses
    # off the truth by more than the device's counters are
    assert any("of the truth, the device's own counters +0.00%" in m for m in bench.evaluate(
        bench.Row(bench.WINTER), result(true_heat=1000.0, heat=1006.0)))
    runtime = bench.Row(bench.WINTER, method="runtime")
    hi = ERROR_BANDS["runtime"][1]
    inside = result(methods=("runtime",), heat=960.0 * (1 + hi - 0.01))
    outside = result(methods=("runtime",), heat=960.0 * (1 + hi + 0.01))
    assert bench.evaluate(runtime, inside) == []
    assert f"outside the stated {band_text('runtime')}" in bench.evaluate(runtime, outside)[0]
    gap = bench.Row(bench.WINTER, device_electricity="gap")
    assert bench.evaluate(gap, result(device_electricity_stored=100.0)) == []
    assert bench.evaluate(gap, result(device_electricity_stored=310.0))


def test_the_boundary_targets_catch_each_kind_of_miss() -> None:
    row = bench.Row(bench.WINTER)
    assert bench.evaluate(row, result()) == []
    misses = " ".join(bench.evaluate(row, result(rod=12.0, h2_jaz=3.2, h3_jaz=3.0)))
    for words in ("rod electricity 12.0 kWh, its counters 10.0 kWh",
                  "rod electricity 12.0 kWh, its truth 10.0 kWh",
                  "H2 JAZ +2.40% of the truth of its hours", "H3 JAZ -1.96% of the truth"):
        assert words in misses
    # within the counters' resolution is no miss; H3 above H2 is one; no H3 figure is one
    assert bench.evaluate(row, result(rod=10.3)) == []
    assert "H3 JAZ 3.14 above the H2 JAZ 3.12" in bench.evaluate(
        row, result(h3_jaz=3.14, h3_truth=3.14))
    assert "no H3 JAZ" in bench.evaluate(row, result(h3_jaz=None))
    # an estimated heat method: the JAZ is as good as its band, the rod still counts
    flow = bench.Row(bench.WINTER, method="flow")
    assert bench.evaluate(flow, result(methods=("flow",), heat=980.0, h2_jaz=3.3)) == []
    assert bench.boundary_cells(row, result())[-1] == "met"
    assert bench.boundary_cells(row, result(rod=12.0))[-1] == "MISSED"


def test_a_short_row_meets_its_targets_through_the_real_path(tmp_path) -> None:
    """Answers with every counter 0 for 10 minutes: no phantom energy, nothing lost beyond
    the counters' resolution, the glitch reported."""
    row = bench.Row(bench.WINTER, ("zero-counters@-12h/10m", "counter-dip@-6h/20m,kwh=3"),
                    health=("counter_glitch",))
    r = bench.run_row("short", row, 1.0, 1, tmp_path)
    # the row's log lines were silenced while it ran, not for the tests that follow
    assert logging.root.manager.disable == logging.NOTSET
    assert bench.evaluate(row, r) == []
    assert r.phantom_kwh == 0.0 and r.missing_kwh == 0.0
    assert r.heat == pytest.approx(r.device_heat, abs=0.4)


def test_a_short_boundary_row_meets_its_targets_through_the_real_path(tmp_path) -> None:
    """The rod stuck for the last 20 hours of a cold day: its electricity stored as its
    counters count it, /jaz's H2 and H3 figures the truth of their hours, H3 far lower."""
    row = bench.Row(bench.WINTER, ("rod-stuck@-20h",), boundaries=True)
    r = bench.run_row("short-rod", row, 1.0, 1, tmp_path)
    assert bench.evaluate(row, r) == []
    assert 20 * 3.0 <= r.true_rod < 20 * 3.0 + 3.0  # and Wednesday's hygiene run
    assert r.rod == pytest.approx(r.rod_counters, abs=0.4)
    assert r.h2_jaz is not None and r.h3_jaz is not None and r.h3_jaz < 0.6 * r.h2_jaz
    assert r.rod_share is not None and r.rod_share > 0.5


@pytest.mark.parametrize("doc", ["docs/vicare.md", "docs/truth-bench.md", "README.md"])
def test_the_docs_state_the_measured_bands(doc) -> None:
    text = (ROOT / doc).read_text()
    for method in ERROR_BANDS:
        assert re.search(rf"{re.escape(band_text(method))}", text), (doc, method)


def test_the_docs_table_is_the_benchmarks() -> None:
    text = (ROOT / "docs" / "truth-bench.md").read_text()
    assert "python benchmarks/truth_bench.py" in text
    assert "| " + " | ".join(bench.HEADER) + " |" in text
    for name in bench.ROWS:  # the table holds every row of the current matrix
        assert f"| {name} |" in text, name
