"""The store's point checks (heatpump/store/common.py, normalize): a batch is checked a shape
and a column at a time on its fast path, point by point on the exact path; both must give
the same rows and, for a bad batch, the error of its first bad point."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heatpump.store.base import Point
from heatpump.store.common import _rows_exact, _rows_fast, normalize
from heatpump.store.sqlite import SQLiteStore
from tests.conftest import BERLIN

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def meter(t: datetime, device: str = "d", **fields: object) -> Point:
    return Point("meter", t, fields, {"device": device})


def heat(t: datetime, wh: object, duration: object = 300.0, estimate: object = False) -> Point:
    return Point("heat", t, {"energy_wh": wh, "duration_s": duration, "estimate": estimate},
                 {"device": "hp", "method": "counter", "circuit": "total"})


def error_of(points: list[Point]) -> str | None:
    try:
        normalize(points)
    except ValueError as exc:
        return str(exc)
    return None


def exact_error_of(points: list[Point]) -> str | None:
    try:
        _rows_exact(points, None)
    except ValueError as exc:
        return str(exc)
    return None


# Values of every kind a collector (or a caller's bug) may hand over for a float, int or
# bool field: the right type, an int for a float (converted), and what is refused.
ANY_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**40, 2**40),
    st.booleans(), st.sampled_from(["1.5", ""]),
    st.sampled_from([1e308, -1e308, 5e-324, 0.0, -0.0]))


@st.composite
def batches(draw: st.DrawFn, value: st.SearchStrategy[object]) -> list[Point]:
    """A batch of meter, heat and heat pump points in any order, several series and times
    (some naive), with values drawn from `value`."""
    out = []
    for i in range(draw(st.integers(1, 30))):
        when = T0 + timedelta(seconds=draw(st.integers(0, 10_000)))
        if draw(st.integers(0, 40)) == 0:
            when = when.replace(tzinfo=None)
        elif draw(st.booleans()):
            when = when.astimezone(BERLIN)  # another zone: the same instant
        kind = draw(st.sampled_from(["meter", "meter2", "heat", "heatpump"]))
        if kind == "meter":
            out.append(meter(when, power_w=draw(value), energy_import_wh=draw(value)))
        elif kind == "meter2":
            out.append(meter(when, device=f"m{i % 3}", power_w=draw(value),
                             uptime_s=draw(st.one_of(st.integers(0, 10**9), value))))
        elif kind == "heat":
            out.append(heat(when, draw(value), draw(value),
                            draw(st.one_of(st.booleans(), value))))
        else:
            out.append(Point("heatpump", when, {"outside_temp_c": draw(value),
                                                 "compressor_starts": draw(
                                                     st.one_of(st.integers(0, 99), value))},
                             {"device": "hp"}))
    return out


@settings(max_examples=300, deadline=None)
@given(batches(ANY_VALUE))
def test_the_fast_path_gives_the_exact_paths_rows_or_its_first_error(points: list[Point]):
    exact_error = exact_error_of(points)
    assert error_of(points) == exact_error
    if exact_error is None:
        rows, _order = normalize(points)
        exact = _rows_exact(points, None)
        assert list(rows) == list(exact)  # the same shapes, in the order of first points
        for shape in rows:  # to the bit, and of the same types
            assert [tuple(map(repr, r)) for r in rows[shape]] == \
                [tuple(map(repr, r)) for r in exact[shape]]


@st.composite
def right_batches(draw: st.DrawFn) -> list[Point]:
    """Points whose values are all of their schema type and finite (no sum overflows)."""
    real = st.floats(-1e300, 1e300)
    out = []
    for _ in range(draw(st.integers(1, 30))):
        when = T0 + timedelta(seconds=draw(st.integers(0, 10_000)))
        kind = draw(st.sampled_from(["meter", "heat", "heatpump"]))
        if kind == "meter":
            out.append(meter(when, device=draw(st.sampled_from("ab")), power_w=draw(real),
                             uptime_s=draw(st.integers(0, 10**9))))
        elif kind == "heat":
            out.append(heat(when, draw(real), draw(real), draw(st.booleans())))
        else:
            out.append(Point("heatpump", when, {"outside_temp_c": draw(real),
                                                 "compressor_starts": draw(st.integers())},
                             {"device": "hp"}))
    return out


@settings(max_examples=100, deadline=None)
@given(right_batches())
def test_a_batch_of_right_types_and_finite_values_takes_the_fast_path(points: list[Point]):
    fast = _rows_fast(points, None)
    assert fast is not None
    assert fast == _rows_exact(points, None)


def test_the_first_bad_point_of_a_batch_names_the_error():
    nan_first = [meter(T0, power_w=1.0), meter(T0, power_w=float("nan")),
                 meter(T0, powr_w=1.0), meter(datetime(2026, 1, 1), power_w=1.0)]
    assert "not a finite number" in error_of(nan_first)
    assert "no field 'powr_w'" in error_of([nan_first[0], *nan_first[2:], nan_first[1]])
    assert "naive" in error_of([nan_first[0], nan_first[3], nan_first[1]])
    assert "schema type is int, got bool" in error_of(
        [heat(T0, 1.0), Point("heatpump", T0, {"compressor_starts": True}, {"device": "hp"}),
         meter(T0, power_w=float("inf"))])


def test_values_whose_sum_overflows_are_each_finite_and_stored(tmp_path: Path):
    """The fast path checks a float column by its sum; a sum that overflows only means the
    exact way, which takes the values."""
    store = SQLiteStore(tmp_path / "s.sqlite3", ZoneInfo("UTC"))
    store.write([meter(T0, power_w=1e308), meter(T0 + timedelta(seconds=10), power_w=1e308),
                 meter(T0 + timedelta(seconds=20), power_w=5)])  # an int: stored as float
    store.flush()
    got = store.points("meter", T0, T0 + timedelta(minutes=1))
    assert [(p.fields["power_w"], type(p.fields["power_w"])) for p in got] == \
        [(1e308, float), (1e308, float), (5.0, float)]
    store.close()


def test_rows_of_several_writes_are_flushed_in_order(tmp_path: Path):
    """Writes before a flush are merged per shape in their order: a point written again
    later in the same flush wins, and every point is stored once."""
    store = SQLiteStore(tmp_path / "s.sqlite3", BERLIN)
    store.write([meter(T0, power_w=1.0), meter(T0, device="e", power_w=7.0)])
    store.write([meter(T0 + timedelta(seconds=10), power_w=2.0)])
    store.write([meter(T0, power_w=3.0)])  # the same point again: the last value wins
    store.flush()
    got = store.points("meter", T0, T0 + timedelta(minutes=1))
    assert [(p.time, p.tags["device"], p.fields["power_w"]) for p in got] == [
        (T0, "d", 3.0), (T0, "e", 7.0), (T0 + timedelta(seconds=10), "d", 2.0)]
    store.close()


def test_keep_order_gives_each_points_shape_in_turn():
    points = [meter(T0, power_w=1.0), heat(T0, 2.0), meter(T0, power_w=3.0, uptime_s=4),
              meter(T0, power_w=5.0)]
    rows, order = normalize(points, keep_order=True)
    assert [(s.measurement, s.names) for s in order] == [
        ("meter", ("power_w",)), ("heat", ("energy_wh", "duration_s", "estimate")),
        ("meter", ("power_w", "uptime_s")), ("meter", ("power_w",))]
    assert rows[order[0]] == [(int(T0.timestamp() * 1000), 1.0),
                              (int(T0.timestamp() * 1000), 5.0)]
    with pytest.raises(ValueError, match="finite"):  # a bad batch gives no order either
        normalize([*points, meter(T0, power_w=float("-inf"))], keep_order=True)
