"""Alert state and subscriptions on disk, in the data dir, written atomically.

A crash mid-write leaves the previous file intact (write a temp file, fsync, rename), so a
restarted bot neither repeats nor forgets an alert, and never loses its subscribers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.alerts.engine import STATE_VERSION, empty_state
from heatpump.fsutil import write_atomic

log = logging.getLogger(__name__)

STATE_FILE = "alerts_state.json"
SUBSCRIBERS_FILE = "alerts_subscribers.json"


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """`data` as JSON, replacing `path` atomically and durably, readable only by its owner."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        # Keep the damaged file for the owner to inspect; start afresh beside it.
        broken = path.with_suffix(path.suffix + ".broken")
        log.error("cannot read %s (%s); moved it to %s and start with an empty one",
                  path, exc, broken)
        path.replace(broken)
        return None
    return data if isinstance(data, dict) else None


def load_state(data_dir: Path) -> dict[str, Any]:
    data = _read_json(data_dir / STATE_FILE)
    if not data or data.get("version") != STATE_VERSION:
        return empty_state()
    data.setdefault("alerts", {})
    return data


def save_state(data_dir: Path, state: Mapping[str, Any]) -> None:
    write_json_atomic(data_dir / STATE_FILE, state)


class Subscribers:
    """Chats that receive alerts, each with an optional mute until a UTC time."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / SUBSCRIBERS_FILE
        data = _read_json(self.path) or {}
        self._chats: dict[str, dict[str, Any]] = dict(data.get("chats", {}))

    def _save(self) -> None:
        write_json_atomic(self.path, {"version": 1, "chats": self._chats})

    def chats(self) -> list[int]:
        return sorted(int(c) for c in self._chats)

    def is_subscribed(self, chat_id: int) -> bool:
        return str(chat_id) in self._chats

    def subscribe(self, chat_id: int) -> bool:
        """True when newly subscribed."""
        if self.is_subscribed(chat_id):
            return False
        self._chats[str(chat_id)] = {"muted_until": None}
        self._save()
        return True

    def unsubscribe(self, chat_id: int) -> bool:
        if self._chats.pop(str(chat_id), None) is None:
            return False
        self._save()
        return True

    def mute(self, chat_id: int, until: datetime | None) -> None:
        self._chats.setdefault(str(chat_id), {})["muted_until"] = (
            until.isoformat() if until else None)
        self._save()

    def muted_until(self, chat_id: int, now: datetime) -> datetime | None:
        raw = self._chats.get(str(chat_id), {}).get("muted_until")
        until = datetime.fromisoformat(raw) if raw else None
        return until if until is not None and until > now else None

    def recipients(self, now: datetime) -> list[int]:
        """Subscribed chats that are not muted at `now`."""
        return [c for c in self.chats() if self.muted_until(c, now) is None]
