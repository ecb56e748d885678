"""A damaged spool never stops the collector and never costs its good points (issue 15):
valid JSON of the wrong shape, a line torn by a crash, a folder where a segment should
be, a spool path that is a file. The bad part is set aside next to it with a warning."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector.sink import DurableSink
from collector.spool import Spool, point_to_json
from heatpump.store.base import Point
from heatpump.store.sqlite import SQLiteStore
from tests.collector.faults.meter import LiveMeter
from tests.collector.faults.process import CollectProcess

T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
UTC_ZONE = ZoneInfo("UTC")


def energy(i: int) -> Point:
    return Point("electricity", T0 + timedelta(minutes=i),
                 {"energy_wh": 12.5, "duration_s": 60.0},
                 {"device": "shellyplus1pm-aabbccddeeff", "source": "meter",
                  "circuit": "total"})


BAD_LINES = [
    json.dumps({"m": "electricity", "t": T0.isoformat(), "tags": "device=x",
                "f": {"energy_wh": 1.0}}),  # tags a string
    json.dumps({"m": "electricity", "f": {"energy_wh": 1.0}}),  # no time
    json.dumps({"m": "electricity", "t": "2026-01-12T06:00:00", "f": {"energy_wh": 1.0}}),
    json.dumps({"m": "electricity", "t": T0.isoformat(), "f": {"energy_wh": [1]}}),
    json.dumps(["not", "a", "point"]),
    '{"m":"electricity","t":"2026-01-',  # torn by a crash
]


def damaged_spool(folder) -> list[Point]:
    """Three segments: good and bad lines mixed, a folder named like a segment, good
    points after it. Returns the good points in order."""
    folder.mkdir(parents=True)
    good = [energy(i) for i in range(6)]
    lines = [point_to_json(good[0]), *BAD_LINES[:3], point_to_json(good[1]),
             *BAD_LINES[3:5], point_to_json(good[2]), BAD_LINES[5]]
    (folder / "000000000001.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "000000000002.jsonl").mkdir()
    (folder / "000000000002.jsonl" / "x").write_text("?")
    (folder / "000000000003.jsonl").write_text(
        "".join(point_to_json(p) + "\n" for p in good[3:]))
    return good


def test_the_bad_part_is_set_aside_and_the_good_points_are_replayed(tmp_path, caplog):
    good = damaged_spool(tmp_path / "spool")
    spool = Spool(tmp_path / "spool", 10**9)
    assert list(spool) == good
    aside = sorted(p.name for p in (tmp_path / "spool").glob("*.damaged-*"))
    assert len(aside) == 2 and aside[0].startswith("000000000001.jsonl.damaged-")
    assert aside[1].startswith("000000000002.jsonl.damaged-")
    kept = (tmp_path / "spool" / aside[0]).read_text().splitlines()
    assert kept == BAD_LINES  # nothing thrown away: the bad lines wait for a person
    assert "6 damaged lines" in caplog.text and "not a file" in caplog.text
    with SQLiteStore(tmp_path / "db.sqlite3", UTC_ZONE) as store:
        sink = DurableSink(store, spool, time.monotonic)
        assert sink.pump(force=True)
        assert store.points("electricity", *FAR) == good
    assert not list((tmp_path / "spool").glob("*.jsonl"))


def test_a_spool_path_that_is_a_file_is_set_aside(tmp_path, caplog):
    (tmp_path / "spool").write_text("not a folder")
    spool = Spool(tmp_path / "spool", 10**9)
    spool.append([energy(0)])
    assert list(spool) == [energy(0)]
    assert len(list(tmp_path.glob("spool.damaged-*"))) == 1
    assert "not a folder" in caplog.text


def test_heatpump_collect_starts_over_a_damaged_spool_and_replays_its_good_points(tmp_path):
    data = tmp_path / "data"
    good = damaged_spool(data / "spool")
    with LiveMeter() as meter:
        run = CollectProcess(tmp_path, {"HEATPUMP_DATA_DIR": str(data), "HEATPUMP_TZ": "UTC",
                                        "SHELLY_URL": meter.url, "SHELLY_POLL_SECONDS": "2"})
        try:
            run.wait_for(lambda: run.heartbeat().get("spool_bytes") == 0
                         and len(meter.served) >= 3, 60, "the spool replayed")
            run.stop()
        finally:
            run.kill()
    out = run.output()
    assert run.proc.returncode == 0 and "Traceback" not in out, out[-3000:]
    assert "damaged lines" in out
    with SQLiteStore(data / "heatpump.sqlite3", UTC_ZONE) as store:
        stored = store.points("electricity", T0, T0 + timedelta(hours=1))
    assert stored == good
