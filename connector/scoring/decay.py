"""How much one activity is worth at a given age, and when that worth next changes.

Kept apart from the engine because the batch engine and ``changes_at`` need exactly the same
arithmetic (docs/scoring-semantics.md, sections 6 and 13).
"""

from __future__ import annotations

import datetime as dt

from connector.scoring.model import Decay, HalfLifeDecay
from connector.scoring.result import round2

__all__ = ["DAY", "age_days", "next_change", "worth"]

DAY = dt.timedelta(days=1)
_TICK = dt.timedelta(microseconds=1)


def age_days(as_of: dt.datetime, occurred_at: dt.datetime) -> int:
    """Whole days between the activity and ``as_of`` (floor), the unit every decay counts in."""
    return (as_of - occurred_at) // DAY


def worth(points: float, decay: Decay | None, age: int) -> float:
    """The 2-decimal worth of one activity of a rule giving ``points``, ``age`` whole days old."""
    if decay is None:
        return round2(points)
    if isinstance(decay, HalfLifeDecay):
        return round2(points * 0.5 ** (age / decay.half_life_days))
    step = decay
    left = max(0.0, abs(points) - step.points * (age // step.every_days))
    return round2(left if points >= 0 else -left)


def next_change(
    occurred_at: dt.datetime,
    as_of: dt.datetime,
    points: float,
    decay: Decay | None,
    within_days: float | None,
) -> dt.datetime | None:
    """The earliest instant after ``as_of`` at which this counted activity's worth changes.

    Half-life: the next whole-day boundary while the worth has not yet rounded to 0. Step: the
    next step while the worth is not 0. Window: the first microsecond past ``within_days``.
    """
    age = age_days(as_of, occurred_at)
    candidates: list[dt.datetime] = []
    if decay is not None and worth(points, decay, age) != 0:
        if isinstance(decay, HalfLifeDecay):
            candidates.append(occurred_at + (age + 1) * DAY)
        else:
            n = decay.every_days
            candidates.append(occurred_at + (age // n + 1) * n * DAY)
    if within_days is not None:
        candidates.append(occurred_at + dt.timedelta(days=within_days) + _TICK)
    return min(candidates) if candidates else None
