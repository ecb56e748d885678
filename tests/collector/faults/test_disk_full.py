"""A full disk never crashes the collector, never makes it claim a loss it did not have,
and costs no energy (issue 15). `heatpump collect` runs as its own process with the
embedded store; "full" is the process's file size limit (RLIMIT_FSIZE, set from outside
with prlimit, no root needed): every write that grows a file fails, as on a full disk,
while the pipes its log goes to keep working."""

from __future__ import annotations

import re
import resource
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from heatpump.store.sqlite import SQLiteStore
from tests.collector.faults.meter import LiveMeter
from tests.collector.faults.process import CollectProcess

FULL_S = 12.0
FAR = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))

pytestmark = pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs prlimit")


def test_a_full_disk_loses_nothing_and_says_so(tmp_path):
    data = tmp_path / "data"
    with LiveMeter() as meter:
        run = CollectProcess(tmp_path, {
            "HEATPUMP_DATA_DIR": str(data), "HEATPUMP_TZ": "UTC", "SHELLY_URL": meter.url,
            "SHELLY_POLL_SECONDS": "1", "HEATPUMP_FLUSH_MINUTES": "0"})
        try:
            run.wait_for(lambda: len(meter.served) >= 4, 60, "meter polls")
            _, hard = resource.prlimit(run.proc.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(run.proc.pid, resource.RLIMIT_FSIZE, (0, hard))  # disk full
            served_before = len(meter.served)
            time.sleep(FULL_S)
            polls_while_full = len(meter.served) - served_before
            resource.prlimit(run.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
            run.wait_for(lambda: run.heartbeat().get("spool_bytes") == 0
                         and "store" in str(run.heartbeat().get("sources", {}))
                         and "down" not in str(run.heartbeat().get("sources", {})),
                         90, "the store back and the spool replayed")
            time.sleep(3)
            stop_s = run.stop()
        finally:
            run.kill()
    out = run.output()
    assert run.proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "kept in memory" in out  # the disk really was full for the collector
    claims = [int(n) for n in re.findall(r"(\d+) lost", out)]
    assert not any(claims), out[-3000:]  # nothing was lost, so nothing is said lost
    assert polls_while_full >= FULL_S / 2  # polling went on
    assert stop_s <= 5.0
    with SQLiteStore(data / "heatpump.sqlite3", ZoneInfo("UTC")) as store:
        el = [p for p in store.points("electricity", *FAR) if p.tags["source"] == "meter"]
    assert sum(p.fields.get("energy_wh", 0.0) for p in el) == pytest.approx(
        meter.truth_wh(), abs=1e-6)
