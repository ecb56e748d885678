"""One contract, two backends: every assertion here runs against SQLite and a real influxd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from heatpump.store.base import Point, StoreError
from tests.conftest import BERLIN

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
UTCZ = ZoneInfo("UTC")


def meter(t: datetime, power: float, device: str = "shelly1", **extra: object) -> Point:
    return Point("meter", t, {"power_w": power, **extra}, {"device": device})


def elec(t: datetime, wh: float, device: str = "hp", source: str = "meter") -> Point:
    return Point("electricity", t, {"energy_wh": wh, "duration_s": 60.0},
                 {"device": device, "source": source, "circuit": "total"})


def test_round_trip_of_every_field_type(store):
    fields = {"outside_temp_c": -3.5, "compressor_starts": 4711, "compressor_active": True,
              "compressor_phase": "heating", "error_count": 0, "flow_l_h": 1200}
    store.write([Point("heatpump", T0, fields, {"device": "7571381681420106"})])
    store.flush()
    [p] = store.points("heatpump", T0 - timedelta(minutes=1), T0 + timedelta(minutes=1))
    assert p.time == T0
    assert p.tags == {"device": "7571381681420106"}
    assert p.fields == {**fields, "flow_l_h": 1200.0}
    for name, want in (("outside_temp_c", float), ("compressor_starts", int),
                       ("compressor_active", bool), ("compressor_phase", str),
                       ("flow_l_h", float)):
        assert type(p.fields[name]) is want, name
    assert store.info().backend in ("sqlite", "influxdb")


def test_check_passes_on_a_sound_store(store):
    store.check()  # empty
    store.write([meter(T0 + timedelta(seconds=10 * i), float(i)) for i in range(500)])
    store.flush()
    store.check()


def test_bad_points_are_refused_before_buffering(store):
    with pytest.raises(ValueError, match="schema type is int"):
        store.write([Point("heatpump", T0, {"compressor_starts": 1.5}, {"device": "d"})])
    with pytest.raises(ValueError, match="no field"):
        store.write([Point("meter", T0, {"powr_w": 1.0}, {"device": "d"})])
    with pytest.raises(ValueError, match="naive"):
        store.write([meter(datetime(2026, 1, 1), 1.0)])
    with pytest.raises(ValueError, match="finite"):
        store.write([meter(T0, float("nan"))])
    with pytest.raises(ValueError, match="line break"):
        store.write([meter(T0, 1.0, device="a\nb")])
    store.flush()
    assert store.points("meter", T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


def test_latest_per_field_with_own_time_and_tag_filter(store):
    store.write([
        meter(T0, 100.0, energy_import_wh=5000.0),
        meter(T0 + timedelta(seconds=10), 110.0),  # no counter in this sample
        meter(T0 + timedelta(seconds=20), 999.0, device="other"),
    ])
    store.flush()
    got = store.latest("meter", tags={"device": "shelly1"})
    assert got["power_w"].value == 110.0
    assert got["power_w"].time == T0 + timedelta(seconds=10)
    assert got["energy_import_wh"].value == 5000.0
    assert got["energy_import_wh"].time == T0
    assert got["power_w"].tags == {"device": "shelly1"}
    assert "uptime_s" not in got
    both = store.latest("meter", ["power_w"])
    assert set(both) == {"power_w"}
    assert both["power_w"].value == 999.0 and both["power_w"].tags == {"device": "other"}
    assert store.latest("meter", tags={"device": "nobody"}) == {}
    assert store.latest("heat") == {}


def test_latest_since_leaves_out_older_values(store):
    store.write([meter(T0, 100.0, energy_import_wh=5000.0),
                 meter(T0 + timedelta(hours=1), 110.0),
                 meter(T0 + timedelta(hours=2), 120.0, device="other")])
    store.flush()
    half = T0 + timedelta(minutes=30)
    got = store.latest("meter", tags={"device": "shelly1"}, since=half)
    assert set(got) == {"power_w"} and got["power_w"].time == T0 + timedelta(hours=1)
    assert store.latest("meter", tags={"device": "shelly1"}, since=T0)["energy_import_wh"] \
        .value == 5000.0  # `since` itself is included
    assert store.latest("meter", ["power_w"], since=half)["power_w"].value == 120.0
    assert store.latest("meter", since=T0 + timedelta(hours=3)) == {}
    assert store.latest("meter", ["uptime_s"], since=T0) == {}  # never written


def test_latest_finds_a_field_that_stopped_long_ago_and_old_values_written_late(make_store):
    writer, other = make_store(), make_store()
    long_ago = T0 - timedelta(days=800)
    writer.write([meter(long_ago, 1.0, energy_import_wh=7.0)])
    writer.flush()
    for day in range(1, 12):  # flush by flush, power only: the counter stopped long ago
        writer.write([meter(T0 + timedelta(days=day, seconds=10 * i), float(day))
                      for i in range(0, 8640, 360)])
        writer.flush()
    got = writer.latest("meter")
    assert got["energy_import_wh"].time == long_ago and got["energy_import_wh"].value == 7.0
    assert got["power_w"].time == T0 + timedelta(days=11, seconds=10 * 8280)
    # Another client writes a newer counter value; then an older one arrives late.
    other.write([meter(T0 + timedelta(days=3), 3.0, energy_import_wh=9.0)])
    other.flush()
    writer.write([meter(T0 - timedelta(days=2), 2.0, energy_import_wh=8.0)])
    writer.flush()
    for s in (writer, other):
        got = s.latest("meter", ["energy_import_wh"])
        assert (got["energy_import_wh"].time, got["energy_import_wh"].value) == (
            T0 + timedelta(days=3), 9.0)
    assert writer.latest("meter", ["energy_import_wh"], since=T0 + timedelta(days=4)) == {}
    # Retention takes the old values: nothing is found where they were.
    writer.apply_retention(timedelta(days=1), T0 + timedelta(days=20))
    assert writer.latest("meter", ["energy_import_wh"]) == {}
    assert writer.latest("meter", ["power_w"]) == {}


def test_series_means_per_bucket_and_gaps_stay_none(store):
    # 10-s samples for one hour; power = minute of the hour, nothing in minutes 20..29.
    pts = [meter(T0 + timedelta(seconds=s), float(s // 60))
           for s in range(0, 3600, 10) if not 20 * 60 <= s < 30 * 60]
    store.write(pts)
    store.flush()
    s = store.series("meter", "power_w", T0, T0 + timedelta(hours=1), max_points=6)
    assert s.step == timedelta(minutes=10)
    assert s.start == T0
    assert s.values == [4.5, 14.5, None, 34.5, 44.5, 54.5]
    assert s.times()[2] == T0 + timedelta(minutes=20)
    fine = store.series("meter", "power_w", T0, T0 + timedelta(minutes=2), max_points=500)
    assert fine.step == timedelta(seconds=1)
    assert len(fine.values) == 120
    assert fine.values[0] == 0.0 and fine.values[1] is None and fine.values[70] == 1.0
    assert store.series("meter", "power_w", T0, T0).values == []
    with pytest.raises(ValueError):
        store.series("heatpump", "compressor_phase", T0, T0 + timedelta(hours=1))


def test_series_tag_filter_and_empty_range(store):
    store.write([meter(T0, 100.0), meter(T0, 300.0, device="b")])
    store.flush()
    end = T0 + timedelta(minutes=1)
    assert store.series("meter", "power_w", T0, end, 1).values == [200.0]
    assert store.series("meter", "power_w", T0, end, 1, tags={"device": "b"}).values == [300.0]
    empty = store.series("meter", "power_w", T0 - timedelta(days=3), T0 - timedelta(days=2), 24)
    assert empty.values == [None] * 24


def _year_of_meter(store, start: datetime, days: int, every: timedelta) -> list[Point]:
    """power = day-of-range * 10 + (0 in the first half of each local day, 20 after)."""
    pts = []
    t = start
    while t < start + timedelta(days=days):
        local = t.astimezone(BERLIN)
        day = (local.date() - start.astimezone(BERLIN).date()).days
        pts.append(meter(t, day * 10.0 + (0.0 if local.hour < 12 else 20.0)))
        t += every
    store.write(pts)
    store.flush()
    return pts


def test_long_ranges_are_served_from_rollups(store):
    start = datetime(2025, 1, 1, tzinfo=BERLIN).astimezone(UTC)
    end = datetime(2026, 1, 1, tzinfo=BERLIN).astimezone(UTC)
    pts = _year_of_meter(store, start, 365, timedelta(minutes=30))
    before = store.series("meter", "power_w", start, end, max_points=400)
    hourly_before = store.sums("meter", ["power_w"], start, end, "month", BERLIN)
    # Delete every raw sample: whatever still answers must come from the rollups.
    store.apply_retention(timedelta(days=0), end + timedelta(days=1))
    assert store.points("meter", start, end, limit=5) == []
    s = store.series("meter", "power_w", start, end, max_points=400)
    assert s == before
    assert s.step == timedelta(days=1)
    assert s.start == start  # aligned on Berlin midnight
    assert len(s.values) == 365
    by_day: dict[int, list[float]] = {}
    for p in pts:  # whole local days, the 23 h and 25 h ones included
        day = (p.time.astimezone(BERLIN).date() - start.astimezone(BERLIN).date()).days
        by_day.setdefault(day, []).append(p.fields["power_w"])
    for i, v in enumerate(s.values):
        assert v == pytest.approx(sum(by_day[i]) / len(by_day[i]), abs=1e-9), i
    assert len(by_day[88]) == 46 and len(by_day[298]) == 50  # 30 Mar, 26 Oct 2025
    months = store.sums("meter", ["power_w"], start, end, "month", BERLIN)
    assert months == hourly_before
    assert len(months) == 12
    jan = months[0]
    assert jan.start == start and jan.end == datetime(2025, 2, 1, tzinfo=BERLIN)
    # January: days 0..30, 48 samples a day, mean day*10+10.
    assert jan.values["power_w"] == pytest.approx(sum(48 * (d * 10 + 10) for d in range(31)))
    # A short range still answers from raw and now finds nothing.
    assert store.series("meter", "power_w", start, start + timedelta(hours=2), 12).values == \
        [None] * 12


def test_calendar_sums_across_dst_in_berlin(make_store):
    for store_tz in (BERLIN, UTCZ):  # via _1d (zone matches) and via _1h (it does not)
        store = make_store(store_tz)
        # 1 Wh every UTC quarter hour from 2026-03-27 to 2026-03-31 and around 25 October.
        pts = []
        for a, b in ((datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)),
                     (datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 10, 28, tzinfo=UTC))):
            t = a
            while t < b:
                pts.append(elec(t, 1.0))
                t += timedelta(minutes=15)
        store.write(pts)
        store.flush()

        def day(d: int, m: int) -> datetime:
            return datetime(2026, m, d, tzinfo=BERLIN)
        days = store.sums("electricity", ["energy_wh"], day(28, 3), day(31, 3), "day", BERLIN)
        assert [(r.start, r.end - r.start, r.values["energy_wh"]) for r in days] == [
            (day(28, 3), timedelta(hours=24), 96.0),
            (day(29, 3), timedelta(hours=23), 92.0),
            (day(30, 3), timedelta(hours=24), 96.0),
        ]
        autumn = store.sums("electricity", ["energy_wh", "duration_s"], day(25, 10),
                            day(26, 10), "day", BERLIN)
        assert len(autumn) == 1
        assert autumn[0].values == {"energy_wh": 100.0, "duration_s": 6000.0}
        hours = store.sums("electricity", ["energy_wh"], day(25, 10), day(26, 10), "hour",
                           BERLIN)
        assert len(hours) == 25 and all(h.values["energy_wh"] == 4.0 for h in hours)
        assert hours[2].start.astimezone(BERLIN).hour == hours[3].start.astimezone(BERLIN).hour
        spring = store.sums("electricity", ["energy_wh"], day(29, 3), day(30, 3), "hour",
                            BERLIN)
        assert len(spring) == 23
        months = store.sums("electricity", ["energy_wh"], day(1, 3), day(1, 11), "month",
                            BERLIN)
        # March: 27 Mar 00:00 UTC .. 1 Apr 00:00 local (31 Mar 22:00 UTC) = 118 h; April:
        # the remaining 26 h; October: 5 whole UTC days.
        assert [(r.start, r.values["energy_wh"]) for r in months] == [
            (day(1, 3), 118 * 4.0), (day(1, 4), 26 * 4.0), (day(1, 10), 5 * 96.0)]
        assert sum(r.values["energy_wh"] for r in months) == len(pts)
        assert [r.start for r in months] == [day(1, 3), day(1, 4), day(1, 10)]


def test_month_sum_exact_values(store):
    # Points every UTC hour from 2026-03-31 20:00 UTC to 2026-04-01 03:00 UTC (8 points).
    t0 = datetime(2026, 3, 31, 20, tzinfo=UTC)
    store.write([elec(t0 + timedelta(hours=i), 1.0) for i in range(8)])
    store.flush()
    months = store.sums("electricity", ["energy_wh"], datetime(2026, 3, 1, tzinfo=BERLIN),
                        datetime(2026, 5, 1, tzinfo=BERLIN), "month", BERLIN)
    # Berlin is UTC+2 then: 20:00, 21:00 UTC are still March; 22:00 UTC is April 1st.
    assert [r.values["energy_wh"] for r in months] == [2.0, 6.0]


def test_group_by_tags_and_tag_filter(store):
    day0 = datetime(2026, 1, 10, tzinfo=BERLIN)
    store.write([elec(day0 + timedelta(hours=1), 10.0, source="meter"),
                 elec(day0 + timedelta(hours=2), 5.0, source="heatpump"),
                 elec(day0 + timedelta(hours=3), 1.0, source="heatpump"),
                 elec(day0 + timedelta(days=1, hours=1), 7.0, source="meter")])
    store.flush()
    end = day0 + timedelta(days=2)
    rows = store.sums("electricity", ["energy_wh"], day0, end, "day", BERLIN,
                      group_by=["source"])
    assert [(r.start, r.tags, r.values) for r in rows] == [
        (day0, {"source": "heatpump"}, {"energy_wh": 6.0}),
        (day0, {"source": "meter"}, {"energy_wh": 10.0}),
        (day0 + timedelta(days=1), {"source": "meter"}, {"energy_wh": 7.0}),
    ]
    only = store.sums("electricity", ["energy_wh"], day0, end, "day", BERLIN,
                      tags={"source": "heatpump"})
    assert [(r.tags, r.values) for r in only] == [({}, {"energy_wh": 6.0})]
    assert store.tag_values("electricity", "source") == ["heatpump", "meter"]


def test_duplicate_writes_never_double(store):
    pts = [elec(T0 + timedelta(minutes=i), 2.0) for i in range(90)]
    for _ in range(2):
        store.write(pts)
        store.write(pts[:10])
        store.flush()
    day = datetime(2026, 1, 5, tzinfo=BERLIN)
    [row] = store.sums("electricity", ["energy_wh"], day, day + timedelta(days=1), "day",
                       BERLIN)
    assert row.values == {"energy_wh": 180.0}
    hours = store.sums("electricity", ["energy_wh"], day, day + timedelta(days=1), "hour",
                       BERLIN)
    assert [h.values["energy_wh"] for h in hours] == [120.0, 60.0]
    assert len(store.points("electricity", T0, T0 + timedelta(hours=2))) == 90
    # An overwrite with a new value replaces the old one in raw and rollups.
    store.write([elec(T0, 12.0)])
    store.flush()
    [row] = store.sums("electricity", ["energy_wh"], day, day + timedelta(days=1), "day",
                       BERLIN)
    assert row.values == {"energy_wh": 190.0}


def test_empty_ranges(store):
    a, b = datetime(2026, 2, 1, tzinfo=BERLIN), datetime(2026, 3, 1, tzinfo=BERLIN)
    assert store.sums("electricity", ["energy_wh"], a, b, "day", BERLIN) == []
    assert store.sums("api_call", ["calls"], a, b, "day", BERLIN) == []
    assert store.points("health", a, b) == []
    assert store.tag_values("meter", "device") == []
    assert store.series("heatpump", "outside_temp_c", a, b, 28).values == [None] * 28
    store.write([elec(a + timedelta(days=3), 1.0)])
    store.flush()
    assert store.sums("electricity", ["energy_wh"], b, b + timedelta(days=3), "day",
                      BERLIN) == []
    assert store.sums("electricity", ["energy_wh"], a, a, "day", BERLIN) == []


ODD = ['with space', 'com,ma', 'eq=uals', 'quo"te', "apo'strophe", 'back\\slash',
       'ünïcödé 🔥 温度', '#hash', '=', ' lead', 'trail ', 'a\\b\\c', '"', "'", 'x=1,y=2 z']


def test_odd_tag_values_and_strings_round_trip(store):
    pts = [Point("health", T0 + timedelta(seconds=i),
                 {"status": "down", "detail": f'detail "{v}" \\ ok\nline 2',
                  "reason": "unreachable"},
                 {"source": "shelly", "device": v}) for i, v in enumerate(ODD)]
    store.write(pts)
    store.flush()
    assert store.tag_values("health", "device") == sorted(ODD)
    got = store.points("health", T0, T0 + timedelta(minutes=1))
    assert [(p.tags["device"], p.fields["detail"]) for p in got] == \
        [(v, f'detail "{v}" \\ ok\nline 2') for v in ODD]
    for i, v in enumerate(ODD):
        latest = store.latest("health", ["detail"], tags={"device": v})
        assert latest["detail"].time == T0 + timedelta(seconds=i), v
        only = store.points("health", T0, T0 + timedelta(minutes=1), tags={"device": v})
        assert len(only) == 1 and only[0].tags == {"source": "shelly", "device": v}


@pytest.mark.parametrize("bad", ["trailing\\", "x\\,y", "x\\ y", "x\\=y", "x\\\\y"])
def test_tag_values_influx_cannot_store_are_refused(store, bad):
    with pytest.raises(ValueError, match="backslash"):
        store.write([meter(T0, 1.0, device=bad)])


def test_points_order_limit_and_merge(store):
    store.write([Point("api_call", T0 + timedelta(seconds=s), {"calls": 1, "status_code": 200},
                       {"source": "vicare", "kind": k})
                 for s in range(5) for k in ("features", "devices")])
    store.flush()
    got = store.points("api_call", T0, T0 + timedelta(minutes=1), limit=3)
    assert [(p.time, p.tags["kind"]) for p in got] == [
        (T0, "devices"), (T0, "features"), (T0 + timedelta(seconds=1), "devices")]
    assert got[0].fields == {"calls": 1, "status_code": 200}
    day = datetime(2026, 1, 5, tzinfo=BERLIN)
    [row] = store.sums("api_call", ["calls"], day, day + timedelta(days=1), "day", BERLIN)
    assert row.values == {"calls": 10.0}
    assert len(store.points("api_call", T0, T0 + timedelta(seconds=2))) == 4


def test_retention_deletes_only_raw_meter_and_heatpump(store):
    now = datetime(2026, 6, 1, tzinfo=UTC)
    old, new = now - timedelta(days=10), now - timedelta(days=1)
    for t in (old, new):
        store.write([meter(t, 500.0), elec(t, 3.0),
                     Point("heatpump", t, {"outside_temp_c": 1.0}, {"device": "hp"}),
                     Point("health", t, {"status": "up"}, {"source": "shelly", "device": "x"})])
    store.flush()
    store.apply_retention(timedelta(days=5), now)
    week = (now - timedelta(days=20), now)
    assert [p.time for p in store.points("meter", *week)] == [new]
    assert [p.time for p in store.points("heatpump", *week)] == [new]
    assert [p.time for p in store.points("electricity", *week)] == [old, new]
    assert [p.time for p in store.points("health", *week)] == [old, new]
    # Rollups of the deleted raw data stay.
    old_day = old.astimezone(BERLIN).replace(hour=0)
    sums = store.sums("meter", ["power_w"], old_day, old_day + timedelta(days=1), "day", BERLIN)
    assert [r.values for r in sums] == [{"power_w": 500.0}]
    assert store.points("meter_1h", *week)[0].fields == {"power_w_sum": 500.0,
                                                         "power_w_count": 1}
    assert store.points("meter_1d", *week)[0].tags == {"device": "shelly1",
                                                       "tz": "Europe/Berlin"}


def test_second_client_sees_flushed_data_only(make_store):
    writer, reader = make_store(), make_store()
    writer.write([meter(T0, 1.0)])
    assert reader.latest("meter") == {}
    writer.flush()
    assert reader.latest("meter")["power_w"].value == 1.0


def test_type_conflict_is_refused_and_the_rest_kept(store):
    store.write([Point("custom", T0, {"x": 1.5}, {"device": "a"})])
    store.flush()
    store.write([Point("custom", T0 + timedelta(seconds=1), {"x": "text"}, {"device": "a"}),
                 Point("custom", T0 + timedelta(seconds=2), {"x": 2.5}, {"device": "a"})])
    with pytest.raises(StoreError, match="conflict"):
        store.flush()
    store.flush()  # the refused value is not retried forever
    got = store.points("custom", T0, T0 + timedelta(minutes=1))
    assert [(p.time - T0).seconds for p in got] == [0, 2]


def test_rebuild_rollups_after_the_zone_changed(make_store):
    utc_store = make_store(UTCZ)
    a = datetime(2026, 1, 10, tzinfo=BERLIN)
    utc_store.write([elec(a + timedelta(minutes=30 * i), 1.0) for i in range(96)])  # 2 days
    utc_store.flush()
    berlin = make_store(BERLIN)
    # No Berlin days yet: the _1d points were written for UTC days.
    assert berlin.tag_values("electricity_1d", "tz") == ["UTC"]
    berlin.rebuild_rollups(a - timedelta(days=1), a + timedelta(days=3))
    assert berlin.tag_values("electricity_1d", "tz") == ["Europe/Berlin", "UTC"]
    days = berlin.sums("electricity", ["energy_wh"], a, a + timedelta(days=2), "day", BERLIN)
    assert [r.values["energy_wh"] for r in days] == [48.0, 48.0]
