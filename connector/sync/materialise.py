"""The moved contacts of a column-wise full rescore: from result columns straight to the rows they write.

Why: the daily rescore of a large portal rewrites most of it (decay moves the points, reasons
and next change of every contact with recent activity: 683,000 of a million in the bench's
portal), and building a :class:`~connector.scoring.result.ScoreResult` per contact and model --
a :class:`~connector.scoring.result.Reason` per rule, a Python sort of each contact's reasons,
their summary and JSON text through dictionaries keyed by those objects -- then turning it into
a score row and output values was the larger half of the scoring worker's time (43 us a result
at 100,000 contacts, against reading and scoring the whole portal column-wise in 7 s).

Here each piece is made once for all the job's contacts: the reasons of every contact are put
in order by one ``numpy.lexsort`` (the order of :func:`connector.scoring.explain.order_reasons`:
points by size, then rule, dimension and label, then the order the scorer found them in), each
reason's JSON and wording are its rule's frame around its points, and the loop over contacts only
joins ready texts, hashes the row and fills the output values.

It writes exactly what :func:`connector.sync.scorers.add_results` writes for the results
:meth:`~connector.scoring.batch.BatchScorer.results` would make of the same columns -- the same
score rows (texts, digests), output values, stage moves and firings, in the same order
(``tests/sync/test_materialise.py`` compares them on random models). The full rescore has no
contact with manual adjustments or a predictive dimension here (they are scored the exact way),
so neither is handled.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import itertools
import json
import typing as t

import numpy as np

from connector.scoring.batch.results import clamp_reason, exclusion_reason, rule_reason
from connector.scoring.columns import ResultColumns, datetimes
from connector.scoring.explain import fit_summary, format_points, reason_label, reason_text
from connector.scoring.model import TOTAL, ScoringModel
from connector.scoring.records import utc
from connector.scoring.result import Reason, ScoringState
from connector.scoring.triggers import action_dict
from connector.sync.scorers import ChunkOptions, Firing, ScoredChunk, ScorerSet, Texts, json_number, row_digest
from connector.sync.stagedates import stage_reason

__all__ = ["Materialise", "StoredRows", "materialise"]


@dc.dataclass
class StoredRows:
    """One model's stored score of each moved contact, in the job's order (``None``: no score row)."""

    state: list[ScoringState | None]
    #: the stored ``stage`` column
    stage: list[str | None]
    digest: list[str | None]
    fingerprint: list[str | None]


@dc.dataclass
class Materialise:
    """Contacts a column-wise full rescore found moved: their result columns, to be written as results.

    Made and turned into a :class:`~connector.sync.scorers.ScoredChunk` (:func:`materialise`) by
    whoever read the portal (:class:`connector.sync.rescore.Rescoring`: the scoring worker on a
    large portal).
    """

    ids: list[str]
    as_of: dt.datetime
    #: per model (the scorer set's order): the result columns of exactly ``ids``, in order
    columns: list[ResultColumns]
    #: per model: what the store holds for each contact
    stored: list[StoredRows]
    #: per model: each contact's new fingerprint
    prints: list[list[str]]


def materialise(job: Materialise, scorers: ScorerSet, options: ChunkOptions) -> ScoredChunk:
    """What the job's results write: exactly what :func:`connector.sync.scorers.score_chunk` would return for those contacts."""
    out = ScoredChunk(ids=job.ids, as_of=job.as_of)
    texts = Texts()
    for model, cols, stored, prints in zip(scorers.models, job.columns, job.stored, job.prints, strict=True):
        _ModelRows(model, cols, options.reasons_limit, texts).write(out, stored, prints)
    return out


