"""Container health check: is the collector's or the bot's heartbeat file fresh?

The collector renews `collector.heartbeat` and the bot `bot.heartbeat` (in RAM, in the data
dir's folder under /dev/shm; heatpump/heartbeat.py) while their main loops run (contract:
docs/deployment.md). A stale or
missing file, or one saying the process stopped, means it hangs or died; docker then reports
the container unhealthy.

    python /app/healthcheck.py collector|bot [--max-age SECONDS]
    python /app/healthcheck.py            # which one: from the running `heatpump` command

Exit 0 healthy, 1 unhealthy (the reason on stdout, which `docker inspect` shows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# `heatpump <subcommand>` -> the process name of its heartbeat file
HEARTBEAT_OF_COMMAND: dict[str, str] = {"collect": "collector", "bot": "bot"}
# options of `heatpump` itself that take a value (heatpump/cli.py)
_OPTIONS_WITH_VALUE = frozenset({"--env-file"})
MIN_MAX_AGE_S = 180.0


def default_max_age_s(process: str, poll_intervals_s: list[float]) -> float:
    """How old a heartbeat may be: 3 minutes, or two of the slowest poll cycles plus a
    minute for a collector that only beats per poll (300 s Viessmann polls -> 660 s)."""
    if process == "collector" and poll_intervals_s:
        return max(MIN_MAX_AGE_S, 2 * max(poll_intervals_s) + 60)
    return MIN_MAX_AGE_S


def check(path: Path, max_age_s: float, now: float) -> tuple[bool, str]:
    """(healthy, reason) from the heartbeat file's modification time, plus what its JSON
    content says: a process that wrote `"stopped": true` has ended, however fresh the file,
    and the collector's source states explain missing data in `docker inspect`."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat yet: {path} does not exist"
    except OSError as exc:
        return False, f"cannot read {path}: {exc.strerror}"
    from heatpump.heartbeat import content

    body = content(path)
    sources = _sources(body)
    age = now - mtime
    if body.get("stopped") is True:
        return False, f"heartbeat {path}: the process stopped {age:.0f} s ago{sources}"
    if age > max_age_s:
        return False, (f"heartbeat {path} is {age:.0f} s old (limit {max_age_s:.0f} s)"
                       f"{sources}")
    return True, f"heartbeat {path} is {max(age, 0):.0f} s old{sources}"


def _sources(body: dict[str, object]) -> str:
    """"; meter up, vicare down (rate_limited)" from the collector's heartbeat content."""
    found = body.get("sources")
    if not isinstance(found, dict) or not found:
        return ""
    parts = []
    for name, st in sorted(found.items()):
        if isinstance(st, dict):
            reason = f" ({st['reason']})" if st.get("reason") else ""
            parts.append(f"{name} {st.get('status', '?')}{reason}")
    return "; " + ", ".join(parts) if parts else ""


def detect_process(proc: Path = Path("/proc")) -> str | None:
    """The heartbeat process of the `heatpump` command running in this container, if any."""
    for cmdline in sorted(proc.glob("[0-9]*/cmdline")):
        try:
            argv = [a.decode(errors="replace") for a in cmdline.read_bytes().split(b"\0") if a]
        except OSError:
            continue
        for i, arg in enumerate(argv):
            if Path(arg).name == "heatpump" or arg == "heatpump.cli":
                return HEARTBEAT_OF_COMMAND.get(_subcommand(argv[i + 1:]), "")
    return None


def _subcommand(args: list[str]) -> str:
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in _OPTIONS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("process", nargs="?", choices=sorted(set(HEARTBEAT_OF_COMMAND.values())),
                        help="whose heartbeat to check (default: detected)")
    parser.add_argument("--max-age", type=float, metavar="SECONDS",
                        help="oldest healthy heartbeat (default: from the poll settings)")
    args = parser.parse_args(argv)

    process = args.process or detect_process()
    if process is None:
        print("no heatpump process is running")
        return 1
    if process == "":
        print("this heatpump command keeps no heartbeat; nothing to check")
        return 0

    from heatpump.heartbeat import heartbeat_path
    from heatpump.settings import Settings, SettingsError

    try:
        settings = Settings.from_env(env_file=None)
    except SettingsError as exc:
        print(exc)  # never contains secret values
        return 1
    intervals = ([settings.shelly_poll_seconds] if settings.shelly_enabled else []) + (
        [float(settings.vicare_poll_seconds)] if settings.vicare_enabled else [])
    max_age = args.max_age or default_max_age_s(process, intervals)
    healthy, reason = check(heartbeat_path(settings.data_dir, process), max_age, time.time())
    print(reason)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
