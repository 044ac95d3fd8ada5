"""The scoring-model schema: what a RevOps admin may write in a model YAML file.

Validated once, at the edge, by :func:`connector.scoring.loader.load_model`; everything downstream
(per-contact engine, batch engine, predictive learner that *writes* these files) relies on the
invariants checked here and never re-validates.

A model file looks like (see ``mappings/models/*.yaml`` for documented, complete examples)::

    model: product-a
    dimensions:
      fit:        {floor: 0, ceiling: 100}
      engagement: {floor: 0, ceiling: 100, weight: 1.5}
    total: {floor: 0, ceiling: 250}
    rules:
      - id: title_marketing
        label: job title Marketing
        dimension: fit
        points: 25
        when: {property: job_title, op: contains, value: marketing}
      - id: pricing_views
        label: pricing page views
        dimension: engagement
        points: 5
        activity:
          types: [page_view]
          where: [{attribute: url, op: contains, value: /pricing}]
          within_days: 90
          max_times: 4
          decay: {half_life_days: 30}
    exclusions: [...]
    grade: {dimension: fit, bands: [{label: A, min: 75}, {label: B, min: 50}, {label: C}]}
    matrix: {...}
    stages: {...}
    triggers: [...]
    outputs: {...}
"""

from __future__ import annotations

import builtins
import re
import typing as t

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from connector.yamlfile import LocatedError

__all__ = [
    "TOTAL",
    "ActivityMatch",
    "AllOf",
    "AnyOf",
    "Band",
    "Condition",
    "Decay",
    "Dimension",
    "Exclusion",
    "GradeSpec",
    "HalfLifeDecay",
    "Level",
    "MatrixSpec",
    "Operator",
    "Outputs",
    "PredictiveSpec",
    "Rule",
    "ScoringModel",
    "Stage",
    "StageSpec",
    "StepDecay",
    "Threshold",
    "Total",
    "Trigger",
    "TriggerAction",
    "TriggerOn",
    "When",
    "reaches",
]

#: Name that triggers and stage thresholds use for the weighted total.
TOTAL = "total"

Operator = t.Literal[
    "eq",
    "ne",
    "in",
    "not_in",
    "contains",
    "starts_with",
    "ends_with",
    "regex",
    "gt",
    "gte",
    "lt",
    "lte",
    "between",
    "exists",
    "missing",
    "email_domain_in",
]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


