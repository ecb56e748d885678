"""Rounding a day of simulated meter values at once, bit for bit as the float-by-float
operations a device's firmware (and Python's `round`) would do: the simulated Shelly's
answers (simhouse/shelly.py) and its per-minute records (simhouse/shelly_records.py)."""

from __future__ import annotations

import numpy as np


def floor_each(values: np.ndarray, digits: int) -> np.ndarray:
    """Each value truncated to `digits` decimals, as a meter's counter reads (it never runs
    ahead of the energy): floor(v * 10**digits + 1e-6) / 10**digits, the 1e-6 absorbing
    the float error of a value already on the grid. The same operations, in the same
    order, as a float-by-float computation, so the same floats."""
    scale = 10.0 ** digits
    return np.floor(values * scale + 1e-6) / scale


def round_each(values: np.ndarray, digits: int) -> np.ndarray:
    """`round(v, digits)` of every value, bit for bit as Python's `round`, for an array.

    Python rounds a float's exact decimal value to `digits` places (half to even) and
    returns the float nearest to that decimal. Here each value is scaled by 10**digits,
    rounded to a whole number and divided back: the division gives the float nearest to
    that decimal too, and the whole number is Python's wherever the scaled value's own
    rounding error (a few units in its last place) cannot carry it across a half. The
    values that near a half, and those too large or not finite, are rounded by `round`
    itself. Used for a day of simulated answers, and a page of records, at once;
    tests/simhouse/test_shelly.py
    checks it against `round`."""
    scale = 10.0 ** digits
    scaled = values * scale
    out = np.rint(scaled) / scale
    with np.errstate(invalid="ignore"):  # inf - inf: nan, rounded by `round` below
        distance = np.abs(scaled - np.floor(scaled) - 0.5)  # from the nearest half
    awkward = np.flatnonzero(
        ~((distance > 4 * np.spacing(np.abs(scaled))) & (np.abs(scaled) < 2.0 ** 52)))
    if len(awkward):  # a Gen1 3EM's phase powers are ties every tenth step
        out[awkward] = [round(v, digits) for v in values[awkward].tolist()]
    return out
