"""benchmarks/truth_meter.py (issue 13): every row is a valid scenario of the demo and its
table is the truth benchmark's format and in the docs (the benchmark itself is never run
here; its meter scenarios run through the real path in tests/simhouse/test_meter_scenarios.py)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime

import pytest

from simhouse.scenarios import build_setup
from tests.paths import ROOT

spec = importlib.util.spec_from_file_location("truth_meter",
                                              ROOT / "benchmarks" / "truth_meter.py")
assert spec is not None and spec.loader is not None
bench = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = bench  # its dataclasses look their module up
spec.loader.exec_module(bench)


@pytest.mark.parametrize("name", sorted(bench.ROWS))
def test_every_row_is_a_valid_scenario(name) -> None:
    row = bench.ROWS[name]
    build_setup(list(row.scenarios), datetime(2026, 1, 15, 12, tzinfo=UTC), row.meter)


def test_the_table_is_printed_under_its_header() -> None:
    cells = tuple(str(i) for i in range(len(bench.HEADER)))
    md = bench.table([cells], True).splitlines()
    assert md[0] == "| " + " | ".join(bench.HEADER) + " |"
    assert md[2] == "| " + " | ".join(cells) + " |"
    plain = bench.table([cells], False).splitlines()
    assert plain[0].split()[:2] == ["row", "days"] and len(plain) == 2


def test_the_docs_table_is_the_benchmarks() -> None:
    text = (ROOT / "docs" / "truth-bench.md").read_text()
    assert "python benchmarks/truth_meter.py" in text
    assert "| " + " | ".join(bench.HEADER) + " |" in text
    for name in bench.ROWS:
        assert f"| {name} |" in text, name
