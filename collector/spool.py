"""Local spool: points the store could not take wait here, on disk, until it is back.

Why a spool and not a bigger memory buffer: an InfluxDB that is down for a weekend, or a
full disk on the database host, must not lose a weekend of data, and neither must a crash
of the collector meanwhile. Points are appended as JSON lines to segment files in
`<data dir>/spool/`, fsync'd once per poll batch, and replayed oldest first. Replaying is
idempotent because the store overwrites a point with the same measurement, tags and time.

Size cap: when the spool outgrows `max_bytes`, the oldest segments are rewritten without
their raw meter samples first (10-second power readings, the bulk of the volume), then
without the other raw or informational points; energy intervals (`electricity`, `heat`)
are never dropped, because the counters they come from cannot be read again later.

Damage: at start every segment left by an earlier process is checked line by line. A line
that is not a point of the shape written here (torn by a crash, valid JSON of another
shape, tags that are not text, a time without its zone, a field that is no number, flag or
text) is set aside in `<segment>.damaged-<UTC time>` next to it, with a warning, and the
segment keeps its good points, which are replayed. An entry that is no file (a directory
named like a segment), or a file that cannot be read, is renamed the same way; a spool
path that is a file is renamed and the folder made. Nothing in the spool ever stops the
collector from starting.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from heatpump.fsutil import write_atomic
from heatpump.store.base import Point
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

SEGMENT_BYTES = 1 << 20  # start a new file after ~1 MB so dropping and replay work in pieces
WARN_FRACTIONS = (0.5, 0.8)
# Dropped first to last when the spool is full; what is not listed (the energy
# measurements electricity and heat) is never dropped.
DROP_ORDER: tuple[frozenset[str], ...] = (
    frozenset({"meter"}),
    frozenset({"api_call", "health"}),
    frozenset({"heatpump", "message"}),
)


def point_to_json(p: Point) -> str:
    return json.dumps({"m": p.measurement, "t": p.time.isoformat(), "tags": dict(p.tags),
                       "f": dict(p.fields)}, separators=(",", ":"), allow_nan=False)


def point_from_json(line: str) -> Point:
    """The point of one spool line; ValueError saying what is wrong with any other line."""
    d = json.loads(line)
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    m, t, f, tags = d.get("m"), d.get("t"), d.get("f"), d.get("tags") or {}
    if not isinstance(m, str) or not m:
        raise ValueError("no measurement")
    if not isinstance(t, str):
        raise ValueError("no time")
    when = datetime.fromisoformat(t)
    if when.tzinfo is None:
        raise ValueError("a time without its zone")
    if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ValueError("tags that are not text")
    if not isinstance(f, dict) or not f or not all(
            isinstance(k, str) and _field_value(v) for k, v in f.items()):
        raise ValueError("no fields, or a field that is no number, flag or text")
    return Point(m, when, f, tags)


def _field_value(v: object) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    return isinstance(v, (bool, int, str))


def _stamp() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class SpoolStatus:
    size_bytes: int
    max_bytes: int
    segments: int

    @property
    def fraction(self) -> float:
        return self.size_bytes / self.max_bytes if self.max_bytes else 0.0


class Spool:
    """Append-only segment files; never appends to a file written by an earlier process."""

    def __init__(self, directory: Path, max_bytes: int):
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self._warned = 0.0  # highest warning fraction announced
        self._current: Path | None = None
        self._unusable: set[Path] = set()  # damaged entries that could not be renamed
        self._sizes: dict[Path, int] = {}
        if self.dir.exists() and not self.dir.is_dir():
            self._set_aside(self.dir, "not a folder")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only or full disk: appends fail (and are held)
            log.error("cannot make the spool folder %s (%s); points the store does not "
                      "take wait in memory", self.dir, exc)
        for seg in self._segments():
            self._check(seg)
        self._dropped: dict[str, int] = {}

    # --- damage -----------------------------------------------------------------------

    def _check(self, seg: Path) -> None:
        """Keep a segment of an earlier process with its good points only (module doc)."""
        if not seg.is_file():
            self._set_aside(seg, "not a file")
            return
        good: list[str] = []
        bad: list[str] = []
        why = ""
        try:
            for line in _lines(seg, strict=True):
                try:
                    point_from_json(line)
                    good.append(line)
                except (ValueError, TypeError) as exc:  # json's errors are ValueErrors
                    bad.append(line)
                    why = why or str(exc)[:80]
        except OSError as exc:
            self._set_aside(seg, f"unreadable ({exc.strerror or exc})")
            return
        if bad:
            aside = seg.with_name(f"{seg.name}.damaged-{_stamp()}")
            try:
                with open(aside, "a", encoding="utf-8") as f:
                    f.write("".join(line + "\n" for line in bad))
                write_atomic(seg, "".join(line + "\n" for line in good))
            except OSError as exc:
                log.error("spool %s has %d damaged lines (%s) that cannot be set aside (%s); "
                          "they are skipped when replayed", seg, len(bad), why, exc)
            else:
                log.warning("spool %s: %d damaged lines (e.g. %s) set aside in %s; its %d "
                            "good points are kept and replayed", seg.name, len(bad), why,
                            aside.name, len(good))
        try:
            self._sizes[seg] = seg.stat().st_size
        except OSError:
            self._unusable.add(seg)

    def _set_aside(self, path: Path, why: str) -> None:
        aside = path.with_name(f"{path.name}.damaged-{_stamp()}")
        try:
            os.replace(path, aside)
        except OSError as exc:
            self._unusable.add(path)
            self._sizes.pop(path, None)
            log.error("spool %s is %s and cannot be set aside (%s); it is left alone",
                      path, why, exc)
            return
        self._sizes.pop(path, None)
        if path == self._current:
            self._current = None
        log.warning("spool %s is %s; set aside as %s", path, why, aside.name)

    # --- state ------------------------------------------------------------------------

    def _names(self) -> list[Path]:
        """Every entry named like a segment (numbered .jsonl), damaged or not."""
        return sorted(p for p in self.dir.glob("*.jsonl") if p.stem.isdigit())

    def _segments(self) -> list[Path]:
        return [p for p in self._names() if p not in self._unusable]

    def __bool__(self) -> bool:
        return any(self._sizes.values())

    @property
    def size_bytes(self) -> int:
        return sum(self._sizes.values())

    def status(self) -> SpoolStatus:
        return SpoolStatus(self.size_bytes, self.max_bytes, len(self._sizes))

    @property
    def dropped(self) -> dict[str, int]:
        """Points dropped per measurement because of the size cap (this process)."""
        return dict(self._dropped)

    # --- writing ----------------------------------------------------------------------

    def _new_segment(self) -> Path:
        existing = self._names()
        last = int(existing[-1].stem) if existing else 0
        path = self.dir / f"{last + 1:012d}.jsonl"
        path.touch()
        self._sizes[path] = 0
        return path

    def append(self, points: Iterable[Point]) -> int:
        """Append one batch and fsync it; returns the number of points written."""
        lines = [point_to_json(p) for p in points]
        if not lines:
            return 0
        if self._current is None or self._sizes.get(self._current, 0) >= SEGMENT_BYTES:
            self._current = self._new_segment()
        data = ("\n".join(lines) + "\n").encode()
        fd = os.open(self._current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._sizes[self._current] = self._sizes.get(self._current, 0) + len(data)
        try:
            self._enforce_cap()
        except OSError as exc:  # the batch is on disk; only the clean-up failed
            log.error("spool over its cap and cannot be trimmed (%s); the next append "
                      "tries again", exc)
        self._warn()
        return len(lines)

    def _warn(self) -> None:
        fraction = self.status().fraction
        for level in WARN_FRACTIONS:
            if fraction >= level > self._warned:
                self._warned = level
                log.warning("spool %.0f%% full (%.1f of %.0f MB) in %s: the store has not "
                            "taken data for a while; at 100%% the oldest raw meter samples "
                            "are dropped", fraction * 100, self.size_bytes / 1e6,
                            self.max_bytes / 1e6, self.dir)
        if fraction < WARN_FRACTIONS[0] / 2:
            self._warned = 0.0

    def _enforce_cap(self) -> None:
        for measurements in DROP_ORDER:
            if self.size_bytes <= self.max_bytes:
                return
            for seg in self._segments():
                if self.size_bytes <= self.max_bytes:
                    return
                self._rewrite_without(seg, measurements)
        if self.size_bytes > self.max_bytes:
            log.error("spool over its cap (%.1f MB) with energy intervals only; they are "
                      "kept. Bring the store back or raise HEATPUMP_SPOOL_MAX_MB",
                      self.size_bytes / 1e6)

    def _rewrite_without(self, seg: Path, measurements: frozenset[str]) -> None:
        kept: list[str] = []
        dropped: dict[str, int] = {}
        for line in _lines(seg):
            try:
                m = json.loads(line)["m"]
            except (ValueError, KeyError, TypeError):
                continue
            if m in measurements:
                dropped[m] = dropped.get(m, 0) + 1
            else:
                kept.append(line)
        if not dropped:
            return
        data = "".join(line + "\n" for line in kept).encode()
        write_atomic(seg, data)
        self._sizes[seg] = len(data)
        for m, n in dropped.items():
            self._dropped[m] = self._dropped.get(m, 0) + n
        log.error("spool full: dropped the oldest %s (%s) to stay under %.0f MB",
                  ", ".join(f"{n} {m}" for m, n in sorted(dropped.items())), seg.name,
                  self.max_bytes / 1e6)

    # --- reading ----------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """Segment files, oldest first."""
        return [p for p in self._segments() if p in self._sizes]

    def read(self, seg: Path) -> list[Point]:
        """Every intact point of a segment (a line torn by a crash is skipped); OSError
        when it cannot be read (then `set_aside` it)."""
        points = []
        for n, line in enumerate(_lines(seg, strict=True), 1):
            try:
                points.append(point_from_json(line))
            except (ValueError, TypeError):
                log.warning("spool %s line %d is damaged (torn by a crash?); skipped",
                            seg.name, n)
        return points

    def set_aside(self, seg: Path, why: str) -> None:
        """Rename a segment that cannot be replayed (it stops blocking the ones after it)."""
        self._set_aside(seg, why)

    def remove(self, seg: Path) -> None:
        """Delete a segment once the store has durably taken it."""
        seg.unlink(missing_ok=True)
        self._sizes.pop(seg, None)
        if seg == self._current:
            self._current = None

    def __iter__(self) -> Iterator[Point]:
        for seg in self.segments():
            try:
                yield from self.read(seg)
            except OSError as exc:
                log.warning("spool %s cannot be read (%s); skipped", seg.name, exc)


def _lines(seg: Path, strict: bool = False) -> Iterator[str]:
    """The non-empty lines of a segment; a missing one has none. `strict`: any other
    OSError (a folder, no permission) is raised instead of ending the lines."""
    try:
        with open(seg, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    yield line
    except FileNotFoundError:
        return
    except OSError:
        if strict:
            raise
