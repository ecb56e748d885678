"""Alert state and subscriptions on disk, in the data dir, written atomically, read back
validated.

A crash mid-write leaves the previous file intact (write a temp file, fsync, rename), so a
restarted bot neither repeats nor forgets an alert, and never loses its subscribers.

Every file is checked when it is read back, because a file on disk can be anything: cut
short by a full disk, edited by hand, written by another version, replaced by a directory.
A file that is not what this version wrote is *set aside* (renamed to
`<name>.broken-<UTC time>`, kept for the owner to inspect) with a warning, and its good
part is kept: each alert record, outbox message and subscribed chat that is whole stays,
and only the damaged ones are dropped (a subscription with an unreadable mute stays,
unmuted). The cleaned file is written back at once. So a damaged file never stops the bot
and never breaks an alert check.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.alerts.engine import RULES, STATE_VERSION, empty_state
from heatpump.fsutil import write_atomic
from heatpump.timeutil import utcnow

log = logging.getLogger(__name__)

STATE_FILE = "alerts_state.json"
SUBSCRIBERS_FILE = "alerts_subscribers.json"
SUBSCRIBERS_VERSION = 1
KINDS = frozenset(spec.kind for spec in RULES)
STATUSES = frozenset({"pending", "active", "resolved"})
EVENTS = frozenset({"raised", "repeat", "resolved"})
TIME_FIELDS = ("first_seen", "fired_at", "last_sent", "clear_since", "resolved_at")


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """`data` as JSON, replacing `path` atomically and durably, readable only by its owner."""
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True))


# --- reading back ------------------------------------------------------------------------


class Damaged(ValueError):
    """A file (or a part of it) is not what this version writes; the message says what."""


def set_aside(path: Path, why: str) -> Path | None:
    """Rename the damaged `path` (file or directory) to `<name>.broken-<UTC time>` beside it,
    private, and warn; None (after an error line) when even that is impossible."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    n = 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}.broken-{stamp}-{n}")
    try:
        os.replace(path, target)
        if target.is_file():
            os.chmod(target, 0o600)
    except OSError as exc:
        log.error("%s is damaged (%s) and cannot be set aside (%s); carrying on without it",
                  path, why, exc.strerror or exc)
        return None
    log.warning("%s is damaged (%s); set it aside as %s and kept what was readable",
                path, why, target.name)
    return target


