"""The batch scorer: :class:`BatchScorer`, the whole model over many contacts (see the package docstring)."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import numpy as np

from connector.scoring.batch.activity import ActivityRules, RuleOut
from connector.scoring.batch.call import NEVER, Call, round2_array, typed
from connector.scoring.batch.memo import Conditions, fields
from connector.scoring.batch.outcomes import Outcomes
from connector.scoring.batch.results import Results
from connector.scoring.columns import NO_TIME, ActivityColumns, AdjustmentColumns, ContactColumns, PreviousColumns, ResultColumns, to_micros
from connector.scoring.model import ScoringModel
from connector.scoring.records import utc
from connector.scoring.result import ScoreResult, ScoringState, round2

if t.TYPE_CHECKING:
    from connector.scoring.records import Activity, Adjustment, Contact

__all__ = ["BatchScorer"]


class BatchScorer:
    """Score many contacts under one model, columnar and vectorised.

    Args:
        model: The validated scoring model.
        predictors: One predictor per predictive dimension (``connector.scoring.predictive``);
            predictive dimensions call it once per contact, like the per-contact engine.
    """

    def __init__(self, model: ScoringModel, predictors: t.Mapping[str, t.Any] | None = None) -> None:
        self.model = model
        self.predictors = dict(predictors or {})
        missing = [d for d, spec in model.dimensions.items() if spec.predictive is not None and d not in self.predictors]
        if missing:
            raise ValueError(f"model '{model.model}': no predictor given for predictive dimension(s) {', '.join(missing)}")
        self.dims = list(model.dimensions)
        self._dim_index = {d: i for i, d in enumerate(self.dims)}
        self._stage_types = sorted({k for s in (model.stages.order if model.stages else []) for k in s.activities})
        # What depends only on the model, built once (the sync calls score() per ~200 contacts).
        self._props, self._attrs = fields(model)
        self._trigger_ids = [trig.id for trig in model.triggers]
        self._conditions = Conditions(model)
        self._rules = ActivityRules(self._conditions)
        self._outcomes = Outcomes(model, self._conditions)
        self._results = Results(model)
        self._stage_index = {s: i for i, s in enumerate(self._outcomes.stage_names)}

    def score_columns(
        self,
        contacts: ContactColumns,
        activities: ActivityColumns,
        as_of: dt.datetime,
        adjustments: AdjustmentColumns | None = None,
        previous: PreviousColumns | None = None,
    ) -> ResultColumns:
        """Score every contact; columnar in and out (see :class:`ResultColumns`).

        Excluded contacts keep their previous state unchanged (``stage_entered`` and ``armed``
        then repeat ``previous``), as the per-contact engine does.
        """
        model = self.model
        n = len(contacts)
        call = Call(contacts, activities, to_micros(as_of), n)
        adj = adjustments if adjustments is not None else AdjustmentColumns.empty()
        previous = previous if previous is not None else PreviousColumns.initial(n)
        _check_shapes(contacts, activities, adj, previous)

        excluded = np.full(n, -1, dtype=np.int16)
        for i in reversed(range(len(model.exclusions))):
            excluded[self._conditions.contacts(call, model.exclusions[i].when)] = i
        is_excluded = excluded >= 0

        prev_stage = np.fromiter((self._stage_index.get(s, -2) if s is not None else -1 for s in previous.stage), dtype=np.int16, count=n)
        cuts = self._outcomes.cuts(prev_stage, previous.entered)

        rules = model.rules
        rule_points = np.zeros((n, len(rules)), dtype=np.float64, order="F")  # a column per rule
        rule_counts = np.zeros((n, len(rules)), dtype=np.int32, order="F")
        outs: dict[int, RuleOut] = {}
        for j, rule in enumerate(rules):
            if rule.when is not None:
                rule_points[:, j] = np.where(self._conditions.contacts(call, rule.when), round2(rule.points), 0.0)
            else:
                outs[j] = out = self._rules.score(call, rule, cuts.get(rule.dimension))
                rule_points[:, j] = out.points
                rule_counts[:, j] = out.counts
        adj_dim = np.fromiter((self._dim_index.get(d, -1) for d in adj.dimension), dtype=np.int64, count=len(adj))
        adj_counted = self._adjustments_counted(call, adj, adj_dim, cuts)
        predicted, predicted_reasons = self._predict(contacts, activities, as_of, is_excluded)
        values, clamp = self._clamped(self._raw(n, rule_points, adj, adj_dim, adj_counted, predicted))
        total = self._total(values)

        stage, entered, changed = self._outcomes.stages(call, values, total, prev_stage, previous.entered)
        cuts, moved = self._outcomes.final_cuts(n, changed, cuts, self._outcomes.cuts(stage, entered))
        if moved:  # a stage was entered that resets dimensions: re-score those (section 9)
            for j, rule in enumerate(rules):
                who = moved.get(rule.dimension)
                if rule.activity is not None and who is not None:
                    out = self._rules.score(call, rule, cuts[rule.dimension], only=who)
                    rule_points[who, j] = out.points[who]
                    rule_counts[who, j] = out.counts[who]
                    outs[j].next_change = np.where(who, out.next_change, outs[j].next_change)
            adj_counted = self._adjustments_counted(call, adj, adj_dim, cuts)
            values, clamp = self._clamped(self._raw(n, rule_points, adj, adj_dim, adj_counted, predicted))
            total = self._total(values)

        changes = self._changes_outside_rules(call, adj, adj_dim)
        for out in outs.values():
            np.minimum(changes, out.next_change, out=changes)

        if is_excluded.any():
            for d in self.dims:
                values[d] = np.where(is_excluded, round2(model.dimensions[d].floor), values[d])
            total = np.where(is_excluded, round2(model.total.floor), total)
            stage = np.where(is_excluded, -1, stage).astype(np.int16)
            entered = np.where(is_excluded, previous.entered, entered)
            changes[is_excluded] = NEVER
            rule_points[is_excluded] = 0.0
            rule_counts[is_excluded] = 0
            clamp[is_excluded] = 0.0
            adj_counted &= ~is_excluded[np.maximum(adj.contact, 0)] | (adj.contact < 0)

        fired, armed = self._outcomes.triggers(values, total, stage, previous, is_excluded)
        grade = self._outcomes.bands(model.grade, values, total)
        matrix = self._outcomes.matrix(values, total)
        return ResultColumns(
            contact_ids=contacts.ids,
            dimensions=values,
            score=total,
            grade=grade,
            grade_labels=[b.label for b in model.grade.bands] if model.grade else [],
            matrix=matrix,
            matrix_labels=[r.label + c.label for r in model.matrix.rows.bands for c in model.matrix.columns.bands] if model.matrix else [],
            stage=stage,
            stage_names=self._outcomes.stage_names,
            stage_entered=entered,
            excluded=excluded,
            exclusion_ids=[e.id for e in model.exclusions],
            fired=fired,
            armed=armed,
            rule_points=rule_points,
            rule_counts=rule_counts,
            clamp=clamp,
            adjustment_counted=adj_counted,
            changes_at=np.where(changes == NEVER, NO_TIME, changes),
            predictive_reasons=predicted_reasons,
        )

    # ------------------------------------------------------------------ records in, results out

    def score(
        self,
        contacts: t.Sequence[Contact],
        activities: t.Iterable[Activity],
        adjustments: t.Iterable[Adjustment],
        as_of: dt.datetime,
        previous: t.Mapping[str, ScoringState] | None = None,
    ) -> list[ScoreResult]:
        """Score ``contacts`` (one result each, in order), exactly like ``Scorer.score`` per contact.

        ``activities`` are identity-resolved records of any of the contacts (others are ignored;
        the first activity of each id per contact counts); ``previous`` maps a contact id to its
        last :class:`ScoringState` (absent: first scoring). Contact ids must be unique.
        """
        adjs = list(adjustments)
        return self.results(self.columns_of(contacts, activities, adjs, as_of, previous), adjs, previous or {}, as_of)

    def columns_of(
        self,
        contacts: t.Sequence[Contact],
        activities: t.Iterable[Activity],
        adjustments: t.Sequence[Adjustment],
        as_of: dt.datetime,
        previous: t.Mapping[str, ScoringState] | None = None,
    ) -> ResultColumns:
        """The result columns of records (what :meth:`score` materialises, and what fingerprints digest)."""
        contacts = list(contacts)
        kept = _kept(contacts, activities)
        rows = {c.id: i for i, c in enumerate(contacts)}
        return self.score_columns(
            ContactColumns.from_records(contacts, self._props),
            ActivityColumns.from_records(kept, rows, self._attrs),
            as_of,
            AdjustmentColumns.from_records(adjustments, rows),
            PreviousColumns.from_states(list(rows), previous or {}, self._trigger_ids),
        )

    def results(
        self, cols: ResultColumns, adjustments: t.Sequence[Adjustment], previous: t.Mapping[str, ScoringState], as_of: dt.datetime
    ) -> list[ScoreResult]:
        """Materialise :class:`ScoreResult` objects (reasons, events, state) from result columns.

        ``adjustments`` are the records the :class:`AdjustmentColumns` were built from (same
        order: their reason and author go into the explanation); ``previous`` the states the
        :class:`PreviousColumns` were built from (an excluded contact hands its state back as is).
        """
        return self._results.make(cols, adjustments, previous, as_of)

    # ------------------------------------------------------------------ pieces of score_columns

    def _adjustments_counted(self, call: Call, adj: AdjustmentColumns, adj_dim: np.ndarray, cuts: t.Mapping[str, np.ndarray]) -> np.ndarray:
        """Adjustment rows that count: known contact and dimension, at or before ``as_of``, after a reset cut."""
        counted = (adj.contact >= 0) & (adj_dim >= 0) & (adj.at <= call.as_of)
        for d, cut in cuts.items():
            rows = np.flatnonzero(counted & (adj_dim == self._dim_index[d]))
            counted[rows] = adj.at[rows] > cut[adj.contact[rows]]
        return counted

    def _predict(
        self, contacts: ContactColumns, activities: ActivityColumns, as_of: dt.datetime, excluded: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, list[t.Any]]]:
        """Predictive dimensions: ``round2(100 * p)`` from the predictor, called per contact."""
        dims = [d for d in self.dims if self.model.dimensions[d].predictive is not None]
        values: dict[str, np.ndarray] = {}
        reasons: dict[str, list[t.Any]] = {}
        if not dims:
            return values, reasons
        if contacts.records is None or activities.records is None:
            raise ValueError(f"model '{self.model.model}' has predictive dimensions ({', '.join(dims)}): build the columns with from_records")
        mine: dict[int, list[Activity]] = {}
        for row, record in zip(activities.contact.tolist(), activities.records, strict=False):
            if row >= 0:
                occurred = utc(record.occurred_at)
                mine.setdefault(row, []).append(record if occurred is record.occurred_at else dc.replace(record, occurred_at=occurred))
        utc_as_of = utc(as_of)
        for d in dims:
            out = np.zeros(len(contacts), dtype=np.float64)
            why: list[t.Any] = [()] * len(contacts)
            for i in np.flatnonzero(~excluded).tolist():
                p, found = self.predictors[d].predict(contacts.records[i], mine.get(i, []), utc_as_of)
                if not 0.0 <= p <= 1.0:
                    raise ValueError(f"model '{self.model.model}': predictor of '{d}' returned {p!r}, not a probability in 0..1")
                out[i] = round2(100 * p)
                why[i] = tuple(found)
            values[d], reasons[d] = out, why
        return values, reasons

    def _raw(
        self, n: int, rule_points: np.ndarray, adj: AdjustmentColumns, adj_dim: np.ndarray, counted: np.ndarray, predicted: t.Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """Unclamped sum of reason points per dimension (predictions, rules, adjustments)."""
        raw = [predicted[d].copy() if d in predicted else np.zeros(n, dtype=np.float64) for d in self.dims]
        for j, rule in enumerate(self.model.rules):
            raw[self._dim_index[rule.dimension]] += rule_points[:, j]
        rows = np.flatnonzero(counted)
        if len(rows):
            points = round2_array(adj.points[rows])
            for d in np.unique(adj_dim[rows]).tolist():
                pick = adj_dim[rows] == d
                raw[d] += np.bincount(adj.contact[rows][pick], weights=points[pick], minlength=n)
        return raw

    def _clamped(self, raw: list[np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Dimension values ``round2(clamp(round2(sum)))`` and what clamping added, per dimension."""
        values: dict[str, np.ndarray] = {}
        clamp = np.zeros((len(raw[0]), len(self.dims)), dtype=np.float64)
        for i, d in enumerate(self.dims):
            spec = self.model.dimensions[d]
            summed = round2_array(raw[i])
            values[d] = value = round2_array(np.minimum(np.maximum(summed, spec.floor), spec.ceiling))
            clamp[:, i] = np.where(value != summed, round2_array(value - summed), 0.0)
        return values, clamp

    def _total(self, values: t.Mapping[str, np.ndarray]) -> np.ndarray:
        """``round2(clamp(sum(weight * dimension)))``, added in model order exactly like ``sum()``."""
        weighted: t.Any = 0
        for d in self.dims:
            weighted = weighted + self.model.dimensions[d].weight * values[d]
        spec = self.model.total
        return round2_array(np.minimum(np.maximum(np.asarray(weighted, dtype=np.float64), spec.floor), spec.ceiling))

    def _changes_outside_rules(self, call: Call, adj: AdjustmentColumns, adj_dim: np.ndarray) -> np.ndarray:
        """Later adjustments and later activities that can move a stage also change the result."""
        out = np.full(call.n, NEVER, dtype=np.int64)
        later = np.flatnonzero((adj.contact >= 0) & (adj_dim >= 0) & (adj.at > call.as_of))
        if len(later):
            np.minimum.at(out, adj.contact[later], adj.at[later])
        if self._stage_types:
            rows = typed(call, self._stage_types)[0]
            rows = rows[call.activities.occurred[rows] > call.as_of]
            if len(rows):
                np.minimum.at(out, call.activities.contact[rows], call.activities.occurred[rows])
        return out