class _Strict(BaseModel):
    """Unknown keys are errors: a typo in a model must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """One test on a contact property (``property``) or an activity attribute (``attribute``).

    Semantics (implemented in ``connector.scoring.conditions``):
    - string comparisons are case-insensitive unless ``case_sensitive: true``;
    - ``gt/gte/lt/lte/between`` compare numbers (values that do not parse as numbers never match);
    - ``in/not_in/email_domain_in/between`` take a list (``between``: ``[low, high]``, inclusive);
    - ``contains/starts_with/ends_with/regex`` take one value or a list (any item matches);
    - ``exists``/``missing`` take no value; blank strings and placeholder values count as missing;
    - ``email_domain_in`` matches the part after ``@`` (or the whole value if it is a bare domain),
      including sub-domains (``mail.acme.com`` is in ``[acme.com]``);
    - a missing value never matches any operator except ``missing`` and ``ne``/``not_in``, which
      are false for a missing value too (use ``missing`` explicitly).
    """

    property: str | None = None
    attribute: str | None = None
    op: Operator = "eq"
    value: t.Any = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _check(self) -> Condition:
        if (self.property is None) == (self.attribute is None):
            raise ValueError("a condition names exactly one of 'property' or 'attribute'")
        if self.op in ("exists", "missing"):
            if self.value is not None:
                raise ValueError(f"operator '{self.op}' takes no value")
        elif self.value is None:
            raise ValueError(f"operator '{self.op}' needs a value")
        if self.op in ("in", "not_in", "email_domain_in") and not isinstance(self.value, list):
            raise ValueError(f"operator '{self.op}' needs a list value, e.g. [a, b]")
        if self.op == "between":
            if not (isinstance(self.value, list) and len(self.value) == 2):
                raise ValueError("operator 'between' needs a list of two numbers: [low, high]")
            try:
                low, high = (float(v) for v in self.value)
            except (TypeError, ValueError):
                raise ValueError("operator 'between' needs two numbers: [low, high]") from None
            if low > high:
                raise ValueError("operator 'between': low is greater than high")
        if self.op in ("gt", "gte", "lt", "lte"):
            try:
                float(t.cast(t.Any, self.value))
            except (TypeError, ValueError):
                raise ValueError(f"operator '{self.op}' needs a number, got {self.value!r}") from None
        if self.op in ("eq", "ne") and isinstance(self.value, (list, dict)):
            raise ValueError(f"operator '{self.op}' compares with one value; for a list use '{'in' if self.op == 'eq' else 'not_in'}'")
        if self.op == "regex":
            for pattern in self.value if isinstance(self.value, list) else [self.value]:
                try:
                    re.compile(str(pattern))
                except re.error as exc:
                    raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
        return self

    @builtins.property
    def field(self) -> str:
        """The property or attribute name this condition reads."""
        return t.cast(str, self.property if self.property is not None else self.attribute)


def _when_kind(value: t.Any) -> str:
    """Pick the union member by its key, so errors speak of the member the admin meant."""
    if isinstance(value, dict):
        if "all" in value:
            return "<all>"
        if "any" in value:
            return "<any>"
        return "<condition>"
    if isinstance(value, AllOf):
        return "<all>"
    if isinstance(value, AnyOf):
        return "<any>"
    return "<condition>"


When = t.Annotated[
    t.Annotated[Condition, Tag("<condition>")] | t.Annotated["AllOf", Tag("<all>")] | t.Annotated["AnyOf", Tag("<any>")],
    Discriminator(_when_kind),
]


class AllOf(_Strict):
    """Every nested condition must hold."""

    all: list[When] = Field(min_length=1)


class AnyOf(_Strict):
    """At least one nested condition must hold."""

    any: list[When] = Field(min_length=1)


class HalfLifeDecay(_Strict):
    """Points halve every ``half_life_days``; age is counted in whole days (floor)."""

    half_life_days: float = Field(gt=0)


class StepDecay(_Strict):
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


class ActivityMatch(_Strict):
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


class Rule(_Strict):
    """Points for a property condition (``when``) or for activities (``activity``), not both."""

    id: str
    label: str | None = None
    dimension: str
    points: float
    when: When | None = None
    activity: ActivityMatch | None = None

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if not _NAME.match(self.id):
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


class PredictiveSpec(_Strict):
    """A dimension whose value (0..100) is a learned probability, read from a JSON model file.

    ``model_file`` is relative to the YAML file that names it; see ``connector.scoring.predictive``.
    """

    model_file: str


class Dimension(_Strict):
    """A scored axis, clamped to [floor, ceiling]; ``weight`` is its share in the total."""

    floor: float = 0
    ceiling: float = 100
    weight: float = 1.0
    predictive: PredictiveSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> Dimension:
        if self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


class Total(_Strict):
    """Bounds of the weighted total."""

    floor: float = 0
    ceiling: float = 100

    @model_validator(mode="after")
    def _check(self) -> Total:
        if self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} is above ceiling {self.ceiling}")
        return self


class Exclusion(_Strict):
    """A contact matching ``when`` gets no stage, no triggers and the floor as its scores."""

    id: str
    reason: str
    when: When


class Band(_Strict):
    """A grade label reached at ``min`` or above; the last band may omit ``min`` (catch-all)."""

    label: str
    min: float | None = None


class GradeSpec(_Strict):
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


class MatrixSpec(_Strict):
    """HubSpot-style matrix label: row band label + column band label (e.g. ``A`` + ``1`` = ``A1``)."""

    rows: GradeSpec
    columns: GradeSpec


#: A lower bound as engines use it: ``(strict, bound)``; strict means ``value > bound``, else ``>=``.
Level = tuple[bool, float]


def reaches(value: float, level: Level) -> bool:
    """Whether ``value`` is above (strict) or at or above a :data:`Level`; both engines mean this."""
    strict, bound = level
    return value > bound if strict else value >= bound


class Threshold(_Strict):
    """A stage threshold: ``{gte: N}`` (N or more) or ``{gt: N}`` (more than N); a bare ``N`` is ``{gte: N}``.

    "Above 50" used to need ``50.01``; ``gt`` says it, and it stays right for any rounding.
    """

    gt: float | None = None
    gte: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: t.Any) -> t.Any:
        if not isinstance(value, dict):
            return {"gte": value}
        unknown = sorted(str(k) for k in value if k not in ("gt", "gte"))
        if unknown or len(value) != 1:
            got = f"got {', '.join(unknown)}" if unknown else f"got {len(value)} keys"
            raise ValueError(f"a threshold is a number (that value or more), {{gte: N}} (the same) or {{gt: N}} (more than N), with one key; {got}")
        return value

    @property
    def level(self) -> Level:
        """``(strict, bound)`` for :func:`reaches`."""
        return (True, self.gt) if self.gt is not None else (False, t.cast(float, self.gte))


class Stage(_Strict):
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
    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    activities: list[str] = Field(default_factory=list)
    when: When | None = None
    match: t.Literal["any", "all"] = "any"
    reset_on_enter: list[str] = Field(default_factory=list)


class StageSpec(_Strict):
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


class TriggerOn(_Strict):
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


class TriggerAction(_Strict):
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


class Trigger(_Strict):
    """Fires once per upward crossing; re-arms when the watched value falls back below.

    The key is ``watch`` rather than ``on`` because YAML 1.1 reads a bare ``on`` as ``true``.
    """

    id: str
    watch: TriggerOn
    actions: list[TriggerAction] = Field(min_length=1)


class Outputs(_Strict):
    """Canonical output names the CRM mapping maps to CRM properties/fields.

    Defaults derive from the model name so that several models never collide:
    ``{model}_score``, ``{model}_{dimension}``, ``{model}_grade``, ``{model}_matrix``,
    ``{model}_stage``, ``{model}_reasons``, ``{model}_scored_at`` (model name with ``-`` -> ``_``).
    """

    score: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    grade: str | None = None
    matrix: str | None = None
    stage: str | None = None
    reasons: str | None = None
    scored_at: str | None = None


class ScoringModel(_Strict):
    """A whole scoring model. Cross-references (dimensions, stages) are checked here."""

    model: str
    description: str | None = None
    dimensions: dict[str, Dimension] = Field(min_length=1)
    total: Total = Field(default_factory=Total)
    rules: list[Rule] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    grade: GradeSpec | None = None
    matrix: MatrixSpec | None = None
    stages: StageSpec | None = None
    triggers: list[Trigger] = Field(default_factory=list)
    outputs: Outputs = Field(default_factory=Outputs)
    #: Property values that mean "not answered" (compared case-insensitively), e.g. ``Select``.
    placeholders: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_check(self) -> ScoringModel:
        if not _NAME.match(self.model):
            raise LocatedError(("model",), f"model name {self.model!r} must start with a letter and use letters, digits, _ or -")
        dims = set(self.dimensions)
        if TOTAL in dims:
            raise LocatedError(("dimensions", TOTAL), f"'{TOTAL}' is reserved for the weighted total; rename that dimension")
        known = dims | {TOTAL}
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            if rule.id in seen:
                raise LocatedError(("rules", i, "id"), f"rule id '{rule.id}' is used twice")
            seen.add(rule.id)
            if rule.dimension not in dims:
                raise LocatedError(("rules", i, "dimension"), f"rule '{rule.id}' names unknown dimension '{rule.dimension}' (known: {', '.join(sorted(dims))})")
            if self.dimensions[rule.dimension].predictive is not None:
                raise LocatedError(("rules", i, "dimension"), f"rule '{rule.id}' gives points to predictive dimension '{rule.dimension}'")
        specs: list[tuple[tuple[t.Any, ...], GradeSpec | None]] = [(("grade",), self.grade)]
        if self.matrix is not None:
            specs += [(("matrix", "rows"), self.matrix.rows), (("matrix", "columns"), self.matrix.columns)]
        for where, spec in specs:
            if spec is not None and spec.dimension not in known:
                raise LocatedError((*where, "dimension"), f"unknown dimension '{spec.dimension}' (known: {', '.join(sorted(known))})")
        stage_names = [s.name for s in self.stages.order] if self.stages else []
        for i, stage in enumerate(self.stages.order if self.stages else []):
            for key, names, allowed in (("thresholds", list(stage.thresholds), known), ("reset_on_enter", stage.reset_on_enter, dims)):
                for dim in names:
                    if dim not in allowed:
                        hint = " (the total cannot be reset; name its dimensions)" if dim == TOTAL else ""
                        raise LocatedError(("stages", "order", i, key), f"stage '{stage.name}' names unknown dimension '{dim}'{hint}")
        for i, trig in enumerate(self.triggers):
            if trig.watch.stage is not None and trig.watch.stage not in stage_names:
                raise LocatedError(("triggers", i, "watch", "stage"), f"trigger '{trig.id}' names unknown stage '{trig.watch.stage}'")
            if trig.watch.dimension is not None and trig.watch.dimension not in known:
                raise LocatedError(("triggers", i, "watch", "dimension"), f"trigger '{trig.id}' names unknown dimension '{trig.watch.dimension}'")
        for dim in self.outputs.dimensions:
            if dim not in dims:
                raise LocatedError(("outputs", "dimensions", dim), f"unknown dimension '{dim}'")
        return self

    def output_names(self) -> dict[str, str]:
        """Map of output key (``score``, ``dimension:fit``, ``grade``, ...) to canonical output name."""
        base = self.model.replace("-", "_")
        out = self.outputs
        names = {"score": out.score or f"{base}_score"}
        for dim in self.dimensions:
            names[f"dimension:{dim}"] = out.dimensions.get(dim, f"{base}_{dim}")
        if self.grade is not None:
            names["grade"] = out.grade or f"{base}_grade"
        if self.matrix is not None:
            names["matrix"] = out.matrix or f"{base}_matrix"
        if self.stages is not None:
            names["stage"] = out.stage or f"{base}_stage"
        names["reasons"] = out.reasons or f"{base}_reasons"
        names["scored_at"] = out.scored_at or f"{base}_scored_at"
        return names


AllOf.model_rebuild()
AnyOf.model_rebuild()
