"""The batch scorer: the same scores as the per-contact engine, for millions of contacts at once.

Reads ``docs/scoring-semantics.md`` column-wise with numpy. What keeps it *exactly* equal to
:class:`connector.scoring.engine.Scorer` (a randomised test compares them field by field):

- each condition is evaluated once per *distinct* value with the shared
  :func:`connector.scoring.conditions.test` and broadcast through categorical codes;
- an activity's worth depends only on its whole-day age, so it is a lookup table filled with the
  scalar :func:`connector.scoring.decay.worth` for every age that occurs;
- ``round2`` is ``np.floor(x * 100 + 0.5) / 100``, bit for bit the scalar formula; sums are sums
  of 2-decimal values rounded afterwards, so their order cannot change a result;
- ``max_times`` ranks candidates newest first (ties: lowest id) -- only for contacts that have
  more candidates than the cap, so the sort touches few rows;
- stages, grades and triggers are a handful of vector operations over all contacts.

The sync calls :meth:`BatchScorer.score` ~200 contacts at a time, where a call's fixed costs
matter more than its vector work, so a scorer keeps what depends only on the model and on values
it has already seen: condition answers per distinct value of each field (bounded, see
:class:`_FieldMemo`), decay tables per rule, and one immutable :class:`Reason` per rule, points and
count. None of it depends on a chunk's contacts, so none of it can change a result. A column
with :data:`LARGE_COLUMN` distinct values or more (one call over a whole portal) skips the
condition memos and answers per call, like the scorer did before it had them.

:meth:`BatchScorer.score_columns` is columnar in and out (what the benchmark times);
:meth:`BatchScorer.score` takes and returns canonical records and materialises full
:class:`~connector.scoring.result.ScoreResult` objects (the sync engine uses it to rescore many
contacts at once).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import operator
import threading
import typing as t

import numpy as np

from connector.scoring import conditions, decay
from connector.scoring.columns import (
    NO_TIME,
    ActivityColumns,
    AdjustmentColumns,
    Categorical,
    ContactColumns,
    DistinctValues,
    PreviousColumns,
    ResultColumns,
    _key,
    from_micros,
    to_micros,
)
from connector.scoring.model import TOTAL, AllOf, AnyOf, Condition, GradeSpec, HalfLifeDecay, Level, Rule, ScoringModel, When, level_of
from connector.scoring.records import utc
from connector.scoring.result import Reason, ScoreResult, ScoringState, TriggerEvent, round2
from connector.scoring.triggers import action_dict

if t.TYPE_CHECKING:
    from connector.scoring.records import Activity, Adjustment, Contact

__all__ = ["BatchScorer", "round2_array"]

DAY = 86_400_000_000  # one day in microseconds
_NEVER = np.iinfo(np.int64).max


def round2_array(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`connector.scoring.result.round2`, bitwise identical to it."""
    return np.floor(values * 100 + 0.5) / 100


#: Distinct values a :class:`_FieldMemo` remembers before it starts afresh (bounds the memory
#: that columns with one value per contact -- e-mail, phone -- would otherwise take).
MEMO_LIMIT = 1 << 16
#: Distinct values of a column from which a call skips the memos: such a call (a whole portal
#: at once) finds few of its values remembered, would push out what the sync's chunks share,
#: and pays per value in Python what per-call :class:`DistinctValues` answers in C-level
#: passes, for only the conditions it reaches.
LARGE_COLUMN = 1 << 14


