"""The per-minute noise generators seeded a chunk at a time draw what numpy's own
`default_rng([a, b, c, k])` draws, bit for bit (the demo's stored points depend on it)."""

from __future__ import annotations

import numpy as np
import pytest

from simhouse.minute_rng import MinuteSeeds


def numpy_draws(entropy: list[int], scale: float, size: int) -> bytes:
    return np.random.default_rng(entropy).normal(0.0, scale, size).tobytes()


@pytest.mark.parametrize(("a", "b", "c"), [
    (1, 4, 0), (1, 4, 17), (7, 4, 365), (0, 0, 0), (2**32 - 1, 4, 2**32 - 1),
    (123456789, 4, 40000)])
def test_every_minute_draws_what_numpy_draws(a: int, b: int, c: int) -> None:
    seeds = MinuteSeeds(a, b, c, 1440)
    for k in (*range(0, 1440, 7), 1439):
        assert seeds.normal(k, 0.05, 4).tobytes() == numpy_draws([a, b, c, k], 0.05, 4), k


def test_minutes_asked_in_any_order_and_again_draw_the_same() -> None:
    seeds = MinuteSeeds(3, 4, 9, 1440)
    first = {k: seeds.normal(k, 0.05, 4).tobytes() for k in (900, 5, 1300, 5, 0)}
    for k, drawn in first.items():
        assert seeds.normal(k, 0.05, 4).tobytes() == drawn == numpy_draws([3, 4, 9, k],
                                                                            0.05, 4)
    assert seeds.normal(77, 2.0, 9).tobytes() == numpy_draws([3, 4, 9, 77], 2.0, 9)


def test_entropy_beyond_one_word_takes_numpys_own_path() -> None:
    big = MinuteSeeds(2**40 + 5, 4, 3, 10)
    assert big.normal(6, 0.05, 4).tobytes() == numpy_draws([2**40 + 5, 4, 3, 6], 0.05, 4)
    with pytest.raises(ValueError):  # numpy refuses a negative seed; so does this
        MinuteSeeds(-1, 4, 3, 10).normal(0, 0.05, 4)
