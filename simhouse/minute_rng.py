"""numpy's `default_rng([a, b, c, k])` for every minute `k` of a chunk, seeded at once.

The simulated heat pump's sensors carry a little noise that is fixed per minute (a
repeated question gets the same answer): minute `k` of chunk `c` draws from
`np.random.default_rng([seed, 4, c, k])`. Building that generator costs ~25 µs (numpy's
SeedSequence hashes the entropy, then seeds a PCG64), at each of the 288 heat pump polls
of a simulated day. `MinuteSeeds` does numpy's two steps for a whole chunk as array
operations (SeedSequence's entropy mixing and `generate_state`, on uint32 words, as in
numpy/random/bit_generator.pyx) and seeds one reused PCG64 per minute with PCG's own
seeding (pcg64.h, `pcg_setseq_128_srandom_r`): the same generator state, so the same
draws bit for bit (tests/simhouse/test_minute_rng.py compares them with numpy's own).

Entropy words outside one uint32 (a seed of 2**32 or more, or a negative one) take numpy's
own path, which also raises numpy's error for a negative seed.
"""

from __future__ import annotations

import numpy as np

_M32 = 0xFFFF_FFFF
_M128 = (1 << 128) - 1
# numpy's SeedSequence constants (pool of 4 uint32 words)
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = np.uint32(16)
# PCG's default 128-bit multiplier (PCG_DEFAULT_MULTIPLIER_128)
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341


class MinuteSeeds:
    """Generators equal to `default_rng([a, b, c, k])` for k in range(count): `normal(k,
    scale, size)` draws what `default_rng([a, b, c, k]).normal(0.0, scale, size)` draws."""

    def __init__(self, a: int, b: int, c: int, count: int):
        self._entropy = (a, b, c)
        self._words: list[list[int]] | None = None
        if all(0 <= v <= _M32 for v in (a, b, c)) and count <= _M32 + 1:
            self._words = [w.tolist() for w in _seed_words(
                [np.full(count, v, dtype=np.uint32) for v in (a, b, c)]
                + [np.arange(count, dtype=np.uint32)])]
        self._bits = np.random.PCG64(0)
        self._gen = np.random.Generator(self._bits)

    def normal(self, k: int, scale: float, size: int) -> np.ndarray:
        """`size` normal draws (mean 0) of minute `k`'s generator, as numpy draws them."""
        if self._words is None:
            return np.random.default_rng([*self._entropy, k]).normal(0.0, scale, size)
        w = self._words
        state, inc = _pcg_seeded((w[0][k] << 64) | w[1][k], (w[2][k] << 64) | w[3][k])
        self._bits.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                            "has_uint32": 0, "uinteger": 0}
        return self._gen.normal(0.0, scale, size)


def _seed_words(entropy: list[np.ndarray]) -> list[np.ndarray]:
    """SeedSequence(entropy).generate_state(4, np.uint64) for a column of entropies of
    four uint32 words each: the four uint64 words, each as a column."""
    hash_const = _INIT_A

    def hashmix(value: np.ndarray) -> np.ndarray:
        nonlocal hash_const
        value = value ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_A) & _M32
        value = value * np.uint32(hash_const)
        return value ^ (value >> _XSHIFT)

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
        return result ^ (result >> _XSHIFT)

    pool = [hashmix(e) for e in entropy]
    for i_src in range(4):
        for i_dst in range(4):
            if i_src != i_dst:
                pool[i_dst] = mix(pool[i_dst], hashmix(pool[i_src]))
    hash_const = _INIT_B
    state = []
    for i in range(8):  # generate_state: 8 uint32 words, paired little-endian into uint64
        value = pool[i % 4] ^ np.uint32(hash_const)
        hash_const = (hash_const * _MULT_B) & _M32
        value = value * np.uint32(hash_const)
        state.append(value ^ (value >> _XSHIFT))
    return [state[2 * j].astype(np.uint64) | (state[2 * j + 1].astype(np.uint64)
                                              << np.uint64(32)) for j in range(4)]


def _pcg_seeded(init_state: int, init_seq: int) -> tuple[int, int]:
    """(state, inc) of a PCG64 seeded with these 128-bit words, as numpy seeds it."""
    inc = ((init_seq << 1) | 1) & _M128
    state = (inc + init_state) & _M128  # step from 0 (0 * mult + inc), then add the seed
    return (state * _PCG_MULT + inc) & _M128, inc


__all__ = ["MinuteSeeds"]
