"""IdSet: what the pass after the pull leaves out is exactly what the run scored from its pages."""

from __future__ import annotations

import random

import pytest

from connector.sync import idset
from connector.sync.idset import IdSet


def test_without_matches_a_set_for_ids_of_any_width_and_text() -> None:
    rng = random.Random(4)
    pool = [str(rng.randrange(10**12)) for _ in range(3000)] + ["00Q5g00000AbCdEfGH", "a", "é-contact", "x" * 40, "1", "10", "100"]
    scored: IdSet = IdSet()
    expected: set[str] = set()
    for _ in range(30):  # pages of different widths
        page = rng.sample(pool, rng.randrange(0, 120))
        scored.add(page)
        expected.update(page)
    candidates = [*sorted(pool), "never-added", ""]
    assert scored.without(candidates) == [c for c in candidates if c not in expected]
    assert len(scored) >= len(expected)


def test_empty_cases() -> None:
    scored = IdSet()
    assert scored.without(["1", "2"]) == ["1", "2"]
    scored.add([])
    assert len(scored) == 0
    scored.add(["2"])
    assert scored.without([]) == []
    assert scored.without(["1", "2", "3"]) == ["1", "3"]
    assert len(scored) == 1


def test_without_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "_SLICE", 7)
    scored = IdSet()
    scored.add([str(i) for i in range(0, 100, 3)])
    assert scored.without([str(i) for i in range(100)]) == [str(i) for i in range(100) if i % 3]
