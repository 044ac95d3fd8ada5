"""The modification-date index of an object type: sorted ``(modified ms, id)`` keys, kept in blocks.

Why blocks: a write moves its record from wherever its old stamp sorted to the end. In one flat
list, taking the old key out shifts every key after it: 0.14 ms per write at 1,000,000 contacts,
so a 1,000,000-contact sync's 10,000 batch updates (100 contacts each) spent about 680 s of the
sandbox's time under its lock, against 42 s at 200,000. In blocks of at most ``2 * LOAD`` keys a
removal shifts one block; finding a position is a bisect over the blocks' last keys, then inside
one block. Search reads it like the list it replaces: ``len``, ``bisect_left``/``bisect_right``
giving positions in the whole order, and slices by those positions.
"""

from __future__ import annotations

import bisect
import itertools
import typing as t

__all__ = ["SortedKeys"]

Key = tuple[int, int]

#: Keys per block after a split (a block splits in two when it passes twice this).
LOAD = 1000


class SortedKeys:
    """Unique ``(ms, id)`` keys in ascending order (see the module docstring)."""

    def __init__(self) -> None:
        self._blocks: list[list[Key]] = []
        self._maxes: list[Key] = []
        self._starts: list[int] | None = None
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> t.Iterator[Key]:
        return itertools.chain.from_iterable(self._blocks)

    def add(self, key: Key) -> None:
        """Insert ``key`` in order (the common case, a key after all others, appends)."""
        if not self._blocks:
            self._blocks, self._maxes = [[key]], [key]
        else:
            i = min(bisect.bisect_left(self._maxes, key), len(self._blocks) - 1)
            block = self._blocks[i]
            if key > block[-1]:
                block.append(key)
            else:
                bisect.insort(block, key)
            self._maxes[i] = block[-1]
            if len(block) > 2 * LOAD:
                self._blocks[i : i + 1] = [block[:LOAD], block[LOAD:]]
                self._maxes[i : i + 1] = [block[LOAD - 1], block[-1]]
        self._len += 1
        self._starts = None

    def remove(self, key: Key) -> None:
        """Take ``key`` out (nothing happens when it is not there)."""
        i = bisect.bisect_left(self._maxes, key)
        if i == len(self._blocks):
            return
        block = self._blocks[i]
        j = bisect.bisect_left(block, key)
        if j == len(block) or block[j] != key:
            return
        del block[j]
        if block:
            self._maxes[i] = block[-1]
        else:
            del self._blocks[i], self._maxes[i]
        self._len -= 1
        self._starts = None

    def _block_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *itertools.accumulate(len(b) for b in self._blocks)]
        return self._starts

    def bisect_left(self, key: Key) -> int:
        """How many keys are less than ``key``."""
        i = bisect.bisect_left(self._maxes, key)
        return self._len if i == len(self._blocks) else self._block_starts()[i] + bisect.bisect_left(self._blocks[i], key)

    def bisect_right(self, key: Key) -> int:
        """How many keys are at most ``key``."""
        i = bisect.bisect_right(self._maxes, key)
        return self._len if i == len(self._blocks) else self._block_starts()[i] + bisect.bisect_right(self._blocks[i], key)

    def __getitem__(self, positions: slice) -> list[Key]:
        """The keys at ``positions`` (a slice without a step; bounds as for a list)."""
        start, stop, step = positions.indices(self._len)
        if step != 1:
            raise ValueError("SortedKeys slices have no step")
        if start >= stop:
            return []
        starts = self._block_starts()
        out: list[Key] = []
        i = bisect.bisect_right(starts, start) - 1
        while i < len(self._blocks) and starts[i] < stop:
            out.extend(self._blocks[i][max(0, start - starts[i]) : stop - starts[i]])
            i += 1
        return out
