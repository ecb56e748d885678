"""The bot's reads are bounded by the range asked for, never by the history kept (issue 16):
what /status reads of the collector's health is one range of health points, not a latest()
per (source, device) that looks back to the start of the data for a field a series never
had. Checked on the calls the reads make (a recording store in front of a real one), not by
timing; benchmarks/bot_growth_bench.py measures the cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot import store_reads
from heatpump.store.base import Point, Store
from tests import synthetic
from tests.conftest import BERLIN

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Recording:
    """A store that records every call (method, args) and passes it on."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def call(*args: Any, **kw: Any) -> Any:
            self.calls.append((name, args, kw))
            return method(*args, **kw)

        return call


def health(t: datetime, source: str, device: str, status: str, reason: str = "",
           **more: Any) -> Point:
    return Point("health", t, {"status": status, "reason": reason, "detail": "d", **more},
                 {"source": source, "device": device})


def test_status_reads_health_within_a_year_only(store: Store) -> None:
    synthetic.fill(store, NOW - timedelta(hours=6), NOW, meter_step_s=300)
    old = NOW - timedelta(days=500)
    store.write([
        # years ago: the meter went down and came back; nothing since
        health(old, "meter", synthetic.METER, "down", "unreachable"),
        health(old + timedelta(hours=1), "meter", synthetic.METER, "up"),
        # 40 days ago: the quota ran out, and the heat pump answers again since
        health(NOW - timedelta(days=40), "vicare", synthetic.PUMP, "down", "quota_exhausted",
               until=(NOW - timedelta(days=39)).isoformat()),
        health(NOW - timedelta(days=39), "vicare", synthetic.PUMP, "up"),
        health(NOW - timedelta(days=2), "vicare", "account", "down", "login",
               until=(NOW + timedelta(hours=2)).isoformat()),
    ])
    store.flush()
    rec = Recording(store)
    data = store_reads.status_data(rec, NOW, BERLIN)  # type: ignore[arg-type]

    got = [(h.source, h.device, h.status, h.reason, h.time) for h in data.health]
    assert got == [("vicare", synthetic.PUMP, "up", "", NOW - timedelta(days=39)),
                   ("vicare", "account", "down", "login", NOW - timedelta(days=2))]
    account = data.health[1]
    assert account.until == (NOW + timedelta(hours=2)).isoformat() and account.detail == "d"

    assert not [c for c in rec.calls if c[0] in ("latest", "tag_values")
                and c[1][0] == "health"], "no unbounded read of the health points"
    ranged = [(name, args) for name, args, _kw in rec.calls
              if name in ("points", "sums", "series")]
    assert ("points", "health") in {(n, a[0]) for n, a in ranged}
    for name, args in ranged:
        start, end = args[1:3] if name == "points" else args[2:4]
        assert NOW - store_reads.HEALTH_STATUS_LOOKBACK <= start < end <= NOW + timedelta(
            hours=1), (name, args)


def test_a_state_recorded_more_than_a_year_ago_is_not_shown(store: Store) -> None:
    """The price of the bound, and what /status still says: the source's last data."""
    synthetic.fill(store, NOW - timedelta(hours=1), NOW, meter_step_s=300)
    store.write([health(NOW - timedelta(days=367), "meter", synthetic.METER, "up"),
                 health(NOW - timedelta(days=365), "vicare", synthetic.PUMP, "up")])
    store.flush()
    data = store_reads.status_data(store, NOW, BERLIN)
    assert [(h.source, h.time) for h in data.health] == [
        ("vicare", NOW - timedelta(days=365))]
    assert data.meters[synthetic.METER]["power_w"].time <= NOW


def test_jaz_and_the_alert_check_read_within_their_ranges(store: Store, tmp_path) -> None:
    """/jaz asks for the device's own figures since DEVICE_FIGURES_LOOKBACK, the alert check
    for a silent device's last point since LAST_POINT_LOOKBACK (with the measurement's
    fields, so InfluxDB never lists every shard's field keys): nothing older is read, so a
    figure or a device from long ago is not shown."""
    from heatpump.settings import Settings

    synthetic.fill(store, NOW - timedelta(hours=6), NOW, meter_step_s=300)
    long_ago = NOW - timedelta(days=500)
    store.write([
        Point("heatpump", long_ago, {"device_spf_total": 4.1, "outside_temp_c": 3.0},
              {"device": synthetic.PUMP}),
        Point("heatpump", NOW - timedelta(days=20), {"device_scop_total": 3.9},
              {"device": synthetic.PUMP}),
        Point("meter", long_ago, {"power_w": 12.0}, {"device": "retired-meter"}),
    ])
    store.flush()
    rec = Recording(store)
    jaz = store_reads.period_data(rec, NOW - timedelta(days=30), NOW, BERLIN,  # type: ignore[arg-type]
                                  NOW)
    assert {f: v.value for f, v in jaz.device_figures.items()} == {"device_scop_total": 3.9}

    settings = Settings.from_mapping({"HEATPUMP_DATA_DIR": str(tmp_path),
                                      "HEATPUMP_TZ": "Europe/Berlin"})
    silent = NOW + timedelta(hours=1)  # no sample in the last 15 minutes: the fallback
    snap = store_reads.alert_snapshot(rec, settings, BERLIN, silent)  # type: ignore[arg-type]
    assert sorted((s.source, s.device) for s in snap.sources) == [
        ("heatpump", synthetic.PUMP), ("meter", synthetic.METER)]
    assert all(s.last_time <= NOW for s in snap.sources)

    latests = [(args, kw) for name, args, kw in rec.calls if name == "latest"]
    assert latests, "the fallback asked for the newest points"
    oldest = silent - timedelta(days=store_reads.days_needed(settings) + 2)
    for args, kw in latests:
        assert kw.get("since") is not None and kw["since"] >= NOW - timedelta(days=35), args
        assert len(args) > 1 and args[1] is not None, "the fields are named"
    for name, args, _kw in rec.calls:
        if name in ("points", "sums", "series"):
            start = args[1] if name == "points" else args[2]
            assert start >= oldest, (name, args)
