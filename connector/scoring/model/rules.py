"""The scoring parts of the schema: dimensions, the total, rules (property and activity), decay, exclusions."""

from __future__ import annotations

import typing as t

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from connector.scoring.model.base import NAME, Strict
from connector.scoring.model.conditions import When

__all__ = ["ActivityMatch", "Bounds", "Decay", "Dimension", "Exclusion", "HalfLifeDecay", "PredictiveSpec", "Rule", "StepDecay", "Total"]


class HalfLifeDecay(Strict):
    """Points halve every ``half_life_days``; age is counted in whole days (floor)."""

    half_life_days: float = Field(gt=0)


class StepDecay(Strict):
    """Points shrink by ``points`` every ``every_days`` whole days, never past zero."""

    points: float = Field(gt=0)
    every_days: int = Field(gt=0)


def _decay_kind(value: t.Any) -> str:
    if isinstance(value, dict):
        return "<half_life>" if "half_life_days" in value else "<step>"
    return "<half_life>" if isinstance(value, HalfLifeDecay) else "<step>"


Decay = t.Annotated[
    t.Annotated[HalfLifeDecay, Tag("<half_life>")] | t.Annotated[StepDecay, Tag("<step>")],
    Discriminator(_decay_kind),
]


class ActivityMatch(Strict):
    """Which activities a rule counts, and how much each one is worth over time.

    ``max_times`` keeps the most recent N matching activities; ``max_points`` caps the rule's
    total (by absolute value, so it also caps negative rules). ``within_days`` counts only
    activities whose age (as_of - occurred_at) is at most that many days; activities after
    ``as_of`` are ignored.
    """

    types: list[str] = Field(min_length=1)
    where: list[When] = Field(default_factory=list)
    within_days: float | None = Field(default=None, gt=0)
    max_times: int | None = Field(default=None, gt=0)
    max_points: float | None = Field(default=None, gt=0)
    decay: Decay | None = None

    @field_validator("types", mode="before")
    @classmethod
    def _one_type(cls, value: t.Any) -> t.Any:
        return [value] if isinstance(value, str) else value


class Rule(Strict):
    """Points for a property condition (``when``) or for activities (``activity``), not both."""

    id: str
    label: str | None = None
    dimension: str
    points: float
    when: When | None = None
    activity: ActivityMatch | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if not NAME.match(self.id):
            raise ValueError(f"rule id {self.id!r} must start with a letter and use letters, digits, _ or -")
        if (self.when is None) == (self.activity is None):
            raise ValueError("a rule has exactly one of 'when' (property rule) or 'activity' (activity rule)")
        if self.points == 0:
            raise ValueError("a rule with 0 points does nothing; remove it or give it points")
        return self

    @property
    def display(self) -> str:
        """What a rep reads in the explanation."""
        return self.label or self.id.replace("_", " ")


class PredictiveSpec(Strict):
    """A dimension whose value (0..100) is a learned probability, read from a JSON model file.

    ``model_file`` is relative to the YAML file that names it; see ``connector.scoring.predictive``.
    """

    model_file: str


class Bounds(Strict):
    """A value clamped to [floor, ceiling] (0..100 unless written otherwise)."""

    floor: float = 0
    ceiling: float = 100

    @model_validator(mode="after")
    def _check(self) -> t.Self:
        if self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


class Dimension(Bounds):
    """A scored axis, clamped to [floor, ceiling]; ``weight`` is its share in the total."""

    weight: float = 1.0
    predictive: PredictiveSpec | None = None


class Total(Bounds):
    """Bounds of the weighted total."""


class Exclusion(Strict):
    """A contact matching ``when`` gets no stage, no triggers and the floor as its scores."""

    id: str
    reason: str
    when: When
