"""Whether the demo store is there before a command reads it with `--demo`.

`heatpump demo` writes `<data dir>/demo/` (the data dir is HEATPUMP_DATA_DIR, `./data` by
default, so relative to the folder the command runs in). Run from another folder, `chat
--demo` used to open (and so create) an empty store there and answer "no data" to every
command; now the commands with `--demo` say where they looked and to run `heatpump demo`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from heatpump.i18n import _
from heatpump.settings import Settings
from heatpump.store import SQLITE_FILE, StoreError, open_store
from heatpump.store.base import Store


def demo_path(settings: Settings) -> Path:
    """The demo store's file (heatpump.store.open_store(settings, demo=True) opens it)."""
    return settings.data_dir / "demo" / SQLITE_FILE


def demo_missing(settings: Settings) -> str | None:
    """None when the demo store exists and holds meter data; otherwise the one line to show
    (where it looked, and what to run). A store that cannot be read is left to the caller's
    own error handling (StoreError when it opens it)."""
    path = demo_path(settings)
    fix = _("run `heatpump demo` first (in this folder, or with the same HEATPUMP_DATA_DIR)")
    if not path.is_file():
        return _("no demo data in {path}: {fix}").format(path=path.resolve(), fix=fix)
    from bot.store_reads import latest_by_device

    try:
        with open_store(settings, demo=True) as store:
            empty = not latest_by_device(store, "meter", ["power_w"])
    except (StoreError, OSError):
        return None
    if empty:
        return _("the demo store {path} holds no data: {fix}").format(path=path.resolve(),
                                                                        fix=fix)
    return None


def open_for(command: str, settings: Settings, demo: bool) -> Store | None:
    """The store a command reads (the demo store with `--demo`), or None after one line on
    stderr saying why not ("heatpump chat: no demo data in ...", a store that cannot be
    opened: bot.fmt.store_error_line, never a traceback); the caller then exits 1."""
    from bot.fmt import store_error_line

    if demo and (missing := demo_missing(settings)):
        print(f"heatpump {command}: {missing}", file=sys.stderr)
        return None
    try:
        return open_store(settings, demo=demo)
    except (StoreError, OSError) as exc:
        print(f"heatpump {command}: {store_error_line(exc)}", file=sys.stderr)
        return None
