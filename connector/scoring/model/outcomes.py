"""What follows from the scores: grades and the matrix, lifecycle stages, triggers and their actions."""

from __future__ import annotations

import typing as t

from pydantic import Discriminator, Field, Tag, model_validator

from connector.scoring.model.base import Strict
from connector.scoring.model.conditions import When

__all__ = ["Band", "GradeSpec", "Level", "MatrixSpec", "Need", "Stage", "StageSpec", "Threshold", "Trigger", "TriggerAction", "TriggerOn", "level_of", "reaches"]


class Band(Strict):
    """A grade label reached at ``min`` or above; the last band may omit ``min`` (catch-all)."""

    label: str
    min: float | None = None


class GradeSpec(Strict):
    """Letter grade from one dimension (or ``total``); bands are listed highest first."""

    dimension: str
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> GradeSpec:
        mins = [b.min for b in self.bands]
        if any(m is None for m in mins[:-1]):
            raise ValueError("only the last band may omit 'min'")
        numeric = [m for m in mins if m is not None]
        if numeric != sorted(numeric, reverse=True) or len(set(numeric)) != len(numeric):
            raise ValueError("bands must be listed from the highest 'min' to the lowest, without repeats")
        return self


class MatrixSpec(Strict):
    """HubSpot-style matrix label: row band label + column band label (e.g. ``A`` + ``1`` = ``A1``)."""

    rows: GradeSpec
    columns: GradeSpec


#: A lower bound as engines use it: ``(strict, bound)``; strict means ``value > bound``, else ``>=``.
Level = tuple[bool, float]


def reaches(value: float, level: Level) -> bool:
    """Whether ``value`` is above (strict) or at or above a :data:`Level`; both engines mean this."""
    strict, bound = level
    return value > bound if strict else value >= bound


class Threshold(Strict):
    """A stage threshold written as a mapping: ``{gte: N}`` (N or more) or ``{gt: N}`` (more than N).

    A bare number ``N`` stays a number and means ``{gte: N}``. "Above 50" used to need ``50.01``;
    ``gt`` says it, and stays right whatever the rounding.
    """

    gt: float | None = None
    gte: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: t.Any) -> t.Any:
        if isinstance(value, dict):
            unknown = sorted(str(k) for k in value if k not in ("gt", "gte"))
            if unknown or len(value) != 1:
                got = f"got {', '.join(unknown)}" if unknown else f"got {len(value)} keys"
                raise ValueError(f"a threshold is a number (that value or more), {{gte: N}} (the same) or {{gt: N}} (more than N), with one key; {got}")
        return value

    @property
    def level(self) -> Level:
        """``(strict, bound)`` for :func:`reaches`."""
        return (True, self.gt) if self.gt is not None else (False, t.cast(float, self.gte))


def _threshold_kind(value: t.Any) -> str:
    return "<level>" if isinstance(value, (dict, Threshold)) else "<number>"


#: What a stage's ``thresholds`` map a dimension to: a number (that value or more) or a :class:`Threshold`.
Need = t.Annotated[t.Annotated[float, Tag("<number>")] | t.Annotated[Threshold, Tag("<level>")], Discriminator(_threshold_kind)]


def level_of(need: float | Threshold) -> Level:
    """The :data:`Level` of a stage threshold, whichever way it was written."""
    return need.level if isinstance(need, Threshold) else (False, need)


class Stage(Strict):
    """A lifecycle stage and the conditions that reach it.

    Parts: ``thresholds`` (every named dimension or ``total`` at or above its value, or above it
    with ``{gt: N}``),
    ``activities`` (any of these activity types ever happened, anonymous history included),
    ``when`` (a property condition, e.g. the CRM says the contact is a customer). ``match: any``
    reaches the stage when any present part holds, ``all`` when every present part holds.
    A stage with no parts is the entry stage every (non-excluded) contact has at least.
    ``reset_on_enter`` names dimensions whose activity points and adjustments count only from
    the moment this stage is entered.
    """

    name: str
    thresholds: dict[str, Need] = Field(default_factory=dict)
    activities: list[str] = Field(default_factory=list)
    when: When | None = None
    match: t.Literal["any", "all"] = "any"
    reset_on_enter: list[str] = Field(default_factory=list)


class StageSpec(Strict):
    """Ordered stages, lowest first; by default a contact never moves back down."""

    order: list[Stage] = Field(min_length=1)
    allow_regression: bool = False

    @model_validator(mode="after")
    def _check(self) -> StageSpec:
        names = [s.name for s in self.order]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"stage names repeat: {', '.join(dupes)}")
        return self


class TriggerOn(Strict):
    """What a trigger watches: a dimension/``total`` reaching a level, or a stage reached.

    The level is ``gte: N`` (N or more) or ``gt: N`` (more than N). ``above: N`` is the first
    spelling of ``gte: N`` (it fires at N too) and keeps working in existing models.
    """

    dimension: str | None = None
    gt: float | None = None
    gte: float | None = None
    above: float | None = None
    stage: str | None = None

    @model_validator(mode="after")
    def _check(self) -> TriggerOn:
        levels = [k for k in ("gt", "gte", "above") if getattr(self, k) is not None]
        if self.stage is not None:
            if self.dimension is not None or levels:
                raise ValueError("a trigger watches either a stage or a dimension with 'gt'/'gte', not both")
        elif self.dimension is None or len(levels) != 1:
            got = f" (got {', '.join(levels)})" if len(levels) > 1 else ""
            raise ValueError(f"a trigger needs 'stage: NAME', or 'dimension: NAME' with one of 'gte: N' (N or more) or 'gt: N' (more than N){got}")
        return self

    @property
    def level(self) -> Level:
        """``(strict, bound)`` for :func:`reaches` (dimension triggers only)."""
        if self.gt is not None:
            return True, self.gt
        return False, t.cast(float, self.gte if self.gte is not None else self.above)


class TriggerAction(Strict):
    """An action the sync carries out when the trigger fires.

    ``add_to_list``: ``list``; ``remove_from_list``: ``list``; ``set_property``: ``property`` and
    ``value``; ``create_task``: ``subject`` (``body``, ``due_days`` optional) for the owner;
    ``webhook``: ``url``.
    """

    type: t.Literal["add_to_list", "remove_from_list", "set_property", "create_task", "webhook"]
    list: str | None = None
    property: str | None = None
    value: t.Any = None
    subject: str | None = None
    body: str | None = None
    due_days: int = 1
    url: str | None = None

    @model_validator(mode="after")
    def _check(self) -> TriggerAction:
        needs = {
            "add_to_list": ("list",),
            "remove_from_list": ("list",),
            "set_property": ("property", "value"),
            "create_task": ("subject",),
            "webhook": ("url",),
        }[self.type]
        missing = [k for k in needs if getattr(self, k) is None]
        if missing:
            raise ValueError(f"action '{self.type}' needs: {', '.join(missing)}")
        return self


class Trigger(Strict):
    """Fires once per upward crossing; re-arms when the watched value falls back below.

    The key is ``watch`` rather than ``on`` because YAML 1.1 reads a bare ``on`` as ``true``.
    """

    id: str
    watch: TriggerOn
    actions: list[TriggerAction] = Field(min_length=1)
