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
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from heatpump.fsutil import write_atomic
from heatpump.store.base import Point

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
    d = json.loads(line)
    return Point(d["m"], datetime.fromisoformat(d["t"]), d["f"], d.get("tags") or {})


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
        self.dir.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._warned = 0.0  # highest warning fraction announced
        self._current: Path | None = None
        self._sizes: dict[Path, int] = {p: p.stat().st_size for p in self._segments()}
        self._dropped: dict[str, int] = {}

    # --- state ------------------------------------------------------------------------

    def _segments(self) -> list[Path]:
        return sorted(self.dir.glob("*.jsonl"))

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
        existing = self._segments()
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
        self._enforce_cap()
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
        """Every intact point of a segment (a line torn by a crash is skipped)."""
        points = []
        for n, line in enumerate(_lines(seg), 1):
            try:
                points.append(point_from_json(line))
            except (ValueError, KeyError, TypeError):
                log.warning("spool %s line %d is damaged (torn by a crash?); skipped",
                            seg.name, n)
        return points

    def remove(self, seg: Path) -> None:
        """Delete a segment once the store has durably taken it."""
        seg.unlink(missing_ok=True)
        self._sizes.pop(seg, None)
        if seg == self._current:
            self._current = None

    def __iter__(self) -> Iterator[Point]:
        for seg in self.segments():
            yield from self.read(seg)


def _lines(seg: Path) -> Iterator[str]:
    try:
        with open(seg, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if line:
                    yield line
    except FileNotFoundError:
        return
