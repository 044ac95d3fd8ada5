"""Weighted random choice for generated demo data (shared by the sandboxes' seeders).

``random.choices`` recomputes cumulative weights on every call; a seeder picks a title, a country
and a size for each of 100,000 people, so the cumulative weights are computed once here.
"""

from __future__ import annotations

import bisect
import itertools
import random
import typing as t

__all__ = ["WeightedChoice"]


class WeightedChoice:
    """Pick among ``(value, weight)`` pairs with a caller's seeded ``random.Random``."""

    def __init__(self, items: t.Sequence[tuple[t.Any, int]]) -> None:
        self.values = [i[0] for i in items]
        self.cum = list(itertools.accumulate(i[1] for i in items))

    def __call__(self, rng: random.Random) -> t.Any:
        """One value, drawn with ``rng``."""
        return self.values[bisect.bisect_right(self.cum, rng.random() * self.cum[-1])]