class _FieldMemo:
    """Answers of every condition that reads one field, for each distinct value seen so far.

    Lives as long as the :class:`BatchScorer`: the sync scores a portal ~200 contacts at a time,
    and a job title or a URL seen in one chunk is seen again in the next, so a value is tested
    once per scorer, not once per call. An answer depends only on the condition, the value (as
    :func:`connector.scoring.columns._key` tells values apart) and the model's placeholders,
    which a scorer never changes, so remembering it cannot change a result. ``connector run``
    keeps a CRM's scorers from run to run and runs jobs on threads, hence the lock.
    """

    __slots__ = ("answers", "conds", "index", "lock", "none", "size")

    def __init__(self, conds: t.Sequence[Condition], placeholders: frozenset[str]) -> None:
        self.conds = list(conds)
        #: The answers for an absent value (code -1 reads the last row of a table).
        self.none = np.array([conditions.test(c, None, placeholders) for c in self.conds], dtype=bool)
        self.index: dict[t.Hashable, int] = {}
        self.answers = np.zeros((64, len(self.conds)), dtype=bool)
        self.size = 0
        self.lock = threading.Lock()

    def table(self, values: t.Sequence[t.Any], placeholders: frozenset[str]) -> np.ndarray:
        """``(conditions, len(values) + 1)`` answers: per condition, per value, then for ``None``."""
        keys = [v if type(v) is str or type(v) is int else _key(v) for v in values]  # see columns._PLAIN_KEYS
        with self.lock:
            return self._table(values, keys, placeholders)

    def _table(self, values: t.Sequence[t.Any], keys: list[t.Hashable], placeholders: frozenset[str]) -> np.ndarray:
        get = self.index.get
        rows = [get(k, -1) for k in keys]
        if -1 in rows:
            if self.size + len(values) > MEMO_LIMIT:
                self.index.clear()
                self.size = 0
                rows = [-1] * len(values)
            new = [i for i, r in enumerate(rows) if r < 0]
            facts = DistinctValues([values[i] for i in new], placeholders)  # shared by the field's conditions
            start, end = self.size, self.size + len(new)
            if end > len(self.answers):
                grown = np.zeros((max(end, 2 * len(self.answers)), len(self.conds)), dtype=bool)
                grown[:start] = self.answers[:start]
                self.answers = grown
            for j, cond in enumerate(self.conds):
                self.answers[start:end, j] = facts.answers(cond)
            index = self.index
            for at, i in enumerate(new, start):
                index[keys[i]] = rows[i] = at
            self.size = end
        out = np.empty((len(self.conds), len(values) + 1), dtype=bool)
        out[:, :-1] = self.answers[rows].T
        out[:, -1] = self.none
        return out


@dc.dataclass(slots=True)
class _Call:
    """What one :meth:`BatchScorer.score_columns` call works on (nothing survives the call)."""

    contacts: ContactColumns
    activities: ActivityColumns
    as_of: int
    n: int
    tables: dict[tuple[int, int], np.ndarray] = dc.field(default_factory=dict)
    facts: dict[int, DistinctValues] = dc.field(default_factory=dict)  # id(column) -> its answers (large columns)
    answers: dict[tuple[int, int], np.ndarray] = dc.field(default_factory=dict)  # (id(condition), id(column)) -> table
    typed: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = dc.field(default_factory=dict)