def read_json(path: Path) -> tuple[Any, str | None]:
    """(parsed JSON or None, the problem or None). A missing file is no problem; anything
    unreadable (a directory, bad UTF-8, truncated JSON) is one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        return None, "it is a directory, not a file"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"unreadable: {getattr(exc, 'strerror', None) or exc}"
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"


def aware_time(value: Any, what: str) -> datetime:
    """An ISO 8601 time with its UTC offset, as the bot writes them."""
    if not isinstance(value, str):
        raise Damaged(f"{what} is not a time")
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise Damaged(f"{what} {value[:40]!r} is not a time") from None
    if t.tzinfo is None:
        raise Damaged(f"{what} {value[:40]!r} has no UTC offset")
    return t


def chat_id(value: Any) -> int:
    """A Telegram chat id: an integer, or the string of one (as JSON object keys are)."""
    if isinstance(value, bool):
        raise Damaged(f"{value!r} is not a chat id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise Damaged(f"{str(value)[:40]!r} is not a chat id")


def _check_record(rec: Any) -> dict[str, Any]:
    """One alert record of the state file, checked (and `flaps` given as a string of digits
    repaired); Damaged otherwise."""
    if not isinstance(rec, dict):
        raise Damaged("an alert record is not an object")
    if rec.get("kind") not in KINDS:
        raise Damaged(f"unknown alert kind {str(rec.get('kind'))[:40]!r}")
    if rec.get("status") not in STATUSES:
        raise Damaged(f"unknown alert status {str(rec.get('status'))[:40]!r}")
    out = dict(rec)
    if rec["status"] in ("pending", "active"):
        aware_time(rec.get("first_seen"), "first_seen")
    for name in TIME_FIELDS:
        if out.get(name) is not None:
            aware_time(out[name], name)
    facts = out.get("facts", {})
    if not isinstance(facts, dict):
        raise Damaged("the facts of an alert are not an object")
    out["facts"] = facts
    flaps = out.get("flaps", 0)
    if isinstance(flaps, str) and flaps.isdigit():
        flaps = int(flaps)
    if isinstance(flaps, bool) or not isinstance(flaps, int) or flaps < 0:
        raise Damaged(f"flaps {str(flaps)[:20]!r} is not a count")
    out["flaps"] = flaps
    return out


def _check_message(item: Any) -> dict[str, Any]:
    """One outbox message, checked (chat ids given as strings repaired)."""
    if not isinstance(item, dict):
        raise Damaged("an outbox message is not an object")
    for name in ("key", "text"):
        if not isinstance(item.get(name), str) or not item[name]:
            raise Damaged(f"an outbox message has no {name}")
    if item.get("kind") not in KINDS:
        raise Damaged(f"an outbox message has the unknown kind {str(item.get('kind'))[:40]!r}")
    if item.get("event") not in EVENTS:
        raise Damaged(f"an outbox message has the unknown event "
                      f"{str(item.get('event'))[:40]!r}")
    aware_time(item.get("at"), "the time of an outbox message")
    chats = item.get("chats", [])
    if not isinstance(chats, list):
        raise Damaged("the chats of an outbox message are not a list")
    apprise = item.get("apprise", False)
    if not isinstance(apprise, bool):
        raise Damaged("the apprise mark of an outbox message is not true/false")
    return {**item, "chats": [chat_id(c) for c in chats], "apprise": apprise}


def check_state(raw: Any) -> tuple[dict[str, Any], list[str]]:
    """The alert state in `raw`, and what was wrong with it: the good records and messages
    are kept, each damaged one dropped and named."""
    if not isinstance(raw, dict):
        return empty_state(), [f"it holds a JSON {type(raw).__name__}, not an object"]
    if raw.get("version") != STATE_VERSION:
        return empty_state(), [f"it has version {str(raw.get('version'))[:20]!r}, this bot "
                               f"reads {STATE_VERSION}"]
    problems: list[str] = []
    state = empty_state()
    for name, value in raw.items():  # keys of later versions' additions are kept
        if name not in ("version", "alerts", "outbox"):
            state[name] = value
    alerts = raw.get("alerts", {})
    if isinstance(alerts, dict):
        for key, rec in alerts.items():
            try:
                state["alerts"][key] = _check_record(rec)
            except Damaged as exc:
                problems.append(f"alert {key[:60]!r} dropped: {exc}")
    else:
        problems.append("'alerts' is not an object")
    outbox = raw.get("outbox", [])
    if isinstance(outbox, list):
        good = []
        for item in outbox:
            try:
                good.append(_check_message(item))
            except Damaged as exc:
                problems.append(f"an outbox message dropped: {exc}")
        state["outbox"] = good
    else:
        problems.append("'outbox' is not a list")
        state["outbox"] = []
    return state, problems


def _load(path: Path, check: Any) -> tuple[Any, bool]:
    """Read `path` and run `check(raw) -> (value, problems)`; a damaged file is set aside.
    Returns (value, whether the file must be written back cleaned)."""
    raw, problem = read_json(path)
    if problem is not None:
        set_aside(path, problem)
        return check(None)[0], False
    if raw is None:
        return None, False
    value, problems = check(raw)
    if not problems:
        return value, False
    shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more"
                                        if len(problems) > 3 else "")
    # written back cleaned only once the original is safe beside it
    return value, set_aside(path, shown) is not None


def load_state(data_dir: Path) -> dict[str, Any]:
    """The alert state (the `evaluate` state plus its `outbox`); empty when there is none.
    A damaged file is set aside and its good part written back (see the module doc)."""
    path = data_dir / STATE_FILE
    state, rewrite = _load(path, check_state)
    if state is None:
        return empty_state()
    if rewrite:
        try:
            save_state(data_dir, state)
        except OSError as exc:
            log.error("cannot write the cleaned %s: %s", path, exc.strerror or exc)
    state.setdefault("alerts", {})
    return state


def save_state(data_dir: Path, state: Mapping[str, Any]) -> None:
    write_json_atomic(data_dir / STATE_FILE, state)


# --- subscribers ---------------------------------------------------------------------------


def check_subscribers(raw: Any) -> tuple[tuple[dict[str, dict[str, Any]], dict[str, int]],
                                         list[str]]:
    """(chats, moved) from the subscribers file in `raw`, and what was wrong with it. A
    list of chat ids (where an object was expected) still counts as those subscriptions."""
    chats: dict[str, dict[str, Any]] = {}
    moved: dict[str, int] = {}
    problems: list[str] = []
    if raw is None:
        return (chats, moved), problems
    if isinstance(raw, list):
        raw, problems = {"chats": raw}, ["it holds a list, not an object"]
    if not isinstance(raw, dict):
        return (chats, moved), [f"it holds a JSON {type(raw).__name__}, not an object"]
    if raw.get("version", SUBSCRIBERS_VERSION) != SUBSCRIBERS_VERSION:
        problems.append(f"it has version {str(raw.get('version'))[:20]!r}")
    entries = raw.get("chats", {})
    if isinstance(entries, list):
        problems.append("'chats' is a list, not an object")
        entries = {str(c): {"muted_until": None} for c in entries
                   if not isinstance(c, dict | list)}
    if not isinstance(entries, dict):
        return (chats, moved), [*problems, "'chats' is not an object"]
    for key, entry in entries.items():
        try:
            cid = chat_id(key)
        except Damaged as exc:
            problems.append(f"chat dropped: {exc}")
            continue
        until = entry.get("muted_until") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) and entry is not None:
            problems.append(f"chat {cid}: its entry is not an object (kept, unmuted)")
        if until is not None:
            try:
                aware_time(until, "muted_until")
            except Damaged as exc:
                problems.append(f"chat {cid}: {exc} (kept, unmuted)")
                until = None
        chats[str(cid)] = {"muted_until": until}
    raw_moved = raw.get("moved", {})
    if isinstance(raw_moved, dict):
        for old, new in raw_moved.items():
            try:
                moved[str(chat_id(old))] = chat_id(new)
            except Damaged as exc:
                problems.append(f"a chat move dropped: {exc}")
    else:
        problems.append("'moved' is not an object")
    return (chats, moved), problems


class Subscribers:
    """Chats that receive alerts, each with an optional mute until a UTC time, and the
    groups that became supergroups (Telegram gives the chat a new id; the subscription
    follows it, see `move`)."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / SUBSCRIBERS_FILE
        loaded, rewrite = _load(self.path, check_subscribers)
        chats, moved = loaded if loaded is not None else ({}, {})
        self._chats: dict[str, dict[str, Any]] = chats
        self._moved: dict[str, int] = moved
        if rewrite:
            try:
                self._save()
            except OSError as exc:
                log.error("cannot write the cleaned %s: %s", self.path, exc.strerror or exc)

    def _save(self) -> None:
        data: dict[str, Any] = {"version": SUBSCRIBERS_VERSION, "chats": self._chats}
        if self._moved:
            data["moved"] = self._moved
        write_json_atomic(self.path, data)

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

    # --- chats that moved ------------------------------------------------------------

    def current_id(self, chat_id: int) -> int:
        """The id `chat_id` has now: a group that became a supergroup has a new one."""
        seen = {chat_id}
        while str(chat_id) in self._moved:
            chat_id = self._moved[str(chat_id)]
            if chat_id in seen:  # a loop in a hand-edited file: stop, never hang
                break
            seen.add(chat_id)
        return chat_id

    def move(self, old: int, new: int) -> bool:
        """The group `old` is the supergroup `new` now: remember it, and move the
        subscription (with its mute). True when something changed."""
        if old == new or (self._moved.get(str(old)) == new and not self.is_subscribed(old)):
            return False
        self._moved[str(old)] = new
        entry = self._chats.pop(str(old), None)
        if entry is not None and not self.is_subscribed(new):
            self._chats[str(new)] = entry
        self._save()
        return True

    def allowed(self, configured: Iterable[int]) -> frozenset[int]:
        """The configured chat ids (TELEGRAM_ALLOWED_CHAT_IDS) plus what they became: an
        allowed group stays allowed as the supergroup it turned into."""
        ids = set(configured)
        return frozenset(ids | {self.current_id(c) for c in ids})