class _ModelRows:
    """One model's result columns as score rows, outputs, stage moves and firings."""

    def __init__(self, model: ScoringModel, cols: ResultColumns, reasons_limit: int, texts: Texts) -> None:
        if cols.predictive_reasons or cols.adjustment_counted.any():
            raise ValueError(f"model {model.model}: results with predictive reasons or adjustments are written the exact way")
        self.model, self.cols, self.limit, self.texts = model, cols, reasons_limit, texts
        self.dims = list(model.dimensions)

    def write(self, out: ScoredChunk, stored: StoredRows, prints: t.Sequence[str]) -> None:
        """Append what the results write to ``out`` (as :func:`connector.sync.scorers.add_results` does)."""
        model, cols, texts = self.model, self.cols, self.texts
        name = model.model
        as_of = utc(out.as_of)
        scored_at = as_of.isoformat()
        ids = list(cols.contact_ids)
        total = cols.score.tolist()
        values = [cols.dimensions[d].tolist() for d in self.dims]
        dimension_texts = self._dimension_texts(values)
        grades = _labels(cols.grade, cols.grade_labels)
        matrices = _labels(cols.matrix, cols.matrix_labels)
        stage_names = [s.name for s in model.stages.order] if model.stages else []
        stages = _labels(cols.stage, stage_names)
        excluded = cols.excluded.tolist()
        changes = datetimes(cols.changes_at)
        changes_text = _iso_texts(cols.changes_at, changes)
        states = self._state_texts(stage_names)
        reasons, summaries = self._reasons()
        names = model.output_names()
        outputs = [names["score"], *(names[f"dimension:{d}"] for d in self.dims)]
        labelled = [(key, names[key]) for key in ("grade", "matrix", "stage") if key in names]
        reasons_name, scored_at_name = names["reasons"], names["scored_at"]
        any_fired = np.logical_or.reduce([cols.fired[trig.id] for trig in model.triggers]).tolist() if model.triggers else None
        desired = out.desired
        for i, cid in enumerate(ids):
            score, grade, matrix = total[i], grades[i], matrices[i]
            ex = excluded[i]
            if ex >= 0:  # excluded: the exclusion is the one reason; the previous state is kept
                exclusion = model.exclusions[ex]
                why: str | None = exclusion.reason
                stage, changes_at, change_text = None, None, ""
                reason = exclusion_reason(exclusion)
                reasons_json, summary = texts.reasons([reason]), fit_summary([reason_text(reason)], self.limit)
                state = texts.state(stored.state[i] or ScoringState())
            else:
                why, stage, changes_at, change_text = None, stages[i], changes[i], changes_text[i]
                reasons_json, summary, state = reasons[i], summaries[i], states[i]
            dims_json = dimension_texts[i]
            digest = row_digest((repr(score), dims_json, str(grade), str(matrix), str(stage), str(why), reasons_json, state, change_text))
            fingerprint = prints[i]
            if stored.digest[i] != digest or stored.fingerprint[i] != fingerprint:
                out.scores.append({
                    "contact_id": cid, "model": name, "score": score, "dimensions": dims_json, "grade": grade, "matrix": matrix,
                    "stage": stage, "excluded": why, "reasons": reasons_json, "state": state, "as_of": as_of,
                    "changes_at": changes_at, "digest": digest, "fingerprint": fingerprint,
                })  # fmt: skip
            wanted: dict[str, t.Any] = {outputs[0]: score}
            for output, column in zip(outputs[1:], values, strict=True):
                wanted[output] = column[i]
            for key, output in labelled:
                wanted[output] = grade if key == "grade" else matrix if key == "matrix" else stage
            wanted[reasons_name] = summary
            wanted[scored_at_name] = scored_at
            had = desired.get(cid)
            if had is None:
                desired[cid] = wanted
            else:
                had.update(wanted)
            self._move(out, cid, i, stage, why, stored)
            if any_fired is not None and any_fired[i] and ex < 0:
                self._fire(out, cid, i, stage, as_of)

    def _move(self, out: ScoredChunk, cid: str, i: int, stage: str | None, why: str | None, stored: StoredRows) -> None:
        """A stage move, when the stage differs from the stored one (a first score counts only when it has a stage)."""
        known = stored.state[i] is not None
        before = stored.stage[i] if known else None
        if stage != before and (known or stage is not None):
            cols = self.cols
            reason = f"excluded: {why}" if why else stage_reason(self.model, stage, {d: float(cols.dimensions[d][i]) for d in self.dims}, float(cols.score[i]), before)
            out.moves.append((cid, self.model.model, before, stage, out.as_of, reason))

    def _fire(self, out: ScoredChunk, cid: str, i: int, stage: str | None, as_of: dt.datetime) -> None:
        """The triggers the contact fired, in the model's order, with their actions."""
        cols = self.cols
        for trig in self.model.triggers:
            if not cols.fired[trig.id][i]:
                continue
            if trig.watch.stage is not None:
                watched, value = "stage", t.cast("float | str", stage)
            else:
                watched = t.cast(str, trig.watch.dimension)
                value = float(cols.score[i] if watched == TOTAL else cols.dimensions[watched][i])
            actions = tuple(dict(action_dict(a)) for a in trig.actions)
            out.firings.append(Firing(cid, self.model.model, trig.id, watched, value, actions, as_of))

    def _dimension_texts(self, values: list[list[float]]) -> list[str]:
        """Each contact's dimensions as ``json.dumps`` writes the dict (in the model's order)."""
        n = len(self.cols)
        if not self.dims:
            return ["{}"] * n
        if not all(np.isfinite(self.cols.dimensions[d]).all() for d in self.dims):
            return [json.dumps(dict(zip(self.dims, row, strict=True))) for row in zip(*values, strict=True)]
        keys = [json.dumps(d) + ": " for d in self.dims]
        columns = [[key + float.__repr__(v) for v in column] for key, column in zip(keys, values, strict=True)]
        return ["{" + ", ".join(row) + "}" for row in zip(*columns, strict=True)]

    def _state_texts(self, stage_names: list[str]) -> list[str]:
        """Each contact's next state as JSON (excluded contacts keep their previous one: not here)."""
        cols, texts = self.cols, self.texts
        trigger_ids = [trig.id for trig in self.model.triggers]
        armed = [cols.armed[k].tolist() for k in trigger_ids]
        entered = cols.stage_entered.tolist()
        made: dict[tuple[t.Any, ...], str] = {}
        out = []
        for i, key in enumerate(zip(cols.stage.tolist(), entered, *armed, strict=True)):
            text = made.get(key)
            if text is None:
                at = datetimes(cols.stage_entered[i : i + 1])[0]
                stage = stage_names[key[0]] if key[0] >= 0 else None
                text = made[key] = texts.state(ScoringState(stage, at, dict(zip(trigger_ids, key[2:], strict=True))))
            out.append(text)
        return out

    def _reasons(self) -> tuple[list[str], list[str]]:
        """Each contact's reasons as JSON and as the summary a rep reads (excluded contacts: not here).

        Reasons are rules with points and dimensions held at a floor or ceiling. One sort puts
        every contact's in :func:`connector.scoring.explain.order_reasons`'s order: by contact,
        larger points first, then (rule, dimension, label) -- ranked once per possible reason --
        then the order the scorer lists them in (rules, then clamps), as the stable sort keeps.
        """
        cols, model = self.cols, self.model
        n, rules = len(cols), len(model.rules)
        who, which = np.nonzero(cols.rule_points)
        clamped, dim = np.nonzero(cols.clamp)
        clamp = cols.clamp[clamped, dim]
        # source: rule j, or rules + 2 * dimension (+1 when held at the floor): its own frame and rank
        source = np.concatenate([which, rules + 2 * dim + ~(clamp < 0)])
        row = np.concatenate([who, clamped])
        points = np.concatenate([cols.rule_points[who, which], clamp])
        counts = np.concatenate([cols.rule_counts[who, which], np.zeros(len(clamp), dtype=cols.rule_counts.dtype)])
        frames = [rule_reason(rule, 0.0, 0) for rule in model.rules] + [
            clamp_reason(name, model.dimensions[name], diff) for name in self.dims for diff in (-1.0, 1.0)
        ]  # fmt: skip
        static = [(r.rule, r.dimension, r.label, r.detail or "") for r in frames]
        rank = np.array([sorted(set(static)).index(key) for key in static] or [0], dtype=np.int64)
        order = np.lexsort((source, rank[source], -np.abs(points), row))
        row, source, points, counts = row[order], source[order], points[order].tolist(), counts[order].tolist()
        counted = [r.kind == "activity" for r in frames]
        made: dict[t.Any, tuple[Reason, tuple[str, str] | None, str]] = {}

        def texts_of(s: int, c: int, p: float) -> tuple[str, str]:
            key = (s, c) if counted[s] else s
            entry = made.get(key)
            if entry is None:
                base = dc.replace(frames[s], count=c) if counted[s] else frames[s]
                entry = made[key] = (base, self.texts.frame(base), reason_label(base))
            base, frame, label = entry
            number = json_number(p)
            if frame is not None and number is not None:
                return frame[0] + number + frame[1], f"{format_points(p)} {label}"
            # a label holding the frame's stand-in, or points json.dumps must write itself
            return json.dumps(dc.replace(base, points=p).to_dict()), f"{format_points(p)} {label}"

        # Most reasons recur across contacts (fit rules, capped or stepped activity points: only
        # half-life decay makes points of its own), so each distinct (source, count, points) is
        # written once. Points are never zero here (only rules with points are reasons), so
        # 0.0 and -0.0, equal as keys, never meet; a NaN is never found again, and written anew.
        written: dict[tuple[int, int, float], tuple[str, str]] = {}
        json_texts, words = [], []
        for key in zip(source.tolist(), counts, points, strict=True):
            got = written.get(key)
            if got is None:
                got = written[key] = texts_of(*key)
            json_texts.append(got[0])
            words.append(got[1])
        bounds = np.searchsorted(row, np.arange(n + 1)).tolist()
        reasons = ["[" + ", ".join(json_texts[lo:hi]) + "]" for lo, hi in itertools.pairwise(bounds)]
        summaries = [fit_summary(words[lo:hi], self.limit) for lo, hi in itertools.pairwise(bounds)]
        return reasons, summaries


def _labels(codes: np.ndarray, labels: t.Sequence[str]) -> list[str | None]:
    table: list[str | None] = [*labels, None]  # code -1 -> None
    return [table[c] for c in codes.tolist()]


def _iso_texts(micros: np.ndarray, made: t.Sequence[dt.datetime | None]) -> list[str]:
    """``isoformat()`` of each instant (``""``: none), once per distinct instant."""
    seen: dict[int, str] = {}
    out = []
    for m, value in zip(micros.tolist(), made, strict=True):
        text = seen.get(m)
        if text is None:
            text = seen[m] = value.isoformat() if value is not None else ""
        out.append(text)
    return out
