"""The offline driver's spans (collector/drive.py, issue 16) store and keep exactly what
handling every poll on its own does: the same points, the same accounting state, the same
health, over simulated hours with outages, reboots, counter dips and spikes, a heat pump
fault and two meters; and the spans are really taken (`heatpump replay` is checked
byte for byte by tests/collector/test_record_replay.py). A long run's garbage collector
settings are restored after it."""

from __future__ import annotations

import gc
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import collector.drive as drive
from collector.drive import long_run_gc, spans
from collector.service import Collector
from heatpump.settings import Settings
from heatpump.store import open_store
from simhouse.demo_cmd import backfill

NOW = datetime(2026, 4, 20, 15, 0, tzinfo=UTC)  # in spring the compressor cycles
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
MEASUREMENTS = ("meter", "electricity", "heatpump", "heat", "message", "health", "event")
FAULTS = ["meter-outage@-6h/20m", "meter-outage@-4h/90s", "meter-reboot@-5h",
          "meter-dip@-3h", "meter-spike@-2h", "fault@-90m/30m", "heatpump-outage@-1h/20m"]


def demo(data: Path, scenarios: list[str], model: str, monkeypatch: pytest.MonkeyPatch
         ) -> dict[str, object]:
    """Seven simulated hours of the demo into `data`: every stored point, the accounting
    state file, the health book and the number of polls at the end."""
    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    stored: dict[str, object] = {}
    shutdown = Collector.shutdown

    def kept(self: Collector) -> None:
        book = sorted(self.health.states.items())
        stored["health_book"] = {f"{k}": st.as_json() for k, st in book}
        stored["polls"] = self.polls
        shutdown(self)

    monkeypatch.setattr(Collector, "shutdown", kept)
    backfill(settings, 7 / 24, 3, scenarios, now=NOW, out=io.StringIO(), meter_model=model)
    with open_store(settings, demo=True) as store:
        for m in MEASUREMENTS:
            stored[m] = sorted(repr((p.time, sorted(p.tags.items()), sorted(p.fields.items())))
                               for p in store.points(m, *FAR))
    stored["state"] = json.loads((data / "demo" / "accounting_state.json").read_text())
    return stored


@pytest.mark.parametrize(("scenarios", "model"), [
    (FAULTS, "pro3em"),
    (["meter-reboot@-5h", "meter-outage@-3h/40m", "meter-dip@-2h"], "plugs"),
    (["meter-dip@-4h", "counter-dip"], "3em"),
    (["no-heat-counters", "no-flow-sensor", "rated-output", "meter-outage@-2h/15m"],
     "plus1pm"),
    (["two-meters", "meter-outage@-3h/10m"], "pro3em"),
])
def test_spans_keep_what_polls_handled_one_by_one_keep(tmp_path, monkeypatch, scenarios,
                                                       model):
    taken: list[int] = []
    span = Collector.poll_span

    def counted(self, source, times, at):
        taken.append(len(times))
        return span(self, source, times, at)

    monkeypatch.setattr(Collector, "poll_span", counted)
    in_spans = demo(tmp_path / "spans", scenarios, model, monkeypatch)
    if "two-meters" not in scenarios:  # two meters polled at the same times alternate
        assert sum(taken) > 0.9 * 7 * 360

    monkeypatch.setattr(drive, "SPAN_POLLS", 1)
    taken.clear()
    one_by_one = demo(tmp_path / "polls", scenarios, model, monkeypatch)
    assert taken == []
    assert in_spans["health_book"] == one_by_one["health_book"]
    for key, value in one_by_one.items():
        assert in_spans[key] == value, key
    assert len(in_spans["meter"]) > 2000  # type: ignore[arg-type]


def test_spans_are_runs_of_one_source_in_order_and_at_most_so_long():
    a, b = object(), object()
    t = [NOW + timedelta(seconds=10 * i) for i in range(8)]
    polls = [(t[0], a), (t[1], a), (t[2], a), (t[3], b), (t[4], a), (t[5], a), (t[6], b),
             (t[7], b)]
    assert list(spans(polls, 2)) == [(a, t[0:2]), (a, t[2:3]), (b, t[3:4]), (a, t[4:6]),
                                     (b, t[6:8])]
    assert list(spans(polls, 100)) == [(a, t[0:3]), (b, t[3:4]), (a, t[4:6]), (b, t[6:8])]
    assert list(spans([], 5)) == []


def test_a_long_run_tunes_the_garbage_collector_and_restores_it():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), long_run_gc(5000):
        assert gc.get_threshold() == (5000, *before[1:])
        assert gc.get_freeze_count() > 0  # what existed before the run is frozen
        raise RuntimeError("a run that fails")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
