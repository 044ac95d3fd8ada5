"""Both decays, counted in whole days of age, and when the worth next changes."""

from __future__ import annotations

import datetime as dt

from connector.scoring.decay import age_days, next_change, worth
from connector.scoring.model import HalfLifeDecay, StepDecay
from tests.scoring._build import act, model, score

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_age_is_whole_days_floor() -> None:
    assert age_days(T0 + dt.timedelta(days=2, hours=23), T0) == 2
    assert age_days(T0, T0) == 0


def test_half_life() -> None:
    half = HalfLifeDecay(half_life_days=7)
    assert worth(10, half, 0) == 10
    assert worth(10, half, 7) == 5
    assert worth(10, half, 14) == 2.5
    assert worth(10, half, 3) == 7.43  # 10 * 0.5 ** (3/7) = 7.4300...
    assert worth(-10, half, 7) == -5


def test_step_decay_never_passes_zero() -> None:
    step = StepDecay(points=2, every_days=10)
    assert [worth(5, step, d) for d in (0, 9, 10, 25, 30, 400)] == [5, 5, 3, 1, 0, 0]
    assert worth(-5, step, 10) == -3


def test_decay_in_a_rule_sums_decayed_activities() -> None:
    m = model(
        """
        model: m
        dimensions: {e: {}}
        rules: [{id: r, dimension: e, points: 8, activity: {types: [download], decay: {half_life_days: 10}}}]
        """
    )
    result = score(m, activities=[act("download", 0.5), act("download", 10.2), act("download", 20.9)])
    assert result.dimensions["e"] == 14  # 8 + 4 + 2 (ages 0, 10, 20 whole days)


def test_next_change() -> None:
    as_of = T0 + dt.timedelta(days=3, hours=6)
    assert next_change(T0, as_of, 10, HalfLifeDecay(half_life_days=7), None) == T0 + dt.timedelta(days=4)
    assert next_change(T0, as_of, 10, StepDecay(points=1, every_days=5), None) == T0 + dt.timedelta(days=5)
    assert next_change(T0, as_of, 10, None, 30) == T0 + dt.timedelta(days=30, microseconds=1)
    assert next_change(T0, as_of, 10, None, None) is None
    # fully decayed: nothing changes any more
    assert next_change(T0, T0 + dt.timedelta(days=50), 2, StepDecay(points=1, every_days=5), None) is None
    assert next_change(T0, T0 + dt.timedelta(days=400), 1, HalfLifeDecay(half_life_days=7), None) is None
