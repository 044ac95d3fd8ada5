"""The per-contact scoring engine: one contact, one model, one instant -> scores with reasons.

A pure function of its inputs (docs/scoring-semantics.md is the contract; the batch engine
implements the same and a randomised test compares them). No clock, no I/O: the caller passes
``as_of`` and the previous :class:`ScoringState`.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import typing as t

from connector.scoring import decay as decay_mod
from connector.scoring import grades, stages, triggers
from connector.scoring.conditions import test
from connector.scoring.explain import order_reasons
from connector.scoring.model import TOTAL, AllOf, AnyOf, Rule, ScoringModel, When
from connector.scoring.records import Activity, Adjustment, Contact, utc
from connector.scoring.result import Reason, ScoreResult, ScoringState, round2

__all__ = ["Predictor", "Scorer", "contact_values"]


class Predictor(t.Protocol):
    """A learned dimension (implemented in ``connector.scoring.predictive``)."""

    def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
        """Probability 0..1 that the contact converts, and reasons of kind ``predictive``."""
        ...


def contact_values(contact: Contact) -> dict[str, t.Any]:
    """Properties as conditions see them: ``email`` falls back to the contact's own e-mail."""
    values = dict(contact.properties)
    if values.get("email") in (None, "") and contact.email:
        values["email"] = contact.email
    return values


@dc.dataclass(frozen=True, slots=True)
class _Dims:
    """Dimension values with the reasons that made them."""

    values: dict[str, float]
    reasons: dict[str, list[Reason]]
    total: float


@dc.dataclass(slots=True)
class _Candidates:
    """One scoring's activities by type, and each rule's candidates once computed."""

    by_type: dict[str, list[Activity]]
    memo: dict[tuple[str, dt.datetime | None], list[Activity]] = dc.field(default_factory=dict)


