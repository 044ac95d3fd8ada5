"""The scoring-model schema: what a RevOps admin may write in a model YAML file.

Validated once, at the edge, by :func:`connector.scoring.loader.load_model`; everything downstream
(per-contact engine, batch engine, predictive learner that *writes* these files) relies on the
invariants checked here and never re-validates. The parts live in their own modules (``base``,
``conditions``, ``rules``, ``outcomes``); this package holds the whole model, its cross-reference
checks and its outputs, and is where the rest of the code imports every schema name from.

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

import typing as t

from pydantic import Field, model_validator

from connector.scoring.model.base import NAME, TOTAL, Strict
from connector.scoring.model.conditions import AllOf, AnyOf, Condition, Operator, When
from connector.scoring.model.outcomes import Band, GradeSpec, Level, MatrixSpec, Need, Stage, StageSpec, Threshold, Trigger, TriggerAction, TriggerOn, level_of, reaches
from connector.scoring.model.rules import ActivityMatch, Decay, Dimension, Exclusion, HalfLifeDecay, PredictiveSpec, Rule, StepDecay, Total
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
    "Need",
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
    "level_of",
    "reaches",
]


class Outputs(Strict):
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


class ScoringModel(Strict):
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
        if not NAME.match(self.model):
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