@dc.dataclass(slots=True)
class _RuleOut:
    """One activity rule over all contacts."""

    points: np.ndarray  # float64[n]: round2 of the capped total; 0 means no reason
    counts: np.ndarray  # int32[n]: activities with a non-zero worth
    next_change: np.ndarray  # int64[n]: earliest change instant, _NEVER if none


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
        self.placeholders = frozenset(model.placeholders)
        self.dims = list(model.dimensions)
        self._dim_index = {d: i for i, d in enumerate(self.dims)}
        self.stage_names = [s.name for s in model.stages.order] if model.stages else []
        self._stage_index = {s: i for i, s in enumerate(self.stage_names)}
        self._stage_types = sorted({k for s in (model.stages.order if model.stages else []) for k in s.activities})
        # What depends only on the model, built once (the sync calls score() per ~200 contacts).
        self._props, self._attrs = _fields(model)
        self._trigger_ids = [trig.id for trig in model.triggers]
        self._slots: dict[int, tuple[_FieldMemo, int]] = {}  # id(condition) -> (memo of its field, its row)
        for _kind, leaves in _leaves(model).items():
            by_field: dict[str, list[Condition]] = {}
            for leaf in leaves:
                by_field.setdefault(leaf.field, []).append(leaf)
            for conds in by_field.values():
                memo = _FieldMemo(conds, self.placeholders)
                self._slots.update({id(c): (memo, j) for j, c in enumerate(conds)})
        self._worths: dict[int, np.ndarray] = {}  # id(rule) -> decay.worth per age, grown on demand
        self._reasons: dict[tuple[int, float, int], tuple[tuple[t.Any, ...], Reason]] = {}  # (rule, points, count) -> (order key, reason)

    # ------------------------------------------------------------------ conditions

    def _when(self, call: _Call, when: When, columns: t.Mapping[str, Categorical], rows: np.ndarray | None, size: int) -> np.ndarray:
        """Boolean mask of ``when`` over ``rows`` of ``columns`` (every row when ``rows`` is None)."""
        if isinstance(when, (AllOf, AnyOf)):
            parts = when.all if isinstance(when, AllOf) else when.any
            out = self._when(call, parts[0], columns, rows, size)
            for part in parts[1:]:
                more = self._when(call, part, columns, rows, size)
                out = (out & more) if isinstance(when, AllOf) else (out | more)
            return out
        slot = self._slots.get(id(when))
        if slot is None:  # not one of the model's conditions: remember it too
            slot = self._slots[id(when)] = (_FieldMemo([when], self.placeholders), 0)
        memo, j = slot
        column = columns.get(when.field)
        if column is None:
            return np.full(size, bool(memo.none[j]))
        if len(column.values) >= LARGE_COLUMN:
            return self._large(call, when, column, bool(memo.none[j]), rows)
        key = (id(memo), id(column))
        table = call.tables.get(key)
        if table is None:  # every condition on the field at once, then the answer for absent (code -1)
            table = call.tables[key] = memo.table(column.values, self.placeholders)
        return table[j][column.codes if rows is None else column.codes[rows]]

    def _large(self, call: _Call, when: Condition, column: Categorical, none: bool, rows: np.ndarray | None) -> np.ndarray:
        """:meth:`_when` of one condition on a column too big for the memos (see :data:`LARGE_COLUMN`).

        The answers are the memo's (both come from :class:`DistinctValues`), built for this call
        only and for this condition only; ``none`` is the answer for an absent value (code -1).
        """
        key = (id(when), id(column))
        table = call.answers.get(key)
        if table is None:
            facts = call.facts.get(id(column))
            if facts is None:
                facts = call.facts[id(column)] = DistinctValues(column.values, self.placeholders)
            table = call.answers[key] = np.append(facts.answers(when), none)
        return table[column.codes if rows is None else column.codes[rows]]

    def _contact_mask(self, call: _Call, when: When) -> np.ndarray:
        return self._when(call, when, call.contacts.properties, None, call.n)

    def _type_rows(self, call: _Call, types: t.Collection[str]) -> np.ndarray:
        """Rows of activities owned by a contact whose type is one of ``types``."""
        return self._typed(call, types)[0]

    def _typed(self, call: _Call, types: t.Collection[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, instants and owners of the activities of ``types`` (computed once per type set)."""
        key = tuple(sorted(types))
        found = call.typed.get(key)
        if found is None:
            acts = call.activities
            lut = np.array([v in types for v in [*acts.type.values, None]], dtype=bool)
            rows = np.flatnonzero(lut[acts.type.codes] & (acts.contact >= 0))
            found = call.typed[key] = (rows, acts.occurred[rows], acts.contact[rows])
        return found

    # ------------------------------------------------------------------ activity rules

    def _activity_rule(self, call: _Call, rule: Rule, cut: np.ndarray | None, only: np.ndarray | None = None) -> _RuleOut:
        """Points, counts and next change instant of one activity rule, for every contact.

        ``cut``: per contact, only activities strictly after it count (``reset_on_enter``);
        ``only``: restrict the work to these contacts (others get zeros).
        """
        spec = rule.activity
        assert spec is not None
        acts, n, as_of = call.activities, call.n, call.as_of
        rows, occurred, owner = self._typed(call, spec.types)
        if only is not None:
            keep = only[owner]
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        for where in spec.where:
            if not len(rows):
                break
            keep = self._when(call, where, acts.attributes, rows, len(rows))
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        next_change = np.full(n, _NEVER, dtype=np.int64)
        if not len(rows):  # nothing to count (common in small chunks): what the steps below give
            return _RuleOut(np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.int32), next_change)
        future = occurred > as_of
        if future.any():  # a matching activity after as_of counts once its time comes
            np.minimum.at(next_change, owner[future], occurred[future])
            keep = ~future
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if cut is not None:
            keep = occurred > cut[owner]
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if spec.within_days is not None:
            window = dt.timedelta(days=spec.within_days) // dt.timedelta(microseconds=1)
            keep = as_of - occurred <= window
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if spec.max_times is not None and len(rows):
            keep = self._newest(spec.max_times, call, rows, occurred, owner)
            if keep is not None:
                rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        age = (as_of - occurred) // DAY
        table = self._worths_for(rule, int(age.max()) if len(age) else 0)
        worth = table[np.minimum(age, len(table) - 1)]
        total = np.bincount(owner, weights=worth, minlength=n).astype(np.float64, copy=False)
        if spec.max_points is not None:
            np.clip(total, -spec.max_points, spec.max_points, out=total)
        counts = np.bincount(owner[worth != 0], minlength=n).astype(np.int32)
        self._fold_changes(rule, occurred, owner, age, worth, next_change)
        return _RuleOut(round2_array(total), counts, next_change)

    def _worths_for(self, rule: Rule, oldest: int) -> np.ndarray:
        """:meth:`_worth_table` remembered per rule, recomputed only when ``oldest`` outgrows it.

        A longer table agrees with a shorter one on every age both hold (``decay.worth`` of the
        same age), and a table that ends in 0 stopped at the first age worth 0, so it serves
        any ``oldest``: the looked-up worths are the ones a fresh table gives.
        """
        table = self._worths.get(id(rule))
        if table is None or (len(table) <= oldest and table[-1] != 0 and rule.activity is not None and rule.activity.decay is not None):
            table = self._worths[id(rule)] = self._worth_table(rule, oldest)
        return table

    @staticmethod
    def _worth_table(rule: Rule, oldest: int) -> np.ndarray:
        """``decay.worth`` for ages 0..``oldest`` -- or up to the first age worth 0.

        Decayed worth only shrinks towards 0 and stays there, so an activity older than the
        table's last (zero) entry reads that entry: a bogus date decades back costs nothing.
        """
        spec = rule.activity
        assert spec is not None
        if spec.decay is None:
            return np.array([decay.worth(rule.points, None, 0)])
        table = []
        for age in range(oldest + 1):
            table.append(decay.worth(rule.points, spec.decay, age))
            if table[-1] == 0:
                break
        return np.array(table, dtype=np.float64)

    def _newest(self, cap: int, call: _Call, rows: np.ndarray, occurred: np.ndarray, owner: np.ndarray) -> np.ndarray | None:
        """Mask keeping each contact's ``cap`` newest candidates (ties: lowest activity id first)."""
        per_contact = np.bincount(owner, minlength=call.n)
        crowded = per_contact[owner] > cap
        if not crowded.any():
            return None
        sub = np.flatnonzero(crowded)
        sub = sub[np.lexsort((call.activities.order[rows[sub]], -occurred[sub], owner[sub]))]
        grouped = owner[sub]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        rank = np.arange(len(sub)) - np.repeat(starts, np.diff(np.r_[starts, len(sub)]))
        keep = ~crowded
        keep[sub[rank < cap]] = True
        return keep

    def _fold_changes(self, rule: Rule, occurred: np.ndarray, owner: np.ndarray, age: np.ndarray, worth: np.ndarray, out: np.ndarray) -> None:
        """Fold into ``out`` when each counted activity next changes worth (``decay.next_change``)."""
        spec = rule.activity
        assert spec is not None
        if spec.decay is not None:
            live = worth != 0
            if isinstance(spec.decay, HalfLifeDecay):
                days = age[live] + 1
            else:
                every = spec.decay.every_days
                days = (age[live] // every + 1) * every
            if live.any():
                np.minimum.at(out, owner[live], occurred[live] + days * DAY)
        if spec.within_days is not None and len(owner):
            window = dt.timedelta(days=spec.within_days) // dt.timedelta(microseconds=1)
            np.minimum.at(out, owner, occurred + window + 1)

    # ------------------------------------------------------------------ the whole model

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
        call = _Call(contacts, activities, to_micros(as_of), n)
        adj = adjustments if adjustments is not None else AdjustmentColumns.empty()
        previous = previous if previous is not None else PreviousColumns.initial(n)
        _check_shapes(contacts, activities, adj, previous)

        excluded = np.full(n, -1, dtype=np.int16)
        for i in reversed(range(len(model.exclusions))):
            excluded[self._contact_mask(call, model.exclusions[i].when)] = i
        is_excluded = excluded >= 0

        prev_stage = np.fromiter((self._stage_index.get(s, -2) if s is not None else -1 for s in previous.stage), dtype=np.int16, count=n)
        cuts = self._cuts(prev_stage, previous.entered)

        rules = model.rules
        rule_points = np.zeros((n, len(rules)), dtype=np.float64, order="F")  # a column per rule
        rule_counts = np.zeros((n, len(rules)), dtype=np.int32, order="F")
        outs: dict[int, _RuleOut] = {}
        for j, rule in enumerate(rules):
            if rule.when is not None:
                rule_points[:, j] = np.where(self._contact_mask(call, rule.when), round2(rule.points), 0.0)
            else:
                outs[j] = out = self._activity_rule(call, rule, cuts.get(rule.dimension))
                rule_points[:, j] = out.points
                rule_counts[:, j] = out.counts
        adj_dim = np.fromiter((self._dim_index.get(d, -1) for d in adj.dimension), dtype=np.int64, count=len(adj))
        adj_counted = self._adjustments_counted(call, adj, adj_dim, cuts)
        predicted, predicted_reasons = self._predict(contacts, activities, as_of, is_excluded)
        values, clamp = self._clamped(self._raw(n, rule_points, adj, adj_dim, adj_counted, predicted))
        total = self._total(values)

        stage, entered, changed = self._stages(call, values, total, prev_stage, previous.entered)
        cuts, moved = self._final_cuts(n, changed, cuts, self._cuts(stage, entered))
        if moved:  # a stage was entered that resets dimensions: re-score those (section 9)
            for j, rule in enumerate(rules):
                who = moved.get(rule.dimension)
                if rule.activity is not None and who is not None:
                    out = self._activity_rule(call, rule, cuts[rule.dimension], only=who)
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
            changes[is_excluded] = _NEVER
            rule_points[is_excluded] = 0.0
            rule_counts[is_excluded] = 0
            clamp[is_excluded] = 0.0
            adj_counted &= ~is_excluded[np.maximum(adj.contact, 0)] | (adj.contact < 0)

        fired, armed = self._triggers(values, total, stage, previous, is_excluded)
        grade = self._bands(model.grade, values, total)
        matrix = self._matrix(values, total)
        return ResultColumns(
            contact_ids=contacts.ids,
            dimensions=values,
            score=total,
            grade=grade,
            grade_labels=[b.label for b in model.grade.bands] if model.grade else [],
            matrix=matrix,
            matrix_labels=[r.label + c.label for r in model.matrix.rows.bands for c in model.matrix.columns.bands] if model.matrix else [],
            stage=stage,
            stage_names=self.stage_names,
            stage_entered=entered,
            excluded=excluded,
            exclusion_ids=[e.id for e in model.exclusions],
            fired=fired,
            armed=armed,
            rule_points=rule_points,
            rule_counts=rule_counts,
            clamp=clamp,
            adjustment_counted=adj_counted,
            changes_at=np.where(changes == _NEVER, NO_TIME, changes),
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
        contacts = list(contacts)
        rows = {c.id: i for i, c in enumerate(contacts)}
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
        adjs = list(adjustments)
        states = previous or {}
        result = self.score_columns(
            ContactColumns.from_records(contacts, self._props),
            ActivityColumns.from_records(kept, rows, self._attrs),
            as_of,
            AdjustmentColumns.from_records(adjs, rows),
            PreviousColumns.from_states(list(rows), states, self._trigger_ids),
        )
        return self.results(result, adjs, states, as_of)

    def results(
        self, cols: ResultColumns, adjustments: t.Sequence[Adjustment], previous: t.Mapping[str, ScoringState], as_of: dt.datetime
    ) -> list[ScoreResult]:
        """Materialise :class:`ScoreResult` objects (reasons, events, state) from result columns.

        ``adjustments`` are the records the :class:`AdjustmentColumns` were built from (same
        order: their reason and author go into the explanation); ``previous`` the states the
        :class:`PreviousColumns` were built from (an excluded contact hands its state back as is).
        """
        model = self.model
        as_of = utc(as_of)
        n = len(cols)
        values = {d: cols.dimensions[d].tolist() for d in self.dims}
        total = cols.score.tolist()
        watched = {**values, TOTAL: total}
        grade_codes, matrix_codes = cols.grade.tolist(), cols.matrix.tolist()
        stage_codes, excluded = cols.stage.tolist(), cols.excluded.tolist()
        fired = {k: v.tolist() for k, v in cols.fired.items()}
        armed = {k: v.tolist() for k, v in cols.armed.items()}
        actions = {trig.id: tuple(action_dict(a) for a in trig.actions) for trig in model.triggers}

        # Each contact's reasons as (order key, reason) pairs: sorting then compares ready keys.
        found: list[list[tuple[tuple[t.Any, ...], Reason]]] = [[] for _ in range(n)]
        who, which = np.nonzero(cols.rule_points)
        made = self._reasons  # a Reason is immutable: one object per (rule, points, count), shared
        if len(made) > MEMO_LIMIT:
            made.clear()
        for i, j, points, count in zip(who.tolist(), which.tolist(), cols.rule_points[who, which].tolist(), cols.rule_counts[who, which].tolist(), strict=False):
            key = (j, points, count)
            pair = made.get(key)
            if pair is None:
                rule = model.rules[j]
                if rule.when is not None:
                    reason = Reason(rule.id, rule.dimension, points, rule.display, kind="rule")
                else:
                    reason = Reason(rule.id, rule.dimension, points, rule.display, count=count, kind="activity")
                pair = made[key] = (_order_key(reason), reason)
            found[i].append(pair)
        counted = np.flatnonzero(cols.adjustment_counted).tolist()
        row_of = {cid: i for i, cid in enumerate(cols.contact_ids)} if counted else {}
        for k in counted:
            adj = adjustments[k]
            if adj.contact_id not in row_of:  # a contact left out by ResultColumns.take
                continue
            reason = Reason("adjustment", adj.dimension, round2(adj.points), adj.reason, kind="adjustment", detail=adj.by)
            found[row_of[adj.contact_id]].append((_order_key(reason), reason))
        who, which = np.nonzero(cols.clamp)
        for i, k, diff in zip(who.tolist(), which.tolist(), cols.clamp[who, which].tolist(), strict=False):
            name = self.dims[k]
            spec = model.dimensions[name]
            bound = f"ceiling {spec.ceiling:g}" if diff < 0 else f"floor {spec.floor:g}"
            reason = Reason("clamp", name, diff, f"{name} held at its {bound}", kind="clamp")
            found[i].append((_order_key(reason), reason))
        for _d, per_contact in cols.predictive_reasons.items():
            for i, why in enumerate(per_contact):
                found[i].extend((_order_key(r), r) for r in why)

        # Per-contact pieces built column-wise first: the loop below only assembles objects.
        dims_of = [dict(zip(self.dims, row, strict=False)) for row in zip(*(values[d] for d in self.dims), strict=False)] if self.dims else [{} for _ in range(n)]
        trigger_ids = self._trigger_ids
        armed_of = [dict(zip(trigger_ids, row, strict=False)) for row in zip(*(armed[k] for k in trigger_ids), strict=False)] if trigger_ids else [{} for _ in range(n)]
        any_fired = np.logical_or.reduce([cols.fired[k] for k in trigger_ids]).tolist() if trigger_ids else [False] * n
        grades = [cols.grade_labels[c] if c >= 0 else None for c in grade_codes]
        matrices = [cols.matrix_labels[c] if c >= 0 else None for c in matrix_codes]
        stages = [self.stage_names[c] if c >= 0 else None for c in stage_codes]
        entered_at, changes_at = _datetimes(cols.stage_entered), _datetimes(cols.changes_at)
        first = operator.itemgetter(0)
        out: list[ScoreResult] = []
        append = out.append
        name = model.model
        for i, (cid, score, dims, grade, matrix, stage, ex_code, pairs) in enumerate(
            zip(cols.contact_ids, total, dims_of, grades, matrices, stages, excluded, found, strict=False)
        ):
            if ex_code >= 0:
                ex = model.exclusions[ex_code]
                append(ScoreResult(
                    contact_id=cid, model=name, score=score, dimensions=dims, grade=grade, matrix=matrix,
                    stage=None, excluded=ex.reason, triggers=(),
                    reasons=(Reason(rule=ex.id, dimension=TOTAL, points=0.0, label=ex.reason, kind="exclusion"),),
                    state=previous.get(cid) or ScoringState(), as_of=as_of, changes_at=None,
                ))  # fmt: skip
                continue
            events = []
            if any_fired[i]:
                for trig in model.triggers:
                    if fired[trig.id][i]:
                        if trig.watch.stage is not None:
                            events.append(TriggerEvent(trig.id, "stage", t.cast(str, stage), actions[trig.id]))
                        else:
                            dim = t.cast(str, trig.watch.dimension)
                            events.append(TriggerEvent(trig.id, dim, watched[dim][i], actions[trig.id]))
            if len(pairs) > 1:
                pairs.sort(key=first)  # stable, like explain.order_reasons
            # Positional: contact_id, model, score, dimensions, grade, matrix, stage, excluded,
            # triggers, reasons, state, as_of, changes_at.
            append(ScoreResult(
                cid, name, score, dims, grade, matrix, stage, None, tuple(events), tuple([p[1] for p in pairs]),
                ScoringState(stage, entered_at[i], armed_of[i]), as_of, changes_at[i],
            ))  # fmt: skip
        return out

    # ------------------------------------------------------------------ pieces of score_columns

    def _cuts(self, stage: np.ndarray, entered: np.ndarray) -> dict[str, np.ndarray]:
        """Per dimension reset by a contact's stage: the instant after which points count."""
        cuts: dict[str, np.ndarray] = {}
        for i, spec in enumerate(self.model.stages.order if self.model.stages else []):
            dims = [d for d in spec.reset_on_enter if d in self.model.dimensions]
            if not dims:
                continue
            here = (stage == i) & (entered != NO_TIME)
            if not here.any():
                continue
            for d in dims:
                cut = cuts.setdefault(d, np.full(len(stage), NO_TIME, dtype=np.int64))
                cut[here] = entered[here]
        return cuts

    @staticmethod
    def _final_cuts(
        n: int, changed: np.ndarray, old: t.Mapping[str, np.ndarray], new: t.Mapping[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Cuts after the stage step (the new stage's where it changed) and who they moved for."""
        final: dict[str, np.ndarray] = {}
        moved: dict[str, np.ndarray] = {}
        none = np.full(n, NO_TIME, dtype=np.int64)
        for d in sorted(set(old) | set(new)):
            before = old.get(d, none)
            after = np.where(changed, new.get(d, none), before)
            who = after != before
            if who.any():
                moved[d] = who
            final[d] = after
        return final, moved

    def _adjustments_counted(self, call: _Call, adj: AdjustmentColumns, adj_dim: np.ndarray, cuts: t.Mapping[str, np.ndarray]) -> np.ndarray:
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

    @staticmethod
    def _watch(name: str, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
        return total if name == TOTAL else values[name]

    def _stages(
        self, call: _Call, values: t.Mapping[str, np.ndarray], total: np.ndarray, prev: np.ndarray, prev_entered: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Stage code (-1: none), entry instant and whether the stage changed, per contact."""
        n = call.n
        spec = self.model.stages
        if spec is None:
            return np.full(n, -1, dtype=np.int16), prev_entered.copy(), np.zeros(n, dtype=bool)
        candidate = np.full(n, -1, dtype=np.int16)
        for i, stage in enumerate(spec.order):
            parts: list[np.ndarray] = []
            if stage.thresholds:
                parts.append(np.logical_and.reduce([_reaches(self._watch(d, values, total), level_of(need)) for d, need in stage.thresholds.items()]))
            if stage.activities:
                parts.append(self._did(call, stage.activities))
            if stage.when is not None:
                parts.append(self._contact_mask(call, stage.when))
            if not parts:
                candidate[:] = i
                continue
            holds = np.logical_and.reduce(parts) if stage.match == "all" else np.logical_or.reduce(parts)
            candidate[holds] = i
        codes = candidate if spec.allow_regression else np.maximum(candidate, prev)
        changed = codes != prev
        entered = np.where(changed, np.where(codes >= 0, call.as_of, NO_TIME), prev_entered)
        return codes.astype(np.int16), entered, changed

    def _did(self, call: _Call, types: t.Collection[str]) -> np.ndarray:
        """Whether each contact has an activity of one of ``types`` at or before ``as_of``."""
        acts = call.activities
        rows = self._type_rows(call, types)
        rows = rows[acts.occurred[rows] <= call.as_of]
        out = np.zeros(call.n, dtype=bool)
        out[acts.contact[rows]] = True
        return out

    def _changes_outside_rules(self, call: _Call, adj: AdjustmentColumns, adj_dim: np.ndarray) -> np.ndarray:
        """Later adjustments and later activities that can move a stage also change the result."""
        out = np.full(call.n, _NEVER, dtype=np.int64)
        later = np.flatnonzero((adj.contact >= 0) & (adj_dim >= 0) & (adj.at > call.as_of))
        if len(later):
            np.minimum.at(out, adj.contact[later], adj.at[later])
        if self._stage_types:
            rows = self._type_rows(call, self._stage_types)
            rows = rows[call.activities.occurred[rows] > call.as_of]
            if len(rows):
                np.minimum.at(out, call.activities.contact[rows], call.activities.occurred[rows])
        return out

    def _triggers(
        self, values: t.Mapping[str, np.ndarray], total: np.ndarray, stage: np.ndarray, previous: PreviousColumns, excluded: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Which triggers fire now, and the arming for the next run (excluded: unchanged)."""
        fired: dict[str, np.ndarray] = {}
        armed: dict[str, np.ndarray] = {}
        n = len(total)
        for trig in self.model.triggers:
            was = previous.armed.get(trig.id)
            was = np.ones(n, dtype=bool) if was is None else np.asarray(was, dtype=bool)
            if trig.watch.stage is not None:
                reached = stage >= self._stage_index[trig.watch.stage]
            else:
                reached = _reaches(self._watch(t.cast(str, trig.watch.dimension), values, total), trig.watch.level)
            fire = was & reached & ~excluded
            fired[trig.id] = fire
            armed[trig.id] = np.where(excluded, was, np.where(was, ~fire, ~reached))
        return fired, armed

    def _bands(self, spec: GradeSpec | None, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
        """Index of the first band whose ``min`` is at or below the value (-1: none)."""
        out = np.full(len(total), -1, dtype=np.int16)
        if spec is None:
            return out
        value = self._watch(spec.dimension, values, total)
        for i in reversed(range(len(spec.bands))):
            band = spec.bands[i]
            out[(value >= band.min) if band.min is not None else slice(None)] = i
        return out

    def _matrix(self, values: t.Mapping[str, np.ndarray], total: np.ndarray) -> np.ndarray:
        """Code of row label + column label (-1 when either has no band)."""
        spec = self.model.matrix
        if spec is None:
            return np.full(len(total), -1, dtype=np.int16)
        rows, cols = self._bands(spec.rows, values, total), self._bands(spec.columns, values, total)
        width = len(spec.columns.bands)
        return np.where((rows >= 0) & (cols >= 0), rows.astype(np.int32) * width + cols, -1).astype(np.int16)


def _reaches(values: np.ndarray, level: Level) -> np.ndarray:
    """:func:`connector.scoring.model.reaches` over an array (the same IEEE comparison)."""
    strict, bound = level
    return values > bound if strict else values >= bound


def _order_key(reason: Reason) -> tuple[t.Any, ...]:
    """The sort key of :func:`connector.scoring.explain.order_reasons`, computed once per reason."""
    return (reason.kind != "exclusion", -abs(reason.points), reason.rule, reason.dimension, reason.label, reason.detail or "")


def _datetimes(micros: np.ndarray) -> list[dt.datetime | None]:
    """:func:`from_micros` of every instant (``NO_TIME``: ``None``), converted by numpy in C.

    ``datetime64[us]`` counts microseconds from the same epoch, so its naive ``datetime`` with
    UTC attached is ``from_micros``'s; ``NO_TIME`` is ``NaT``, which becomes ``None``. An
    instant outside ``datetime``'s years (numpy hands back an int) goes through ``from_micros``.
    """
    utc_ = dt.UTC
    distinct, inverse = np.unique(micros, return_inverse=True)  # contacts share entry instants
    naive = distinct.astype("datetime64[us]").tolist()
    made = [d if d is None else d.replace(tzinfo=utc_) if type(d) is dt.datetime else from_micros(m) for d, m in zip(naive, distinct.tolist(), strict=False)]
    return [made[k] for k in inverse.reshape(-1).tolist()]


def _leaves(model: ScoringModel) -> dict[str, list[Condition]]:
    """The model's single conditions, on contact properties and on activity attributes."""
    out: dict[str, list[Condition]] = {"property": [], "attribute": []}

    def walk(when: When | None, into: list[Condition]) -> None:
        if when is None:
            return
        if isinstance(when, (AllOf, AnyOf)):
            for part in when.all if isinstance(when, AllOf) else when.any:
                walk(part, into)
        elif all(when is not seen for seen in into):
            into.append(when)

    for ex in model.exclusions:
        walk(ex.when, out["property"])
    for rule in model.rules:
        walk(rule.when, out["property"])
        for where in rule.activity.where if rule.activity else []:
            walk(where, out["attribute"])
    for stage in model.stages.order if model.stages else []:
        walk(stage.when, out["property"])
    return out


def _fields(model: ScoringModel) -> tuple[set[str], set[str]]:
    """Property names and attribute names the model's conditions read (only those become columns)."""
    props: set[str] = set()
    attrs: set[str] = set()

    def walk(when: When | None, into: set[str]) -> None:
        if when is None:
            return
        if isinstance(when, (AllOf, AnyOf)):
            for part in when.all if isinstance(when, AllOf) else when.any:
                walk(part, into)
        else:
            into.add(when.field)

    for ex in model.exclusions:
        walk(ex.when, props)
    for rule in model.rules:
        walk(rule.when, props)
        for where in rule.activity.where if rule.activity else []:
            walk(where, attrs)
    for stage in model.stages.order if model.stages else []:
        walk(stage.when, props)
    return props, attrs


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