class Scorer:
    """Scores contacts with one model; build once, call :meth:`score` per contact.

    Args:
        model: a validated scoring model.
        predictors: one predictor per predictive dimension (``Scorer.from_file`` loads them).
    """

    def __init__(self, model: ScoringModel, predictors: t.Mapping[str, Predictor] | None = None) -> None:
        self.model = model
        self.predictors = dict(predictors or {})
        for name, dim in model.dimensions.items():
            if dim.predictive is not None and name not in self.predictors:
                raise ValueError(
                    f"model '{model.model}': dimension '{name}' is predictive ({dim.predictive.model_file}); "
                    "pass its predictor or build the scorer with Scorer.from_file(path)"
                )
        self.placeholders = frozenset(model.placeholders)
        self._property_rules = [r for r in model.rules if r.when is not None]
        self._activity_rules = [r for r in model.rules if r.activity is not None]
        self._windows = {
            r.id: dt.timedelta(days=r.activity.within_days) for r in self._activity_rules if r.activity and r.activity.within_days is not None
        }
        self._stage_names = [s.name for s in model.stages.order] if model.stages else []
        self._stage_activity_types = {k for s in (model.stages.order if model.stages else []) for k in s.activities}
        #: (id of a condition of this model, type of value, value) -> result; conditions live as long as the model.
        self._memo: dict[tuple[int, type, t.Any], bool] = {}

    _MEMO_LIMIT = 200_000

    def _matches(self, when: When, values: t.Mapping[str, t.Any]) -> bool:
        """:func:`connector.scoring.conditions.matches`, remembering each condition's answer per value.

        Activities repeat the same URLs and form ids, contacts the same industries: asking
        :func:`~connector.scoring.conditions.test` once per distinct value is what the batch
        engine does too, and it makes the per-contact engine several times faster.
        """
        if isinstance(when, AllOf):
            return all(self._matches(w, values) for w in when.all)
        if isinstance(when, AnyOf):
            return any(self._matches(w, values) for w in when.any)
        value = values.get(when.field)
        try:
            key = (id(when), type(value), value)
            hit = self._memo.get(key)
        except TypeError:  # unhashable (a multi-select list): no memo
            return test(when, value, self.placeholders)
        if hit is None:
            if len(self._memo) >= self._MEMO_LIMIT:
                self._memo.clear()
            hit = self._memo[key] = test(when, value, self.placeholders)
        return hit

    @classmethod
    def from_file(cls, path: str | pathlib.Path) -> Scorer:
        """Load a model YAML and the predictors its predictive dimensions name (paths relative to the YAML)."""
        from connector.scoring.loader import load_model, load_predictors

        model = load_model(path)
        return cls(model, load_predictors(model, path))

    # -- scoring ---------------------------------------------------------------------------

    def score(
        self,
        contact: Contact,
        activities: t.Iterable[Activity],
        adjustments: t.Iterable[Adjustment],
        as_of: dt.datetime,
        previous: ScoringState | None = None,
    ) -> ScoreResult:
        """Score ``contact`` as of ``as_of``; only activities/adjustments of this contact count.

        ``activities`` should already be identity-resolved (:func:`connector.scoring.identity.resolve`);
        anonymous activities without a ``contact_id`` are ignored here.
        """
        model = self.model
        as_of = utc(as_of)
        previous = previous or ScoringState()
        if previous.stage_entered_at is not None and previous.stage_entered_at.tzinfo is not dt.UTC:
            previous = dc.replace(previous, stage_entered_at=utc(previous.stage_entered_at))
        acts = self._own_activities(contact.id, activities)
        by_type: dict[str, list[Activity]] = {}
        for act in acts:
            by_type.setdefault(act.type, []).append(act)
        found = _Candidates(by_type)
        adjs = [a for a in adjustments if a.contact_id == contact.id and a.dimension in model.dimensions]
        values = contact_values(contact)

        for exclusion in model.exclusions:
            if self._matches(exclusion.when, values):
                return self._excluded(contact, exclusion.id, exclusion.reason, previous, as_of)

        cutoffs = stages.reset_dimensions(model.stages, previous.stage, previous.stage_entered_at)
        dims = self._dimensions(contact, values, found, acts, adjs, as_of, cutoffs)
        stage, entered_at = None, None
        if model.stages is not None:
            seen_types = {a.type for a in acts if a.occurred_at <= as_of}
            outcome = stages.next_stage(
                model.stages, {**dims.values, TOTAL: dims.total}, seen_types, values, self.placeholders,
                previous.stage, previous.stage_entered_at, as_of,
            )
            stage, entered_at = outcome.stage, outcome.entered_at
            if outcome.changed:
                new_cutoffs = stages.reset_dimensions(model.stages, stage, entered_at)
                if new_cutoffs != cutoffs:
                    dims = self._dimensions(contact, values, found, acts, adjs, as_of, new_cutoffs)
                    cutoffs = new_cutoffs
        all_values = {**dims.values, TOTAL: dims.total}
        events, armed = triggers.evaluate(model.triggers, all_values, self._stage_names, stage, previous.armed)
        reasons = [r for dim in model.dimensions for r in dims.reasons[dim]]
        return ScoreResult(
            contact_id=contact.id,
            model=model.model,
            score=dims.total,
            dimensions=dims.values,
            grade=grades.grade(model.grade, all_values),
            matrix=grades.matrix(model.matrix, all_values),
            stage=stage,
            excluded=None,
            triggers=events,
            reasons=order_reasons(reasons),
            state=ScoringState(stage=stage, stage_entered_at=entered_at, armed=armed),
            as_of=as_of,
            changes_at=self._changes_at(found, acts, adjs, as_of, cutoffs),
        )

    def _own_activities(self, contact_id: str, activities: t.Iterable[Activity]) -> list[Activity]:
        """This contact's activities, first of each id only, times in UTC."""
        seen: set[str] = set()
        out = []
        for act in activities:
            if act.contact_id != contact_id or act.id in seen:
                continue
            seen.add(act.id)
            if act.occurred_at.tzinfo is not dt.UTC or act.attributes is None:
                act = dc.replace(act, occurred_at=utc(act.occurred_at), attributes=act.attributes or {})
            out.append(act)
        return out

    def _excluded(self, contact: Contact, rule: str, reason: str, previous: ScoringState, as_of: dt.datetime) -> ScoreResult:
        """Floors everywhere, no stage, no triggers, state kept as it was (section 4)."""
        model = self.model
        dims = {name: round2(d.floor) for name, d in model.dimensions.items()}
        total = round2(model.total.floor)
        all_values = {**dims, TOTAL: total}
        return ScoreResult(
            contact_id=contact.id,
            model=model.model,
            score=total,
            dimensions=dims,
            grade=grades.grade(model.grade, all_values),
            matrix=grades.matrix(model.matrix, all_values),
            stage=None,
            excluded=reason,
            triggers=(),
            reasons=(Reason(rule=rule, dimension=TOTAL, points=0.0, label=reason, kind="exclusion"),),
            state=previous,
            as_of=as_of,
            changes_at=None,
        )

    def _dimensions(
        self,
        contact: Contact,
        values: t.Mapping[str, t.Any],
        found: _Candidates,
        acts: t.Sequence[Activity],
        adjs: t.Sequence[Adjustment],
        as_of: dt.datetime,
        cutoffs: t.Mapping[str, dt.datetime],
    ) -> _Dims:
        """Every dimension (clamped, with a ``clamp`` reason when clamping bit) and the weighted total."""
        model = self.model
        reasons: dict[str, list[Reason]] = {name: [] for name in model.dimensions}
        raw: dict[str, float] = {}
        for name, dim in model.dimensions.items():
            if dim.predictive is not None:
                probability, predicted = self.predictors[name].predict(contact, acts, as_of)
                if not 0.0 <= probability <= 1.0:
                    raise ValueError(f"model '{model.model}': predictor of '{name}' returned {probability!r}, not a probability in 0..1")
                reasons[name].extend(predicted)
                raw[name] = round2(100 * probability)
            else:
                raw[name] = 0.0
        for rule in self._property_rules:
            if self._matches(t.cast(t.Any, rule.when), values):
                points = round2(rule.points)
                reasons[rule.dimension].append(Reason(rule.id, rule.dimension, points, rule.display, kind="rule"))
                raw[rule.dimension] += points
        for rule in self._activity_rules:
            reason = self._activity_reason(rule, found, as_of, cutoffs.get(rule.dimension))
            if reason is not None:
                reasons[rule.dimension].append(reason)
                raw[rule.dimension] += reason.points
        for adj in adjs:
            cutoff = cutoffs.get(adj.dimension)
            at = utc(adj.at)
            if at > as_of or (cutoff is not None and at <= cutoff):
                continue
            points = round2(adj.points)
            reasons[adj.dimension].append(Reason("adjustment", adj.dimension, points, adj.reason, kind="adjustment", detail=adj.by))
            raw[adj.dimension] += points
        out: dict[str, float] = {}
        for name, dim in model.dimensions.items():
            summed = round2(raw[name])
            value = round2(min(max(summed, dim.floor), dim.ceiling))
            if value != summed:
                bound = f"ceiling {dim.ceiling:g}" if summed > value else f"floor {dim.floor:g}"
                reasons[name].append(Reason("clamp", name, round2(value - summed), f"{name} held at its {bound}", kind="clamp"))
            out[name] = value
        weighted = sum(model.dimensions[name].weight * out[name] for name in model.dimensions)
        total = round2(min(max(weighted, model.total.floor), model.total.ceiling))
        return _Dims(out, reasons, total)

    def _candidates(self, rule: Rule, found: _Candidates, as_of: dt.datetime, cutoff: dt.datetime | None) -> list[Activity]:
        """Matching activities at or before ``as_of`` (and after the reset cut-off), newest first, capped.

        Remembered per rule and cut-off for the rest of this scoring (``changes_at`` and a
        re-score after a stage change ask again).
        """
        key = (rule.id, cutoff)
        cached = found.memo.get(key)
        if cached is not None:
            return cached
        spec = t.cast(t.Any, rule.activity)
        window = self._windows.get(rule.id)
        out = []
        for kind in spec.types:
            for act in found.by_type.get(kind, ()):
                if act.occurred_at > as_of or (cutoff is not None and act.occurred_at <= cutoff):
                    continue
                if window is not None and as_of - act.occurred_at > window:
                    continue
                if all(self._matches(w, act.attributes) for w in spec.where):
                    out.append(act)
        out.sort(key=lambda a: a.id)
        out.sort(key=lambda a: a.occurred_at, reverse=True)
        kept = out[: spec.max_times] if spec.max_times is not None else out
        found.memo[key] = kept
        return kept

    def _activity_reason(self, rule: Rule, found: _Candidates, as_of: dt.datetime, cutoff: dt.datetime | None) -> Reason | None:
        """The rule's capped, decayed total as one reason; ``None`` when it comes to 0."""
        spec = t.cast(t.Any, rule.activity)
        worths = [decay_mod.worth(rule.points, spec.decay, decay_mod.age_days(as_of, a.occurred_at)) for a in self._candidates(rule, found, as_of, cutoff)]
        total = sum(worths)
        if spec.max_points is not None:
            total = min(max(total, -spec.max_points), spec.max_points)
        points = round2(total)
        if points == 0:
            return None
        return Reason(rule.id, rule.dimension, points, rule.display, count=sum(1 for w in worths if w != 0), kind="activity")

    def _changes_at(
        self, found: _Candidates, acts: t.Sequence[Activity], adjs: t.Sequence[Adjustment], as_of: dt.datetime, cutoffs: t.Mapping[str, dt.datetime]
    ) -> dt.datetime | None:
        """Earliest later instant at which these same inputs would score differently (section 13)."""
        instants: list[dt.datetime] = [utc(a.at) for a in adjs if utc(a.at) > as_of]
        future = [a for a in acts if a.occurred_at > as_of]
        instants += [a.occurred_at for a in future if a.type in self._stage_activity_types]
        for rule in self._activity_rules:
            spec = t.cast(t.Any, rule.activity)
            for act in future:
                if act.type in spec.types and all(self._matches(w, act.attributes) for w in spec.where):
                    instants.append(act.occurred_at)
            if spec.decay is None and spec.within_days is None:
                continue
            for act in self._candidates(rule, found, as_of, cutoffs.get(rule.dimension)):
                when = decay_mod.next_change(act.occurred_at, as_of, rule.points, spec.decay, spec.within_days)
                if when is not None:
                    instants.append(when)
        return min(instants) if instants else None
