"""``round2_array`` is bit for bit the scalar ``round2`` (halves, negatives, sums of 2-decimal values)."""

from __future__ import annotations

import random

import numpy as np

from connector.scoring.batch import round2_array
from connector.scoring.result import round2


def test_round2_array_is_bitwise_the_scalar_formula() -> None:
    rng = random.Random(3)
    values = [k / 1000 for k in range(-20000, 20000, 5)]  # every x.xx5 half in range
    values += [rng.uniform(-1e6, 1e6) for _ in range(20000)]
    values += [sum(rng.choice([0.01, 0.1, 2.5, 3.33, -1.07]) for _ in range(rng.randint(1, 30))) for _ in range(5000)]
    values += [1.005, 2.675, 0.125, -0.125, 49.995, 1e15 + 0.5, 0.0, -0.0]
    got = round2_array(np.array(values, dtype=np.float64))
    want = np.array([round2(v) for v in values], dtype=np.float64)
    assert got.tobytes() == want.tobytes()
