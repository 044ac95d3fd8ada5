"""Result columns into :class:`~connector.scoring.result.ScoreResult` objects, reasons and all.

Per-contact pieces are built column-wise first, so the loop over contacts only assembles
objects; a :class:`~connector.scoring.result.Reason` is immutable, so one object per rule,
points and count is shared by every contact that has it (and kept across calls).
"""

from __future__ import annotations

import datetime as dt
import operator
import typing as t

import numpy as np

from connector.scoring.batch import memo
from connector.scoring.columns import ResultColumns, datetimes
from connector.scoring.model import TOTAL, ScoringModel
from connector.scoring.model.rules import Dimension, Exclusion, Rule
from connector.scoring.records import utc
from connector.scoring.result import Reason, ScoreResult, ScoringState, TriggerEvent, round2
from connector.scoring.triggers import action_dict

if t.TYPE_CHECKING:
    from connector.scoring.records import Adjustment

__all__ = ["Results", "clamp_reason", "exclusion_reason", "rule_reason"]


class Results:
    """Materialises the results of one model's :class:`ResultColumns`.

    Args:
        model: The validated scoring model.
    """

    def __init__(self, model: ScoringModel) -> None:
        self.model = model
        self.dims = list(model.dimensions)
        self.stage_names = [s.name for s in model.stages.order] if model.stages else []
        self._trigger_ids = [trig.id for trig in model.triggers]
        self._reasons: dict[tuple[int, float, int], tuple[tuple[t.Any, ...], Reason]] = {}  # (rule, points, count) -> (order key, reason)

    def make(
        self, cols: ResultColumns, adjustments: t.Sequence[Adjustment], previous: t.Mapping[str, ScoringState], as_of: dt.datetime
    ) -> list[ScoreResult]:
        """What :meth:`connector.scoring.batch.BatchScorer.results` returns (the arguments are described there)."""
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
        if len(made) > memo.MEMO_LIMIT:
            made.clear()
        for i, j, points, count in zip(who.tolist(), which.tolist(), cols.rule_points[who, which].tolist(), cols.rule_counts[who, which].tolist(), strict=False):
            key = (j, points, count)
            pair = made.get(key)
            if pair is None:
                reason = rule_reason(model.rules[j], points, count)
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
            reason = clamp_reason(self.dims[k], model.dimensions[self.dims[k]], diff)
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
        entered_at, changes_at = datetimes(cols.stage_entered), datetimes(cols.changes_at)
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
                    reasons=(exclusion_reason(ex),),
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

def _order_key(reason: Reason) -> tuple[t.Any, ...]:
    """The sort key of :func:`connector.scoring.explain.order_reasons`, computed once per reason."""
    return (reason.kind != "exclusion", -abs(reason.points), reason.rule, reason.dimension, reason.label, reason.detail or "")


def rule_reason(rule: Rule, points: float, count: int) -> Reason:
    """A rule's reason: a property rule without a count, an activity rule with how many activities counted."""
    if rule.when is not None:
        return Reason(rule.id, rule.dimension, points, rule.display, kind="rule")
    return Reason(rule.id, rule.dimension, points, rule.display, count=count, kind="activity")


def clamp_reason(name: str, spec: Dimension, diff: float) -> Reason:
    """Points a dimension's ceiling took away (``diff`` < 0) or its floor added."""
    bound = f"ceiling {spec.ceiling:g}" if diff < 0 else f"floor {spec.floor:g}"
    return Reason("clamp", name, diff, f"{name} held at its {bound}", kind="clamp")


def exclusion_reason(exclusion: Exclusion) -> Reason:
    """The one reason of an excluded contact."""
    return Reason(rule=exclusion.id, dimension=TOTAL, points=0.0, label=exclusion.reason, kind="exclusion")
