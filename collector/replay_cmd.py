"""Run what devices once answered through the collector again: `heatpump replay DIR`.

DIR is a recording (`heatpump collect --record DIR` or `heatpump demo --record DIR`; format
in docs/recording.md), or a folder of Viessmann dumps with times (each `*.json` an "all
features" answer; its time from a top-level `"time"` field or from the file name, e.g.
`2026-01-05T10-05-00Z.json`). The answers go through the same readers, mapping and
accounting as `heatpump collect`, at the recorded times, into a separate embedded store
(`<data dir>/replay/`, recreated on every run); then the summary: energy per side, heat
method, JAZ, hours covered and the warnings of the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from collector.collect_cmd import build_collector
from collector.drive import Poll, run_polls
from collector.progress import span_progress
from collector.recording import HEADER, Recording, RecordingError, Replayer, read_recording
from collector.service import Source, VirtualClock
from collector.summary import format_run_summary, run_summary
from collector.vicare.dumps import DumpAnswers
from collector.wiring import Devices, build_sources
from heatpump.i18n import _
from heatpump.settings import Settings

REPLAY_DIR = "replay"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folder", metavar="DIR",
                   help=_("a recording (collect --record DIR) or a folder of dumps with times"))
    p.add_argument("--into", metavar="DIR",
                   help=_("the folder of the separate store (default: <data dir>/replay)"))


def run(args: argparse.Namespace, settings: Settings) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        print("heatpump replay: " + _("{folder} is not a folder").format(folder=folder),
              file=sys.stderr)
        return 2
    into = Path(args.into) if args.into else settings.data_dir / REPLAY_DIR
    try:
        start, end, settings = replay(folder, settings, into)
    except (RecordingError, ValueError) as exc:
        print(f"heatpump replay: {exc}", file=sys.stderr)
        return 2
    from heatpump.store.sqlite import SQLiteStore

    with SQLiteStore(into / "heatpump.sqlite3", settings.tz) as store:
        print(_("Replayed {folder} into {into}:").format(folder=folder, into=into))
        print(format_run_summary(run_summary(store, start, end, settings.tz), settings.tz))
    return 0


def replay(folder: Path, settings: Settings, into: Path, out: TextIO | None = None
           ) -> tuple[datetime, datetime, Settings]:
    """Run the recording or dumps in `folder` into a new store in `into`; returns the span
    (whole hours) and the settings used (a recording's own accounting settings). Progress
    (collector/progress.py) goes to `out` (default: stderr)."""
    from heatpump.store.sqlite import SQLiteStore

    if (folder / HEADER).exists():
        recording = read_recording(folder)
        settings = _with_recorded_settings(settings, recording.settings)
        if not recording.polls:
            raise RecordingError(f"{folder} holds no polls")
        times = [p.time for p in recording.polls]
    else:
        dumps = _dumps_with_times(folder)
        times = [t for t, _ in dumps]
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    start = times[0].replace(minute=0, second=0, microsecond=0)
    end = times[-1].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    clock = VirtualClock(start)
    if (folder / HEADER).exists():
        replayer = Replayer(clock.set)
        devices = Devices(
            meter=replayer.answers("meter") if "meter" in recording.sources else None,
            vicare=replayer.answers("vicare") if "vicare" in recording.sources else None,
            meter_url=recording.meter_url or f"recording:{folder.name}")
        sources, state = _sources(settings, clock, into, devices)
        polls: Iterator[Poll] = _recorded_polls(recording, replayer, sources)
        before: Callable[[datetime, Source], None] | None = replayer.before_poll
    else:
        answers = DumpAnswers([p for _, p in dumps], folder.name)
        devices = Devices(vicare=answers.answer, vicare_begin_poll=answers.begin_poll,
                          vicare_name=folder.name)
        sources, state = _sources(settings, clock, into, devices)
        polls = ((t, sources[0]) for t, _ in dumps)
        before = None
    store = SQLiteStore(into / "heatpump.sqlite3", settings.tz)
    collector = build_collector(settings, sources, store, clock=clock, threaded=False,
                                data_dir=into, flush_every=2000, state=state)
    with span_progress(times[0], times[-1], out, verb=_("replaying")) as progress:
        run_polls(collector, polls, clock, progress.update, before)
        progress.update(times[-1])
    return start, end, settings


def _sources(settings: Settings, clock: VirtualClock, into: Path, devices: Devices
             ) -> tuple[list[Source], Any]:
    # only the stand-ins: a replay never reaches a real device
    offline = dataclasses.replace(settings, shelly_url=None, shelly_meters=(),
                                  vicare_username=None, vicare_dump=None)
    return build_sources(offline, clock, data_dir=into, devices=devices)


def _recorded_polls(recording: Recording, replayer: Replayer, sources: list[Source]
                    ) -> Iterator[Poll]:
    by_name = {s.name: s for s in sources}
    for poll in recording.polls:
        source = by_name.get(poll.source)
        if source is None:
            continue
        replayer.queue(poll)  # begun when polled (`before_poll`, run_polls' `before`)
        yield poll.time, source


def _with_recorded_settings(settings: Settings, recorded: dict[str, Any]) -> Settings:
    from collector.recording import ACCOUNTING_SETTINGS

    values = {attr: recorded[env] for env, attr in ACCOUNTING_SETTINGS.items()
              if env in recorded}
    return dataclasses.replace(settings, **values)


def _dumps_with_times(folder: Path) -> list[tuple[datetime, Path]]:
    """The folder's dumps in time order; ValueError when a dump has no time."""
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} cannot be read: {exc}") from None
        when = _time_of(path, body)
        if when is None:
            raise ValueError(f"{path} has no time: add a top-level \"time\" (ISO 8601 with "
                             "a zone) or name it like 2026-01-05T10-05-00Z.json")
        out.append((when, path))
    if not out:
        raise ValueError(f"{folder} holds neither a recording ({HEADER}) nor *.json dumps")
    out.sort(key=lambda e: e[0])
    return out


def _time_of(path: Path, body: Any) -> datetime | None:
    text = body.get("time") if isinstance(body, dict) else None
    candidates = [text] if isinstance(text, str) else []
    stem = path.stem
    if "T" in stem:
        day, _, clock = stem.partition("T")
        candidates.append(f"{day}T{clock.replace('-', ':')}")
    for c in candidates:
        try:
            when = datetime.fromisoformat(c.replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is not None:
            return when
    return None