def _kept(contacts: t.Sequence[Contact], activities: t.Iterable[Activity]) -> list[Activity]:
    """The activities of ``contacts`` that count: the first of each id per contact (contact ids must be unique)."""
    rows = {c.id for c in contacts}
    if len(rows) != len(contacts):
        raise ValueError("BatchScorer.score: contact ids repeat; score each contact once")
    seen: set[tuple[str | None, str]] = set()
    kept: list[Activity] = []
    for act in activities:
        key = (act.contact_id, act.id)
        if key in seen or act.contact_id not in rows:
            continue
        seen.add(key)
        kept.append(act)
    return kept


def _check_shapes(contacts: ContactColumns, activities: ActivityColumns, adj: AdjustmentColumns, previous: PreviousColumns) -> None:
    """Refuse columns of different lengths or rows pointing past the contacts, naming the column."""
    n, m = len(contacts), len(activities)
    problems = [f"contact property '{k}' has {len(c.codes)} rows, not {n}" for k, c in contacts.properties.items() if len(c.codes) != n]
    for name, column in (("type", activities.type.codes), ("occurred", activities.occurred), ("order", activities.order)):
        if len(column) != m:
            problems.append(f"activity column '{name}' has {len(column)} rows, not {m}")
    problems += [f"activity attribute '{k}' has {len(c.codes)} rows, not {m}" for k, c in activities.attributes.items() if len(c.codes) != m]
    for name, rows in (("activities", activities.contact), ("adjustments", adj.contact)):
        if len(rows) and int(rows.max()) >= n:
            problems.append(f"{name} point at contact row {int(rows.max())}, but there are {n} contacts")
    if len(previous.stage) != n or len(previous.entered) != n or any(len(v) != n for v in previous.armed.values()):
        problems.append(f"previous states do not have {n} rows")
    if not (len(adj.dimension) == len(adj.points) == len(adj.at) == len(adj)):
        problems.append("adjustment columns differ in length")
    if problems:
        raise ValueError("BatchScorer.score_columns: " + "; ".join(problems))
