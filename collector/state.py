"""The collector's accounting state in the data dir: how a restart resumes exactly.

One small JSON file (`<data dir>/accounting_state.json`) holds, per source and device,
what accounting needs to continue where it stopped: the meter's last counter reading,
running state and open minute; each heat pump's last sample with its energy counters.
It is written (atomically) each time the points of a poll have become durable (in the
store, or in the spool while the store is down), so it never claims more than was kept;
a restart therefore loses nothing and doubles nothing, even while the store is down
(docs/collector.md). A damaged file is set aside with a warning and accounting starts
afresh from what the store holds.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from heatpump.fsutil import write_atomic
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

STATE_FILE = "accounting_state.json"
VERSION = 1
# Before this file existed, the heat pump's last samples were kept here ({device: sample});
# imported once, so an upgrade does not cost an interval of heat.
LEGACY_SAMPLES = "vicare_last_samples.json"


class StateFile:
    """Sections keyed "<source>/<device>" with JSON values; `put` marks, `save` writes."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / STATE_FILE
        self._data: dict[str, Any] = self._load()
        self._dirty = False
        self._legacy: Path | None = None
        if not self.path.exists():
            self._import_legacy(Path(data_dir) / LEGACY_SAMPLES)

    def _import_legacy(self, legacy: Path) -> None:
        try:
            raw = json.loads(legacy.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s (%s)", legacy, exc)
            return
        if not isinstance(raw, dict):
            return
        for device, sample in raw.items():
            if isinstance(sample, dict):
                self._data[f"heatpump/{device}"] = {**sample, "device": device}
        self._dirty = bool(raw)
        self._legacy = legacy

    def _load(self) -> dict[str, Any]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            self._set_aside(f"unreadable ({exc})")
            return {}
        if (not isinstance(raw, dict) or raw.get("version") != VERSION
                or not isinstance(raw.get("sections"), dict)):
            self._set_aside("not an accounting state of this version")
            return {}
        return dict(raw["sections"])

    def _set_aside(self, why: str) -> None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        try:
            os.replace(self.path, aside)
        except OSError:
            aside = self.path
        log.warning("%s is %s; kept as %s. Accounting resumes from the store.",
                    self.path, why, aside.name)

    def get(self, key: str) -> Any | None:
        return _resolved(self._data.get(key))

    def sections(self, prefix: str) -> dict[str, Any]:
        """Every section whose key starts with `prefix` (e.g. "heatpump/")."""
        return {k: _resolved(v) for k, v in self._data.items() if k.startswith(prefix)}

    def put(self, sections: Mapping[str, Any]) -> None:
        """New values for sections: JSON data, or a function returning it (called only
        when the file is written, so a bulk run does not serialise every poll)."""
        if sections:
            self._data.update(sections)
            self._dirty = True

    def discard(self, key: str) -> None:
        """Forget one section (it was damaged and could not be used)."""
        if self._data.pop(key, None) is not None:
            self._dirty = True

    def save(self) -> None:
        """Write the file if anything changed; an OSError is logged, not raised (the next
        save tries again; the store still holds the points)."""
        if not self._dirty:
            return
        try:
            sections = {k: _resolved(v) for k, v in self._data.items()}
            write_atomic(self.path, json.dumps({"version": VERSION, "sections": sections},
                                                separators=(",", ":")))
            self._dirty = False
            if self._legacy is not None:  # imported: keep it, renamed, for a downgrade
                os.replace(self._legacy, self._legacy.with_name(self._legacy.name
                                                                + ".imported"))
                self._legacy = None
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)


def _resolved(value: Any) -> Any:
    return value() if callable(value) else value
