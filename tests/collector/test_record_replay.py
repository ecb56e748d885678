"""One path: what `heatpump demo` and `heatpump collect` store is exactly what `heatpump
replay` stores from their recordings, point for point (the recording's identifiers are
redacted, so device tags are compared through their aliases)."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.collect_cmd import build_collector
from collector.recording import ANSWERS, HEADER, Recorder, read_recording
from collector.replay_cmd import replay
from collector.service import VirtualClock
from collector.wiring import build_sources
from heatpump.settings import Settings
from heatpump.store import open_store
from heatpump.store.base import Store
from heatpump.store.sqlite import SQLiteStore
from simhouse.demo_cmd import backfill
from tests.fakes.shelly import FakeShelly, load_device
from tests.paths import FIXTURES

NOW = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
MEASUREMENTS = ("meter", "electricity", "heatpump", "heat", "message", "health")


def settings(data: Path, **env: str) -> Settings:
    return Settings.from_mapping({"HEATPUMP_DATA_DIR": str(data),
                                  "HEATPUMP_TZ": "Europe/Berlin", **env})


def content(store: Store, aliases: dict[str, str] | None = None) -> dict[str, list[tuple]]:
    """Every stored point, comparable: (time, tags, fields), device tags renamed."""
    out: dict[str, list[tuple]] = {}
    for m in MEASUREMENTS:
        rows = []
        for p in store.points(m, *FAR):
            tags = dict(p.tags)
            if aliases and "device" in tags:
                tags["device"] = aliases.get(tags["device"], tags["device"])
            rows.append((p.time, tuple(sorted(tags.items())), tuple(sorted(p.fields.items()))))
        out[m] = sorted(rows)
    return out


def test_demo_and_the_replay_of_its_recording_store_the_same_points(tmp_path):
    s = settings(tmp_path / "data")
    rec = tmp_path / "recording"
    backfill(s, 0.25, 5, ["meter-outage@-3h/20m", "fault@-2h/30m"], now=NOW,
             out=io.StringIO(), record=rec)
    with open_store(s, demo=True) as store:
        demo = content(store, {"7571381681420106-0": "pump",
                               "shellypro3em-aabbccddee01": "meter"})
    replay(rec, s, tmp_path / "replayed")
    with SQLiteStore(tmp_path / "replayed" / "heatpump.sqlite3", s.tz) as store:
        again = content(store, {"gateway-1-0": "pump", "shellypro3em-000000000001": "meter"})
    assert {m: len(v) for m, v in again.items()} == {m: len(v) for m, v in demo.items()}
    assert demo["heat"] and demo["electricity"] and demo["message"]
    assert again == demo


def test_collect_with_a_real_meter_and_real_dumps_replays_identically(tmp_path):
    """`heatpump collect --record` over a Shelly on HTTP (the fake, answering real Pro 3EM
    payloads) and a sequence of real Viessmann dumps; then `heatpump replay`."""
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    body = json.loads((FIXTURES / "vicare" / "Vitocal250A.json").read_text())
    for i in range(4):  # the device's counters advance between the polls
        for f in body["data"]:
            if f["feature"] == "heating.heat.production.summary.heating":
                for prop in ("currentDay", "currentMonth", "currentYear"):
                    f["properties"][prop]["value"] = round(
                        f["properties"][prop]["value"] + 0.4 * i, 1)
        (dumps / f"poll-{i}.json").write_text(json.dumps(body))
    rec = tmp_path / "recording"
    with FakeShelly(load_device("gen2_pro3em_fw161.json")) as fake:
        s = settings(tmp_path / "data", SHELLY_URL=fake.url, VICARE_DUMP=str(dumps),
                     VICARE_POLL_SECONDS="60")
        clock = VirtualClock(NOW)
        recorder = Recorder(rec, clock.now, s)
        sources, state = build_sources(s, clock, recorder=recorder)
        store = SQLiteStore(tmp_path / "collected.sqlite3", s.tz)
        collector = build_collector(s, sources, store, clock=clock, threaded=False,
                                    state=state)
        meter_status = fake.status["emdata:0"]

        def until() -> bool:
            meter_status["total_act"] += 2.5  # 900 W in 10 s
            return clock.now() >= NOW + timedelta(minutes=3, seconds=30)

        collector.run(until=until)
        recorder.close()
    with SQLiteStore(tmp_path / "collected.sqlite3", s.tz) as store:
        collected = content(store, {"dumps": "pump"})  # VICARE_DUMP's device tag
    recording = read_recording(rec)
    assert recording.sources == {"meter", "vicare"}
    text = (rec / ANSWERS).read_text()
    assert "aabbccddeeff" not in text.lower()  # the meter's MAC is redacted
    replay(rec, settings(tmp_path / "data"), tmp_path / "replayed")
    # the tags differ only by the redacted identifiers (the dump's gateway, the meter's MAC)
    with SQLiteStore(tmp_path / "replayed" / "heatpump.sqlite3", s.tz) as store:
        again = content(store, {"gateway-1-0": "pump",
                                "shellypro3em-000000000001": "shellypro3em-aabbccddeeff"})
    assert collected["heat"] and collected["electricity"]
    assert again == collected


def test_a_recording_is_refused_clearly_when_damaged(tmp_path):
    from collector.recording import RecordingError

    rec = tmp_path / "rec"
    rec.mkdir()
    (rec / HEADER).write_text('{"format": "something else"}')
    try:
        read_recording(rec)
    except RecordingError as exc:
        assert "is not a heatpump-monitor recording" in str(exc)
    else:
        raise AssertionError("a foreign header was accepted")
    shutil.rmtree(rec)


def test_a_recording_of_per_component_requests_replays_identically(tmp_path):
    """Recordings made before a Gen2+ poll became one Shelly.GetStatus hold one answer per
    component (`/rpc/EM.GetStatus?id=0`, `/rpc/EMData.GetStatus?id=0`,
    `/rpc/Sys.GetStatus`); the replay composes them into the whole status, so such a
    recording stores exactly what the same answers recorded today store."""
    s = settings(tmp_path / "data")
    rec = tmp_path / "recording"
    backfill(s, 0.05, 3, [], now=NOW, out=io.StringIO(), record=rec)
    old = tmp_path / "old-recording"
    shutil.copytree(rec, old)
    lines, split, seen_shelly = [], 0, set()
    for line in (rec / ANSWERS).read_text().splitlines():
        e = json.loads(line)
        key = (e["source"], e["poll"])
        if e.get("path") == "/shelly":
            seen_shelly.add(key)
        if e.get("path") == "/rpc/Shelly.GetStatus" and key not in seen_shelly:
            for component, path in (("em:0", "/rpc/EM.GetStatus?id=0"),
                                    ("emdata:0", "/rpc/EMData.GetStatus?id=0"),
                                    ("sys", "/rpc/Sys.GetStatus")):
                lines.append(json.dumps(dict(e, path=path, body=e["body"][component])))
            split += 1
            continue
        lines.append(line)
    (old / ANSWERS).write_text("\n".join(lines) + "\n")
    assert split > 100  # the meter's polls after it was recognised
    replay(rec, s, tmp_path / "today")
    replay(old, s, tmp_path / "before")
    with (SQLiteStore(tmp_path / "today" / "heatpump.sqlite3", s.tz) as today,
          SQLiteStore(tmp_path / "before" / "heatpump.sqlite3", s.tz) as before):
        expected = content(today)
        assert expected["electricity"] and expected["meter"]
        assert content(before) == expected
