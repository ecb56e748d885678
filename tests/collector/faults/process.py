"""`heatpump collect` as its own process, as Docker runs it: environment settings only (no
.env: it starts in an empty folder), DEBUG logs kept, stopped with SIGTERM and timed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from heatpump import heartbeat

PREFIXES = ("HEATPUMP_", "SHELLY_", "VICARE_", "TELEGRAM_", "INFLUX_", "ALERT_", "APPRISE_")


class CollectProcess:
    def __init__(self, folder: Path, settings: dict[str, str], name: str = "collect"):
        self.folder = folder
        self.data = Path(settings["HEATPUMP_DATA_DIR"])
        env = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
        env.update(settings)
        env.setdefault("HEATPUMP_LOG_LEVEL", "DEBUG")
        binary = Path(sys.executable).parent / "heatpump"
        self.started = time.monotonic()
        # pipes, not files: a test may forbid the process to grow any file (disk full)
        self.proc = subprocess.Popen([str(binary), "collect"], cwd=folder, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._chunks.append(line)

    def heartbeat(self) -> dict[str, object]:
        try:
            return heartbeat.content(heartbeat.heartbeat_path(self.data, "collector"))
        except (OSError, ValueError):
            return {}

    def wait_for(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"collect exited early:\n{self.output()[-3000:]}"
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout:g} s:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 60.0) -> float:
        """SIGTERM; the seconds until the process had exited."""
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - sent

    def output(self) -> str:
        """Everything the process printed so far (all of it once it has exited)."""
        if self.proc.poll() is not None:
            self._reader.join(10)
        return b"".join(self._chunks).decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
