"""SortedKeys (the modification-date index) answers as the sorted list it replaced."""

from __future__ import annotations

import bisect
import random

from connector.sandbox.hubspot.sortedkeys import LOAD, SortedKeys


def test_matches_a_sorted_list_through_adds_removes_splits_and_emptied_blocks() -> None:
    rng = random.Random(11)
    keys, plain = SortedKeys(), []
    for step in range(6 * LOAD):
        if plain and rng.random() < 0.3:
            key = rng.choice(plain) if rng.random() < 0.9 else (rng.randrange(500), 10**9)  # absent keys are ignored
            keys.remove(key)
            if key in plain:
                plain.remove(key)
        else:
            key = (rng.randrange(500) if step % 3 else 500 + step, step)  # some in the middle, most at the end (a write's new stamp)
            keys.add(key)
            bisect.insort(plain, key)
        if step % 97 == 0:
            assert list(keys) == plain and len(keys) == len(plain)
            probe = (rng.randrange(-5, 600 + step), rng.randrange(6 * LOAD))
            assert keys.bisect_left(probe) == bisect.bisect_left(plain, probe)
            assert keys.bisect_right(probe) == bisect.bisect_right(plain, probe)
            a, b = sorted(rng.randrange(-3, len(plain) + 3) for _ in range(2))
            assert keys[a:b] == plain[a:b] and keys[a:] == plain[a:] and keys[:b] == plain[:b]
    for key in list(plain):  # empty every block
        keys.remove(key)
    assert len(keys) == 0 and list(keys) == [] and keys[0:5] == [] and keys.bisect_right((1, 1)) == 0
