"""A real InfluxDB 1.x server for tests and benchmarks, started without root.

`find_influxd()` looks on PATH, then in the cache dir, then fetches Debian's `influxdb`
package with `apt-get download` and unpacks it with `dpkg-deb -x` into the cache dir
(~/.cache/heatpump-monitor/influxdb, or $HEATPUMP_CACHE_DIR/influxdb). `Influxd` runs it on
free loopback ports with its data in a given directory; `stop()` and `start()` again reuse
that directory, so a test can take the server away for a while and bring it back, and
`freeze()`/`thaw()` (SIGSTOP/SIGCONT) make it hang the way a stuck server does: the kernel
still accepts connections, nothing answers.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx


class InfluxdUnavailable(RuntimeError):
    """No influxd binary could be found or fetched (the reason says why)."""


def cache_dir() -> Path:
    base = os.environ.get("HEATPUMP_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "heatpump-monitor")
    return Path(base) / "influxdb"


def find_influxd() -> Path:
    """Path of an influxd binary, fetching Debian's package into the cache when needed."""
    found = shutil.which("influxd")
    if found:
        return Path(found)
    cached = cache_dir() / "usr" / "bin" / "influxd"
    if cached.is_file():
        return cached
    for tool in ("apt-get", "dpkg-deb"):
        if not shutil.which(tool):
            raise InfluxdUnavailable(f"influxd is not on PATH and {tool} is missing to fetch "
                                     "Debian's influxdb package")
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", "influxdb"], cwd=tmp, capture_output=True,
                             text=True, timeout=300)
        debs = list(Path(tmp).glob("influxdb_*.deb"))
        if got.returncode != 0 or not debs:
            raise InfluxdUnavailable("influxd is not on PATH and `apt-get download influxdb` "
                                     f"failed: {(got.stderr or got.stdout).strip()[-300:]}")
        cache_dir().mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(cache_dir())], check=True,
                       timeout=300)
    if not cached.is_file():
        raise InfluxdUnavailable(f"unpacked Debian's influxdb but found no {cached}")
    return cached


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Influxd:
    """One influxd process on loopback; its data dir survives stop()/start().

    `max_row_limit` sets `[http] max-row-limit` (0: none): answers longer than that many
    rows are cut and marked `"partial": true`. `settings` adds INFLUXDB_* environment
    settings (e.g. a short cache-snapshot-write-cold-duration for benchmarks)."""

    def __init__(self, binary: Path, data_dir: Path, auth: bool = False,
                 max_row_limit: int = 0, settings: dict[str, str] | None = None):
        self.binary, self.dir, self.auth = binary, Path(data_dir), auth
        self.max_row_limit = max_row_limit
        self.settings = dict(settings or {})
        self.port = free_port()
        self.rpc_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "influxd.log"

    def env(self) -> dict[str, str]:
        d = self.dir
        return {
            **os.environ,
            "INFLUXDB_HTTP_BIND_ADDRESS": f"127.0.0.1:{self.port}",
            "INFLUXDB_BIND_ADDRESS": f"127.0.0.1:{self.rpc_port}",
            "INFLUXDB_META_DIR": str(d / "meta"),
            "INFLUXDB_DATA_DIR": str(d / "data"),
            "INFLUXDB_DATA_WAL_DIR": str(d / "wal"),
            "INFLUXDB_REPORTING_DISABLED": "true",
            "INFLUXDB_MONITOR_STORE_ENABLED": "false",
            "INFLUXDB_HTTP_LOG_ENABLED": "false",
            "INFLUXDB_DATA_QUERY_LOG_ENABLED": "false",
            "INFLUXDB_LOGGING_LEVEL": "warn",
            "INFLUXDB_HTTP_AUTH_ENABLED": "true" if self.auth else "false",
            "INFLUXDB_HTTP_MAX_ROW_LIMIT": str(self.max_row_limit),
            **self.settings,
        }

    def start(self, timeout: float = 30.0) -> None:
        """Start (or restart after stop()) on the same port and data dir; waits for /ping."""
        if self.proc is not None and self.proc.poll() is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "influxdb.conf"
        conf.write_text("")  # every setting comes from the environment
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(self.binary), "-config", str(conf)],
                                         env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited with {self.proc.returncode}; see {self.log}: "
                                   + self.log.read_text()[-1000:])
            try:
                if httpx.get(f"{self.url}/ping", timeout=1.0).status_code == 204:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"influxd did not answer /ping within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); the data stays for the next start()."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.thaw()  # a frozen process would not act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its port (connections are accepted) but answers nothing
        until thaw()."""
        assert self.proc is not None and self.proc.poll() is None, "influxd is not running"
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT after freeze(); harmless when the server is not frozen."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def query(self, q: str, **params: str) -> dict:
        r = httpx.post(f"{self.url}/query", params={"q": q, **params}, timeout=30.0)
        r.raise_for_status()
        return r.json()

    def create_admin(self, user: str, password: str) -> None:
        """The first admin of an auth-enabled server (allowed without credentials)."""
        escaped = password.replace("\\", "\\\\").replace("'", "\\'")
        self.query(f"CREATE USER \"{user}\" WITH PASSWORD '{escaped}' WITH ALL PRIVILEGES")

    def __enter__(self) -> Influxd:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
