"""Scoring a chunk of contacts: the models of one CRM, and what their scores write.

:class:`ScorerSet` holds the models, loaded once per CRM (``connector run`` keeps them between
runs): each gets the per-contact :class:`~connector.scoring.engine.Scorer` and the vectorised
:class:`~connector.scoring.batch.BatchScorer` (same results; faster from a few dozen contacts).

:func:`score_chunk` reads a chunk's inputs from the state store, scores it under every model and
returns a :class:`ScoredChunk` of plain data: the rows of the ``scores`` table, the output values
each contact should have in the CRM, stage moves, trigger firings, and the contacts the engine
could not score. It writes nothing, so it runs the same in the run's process or in the scoring
worker (:mod:`connector.sync.score_worker`); the run commits what it returns.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import hashlib
import pathlib
import typing as t

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.explain import summary
from connector.scoring.loader import load_models, load_predictors
from connector.scoring.model import ScoringModel
from connector.scoring.result import ScoreResult
from connector.sync import adjustments
from connector.sync.stagedates import seed, stage_reason
from connector.sync.store import encoded_json, jsonable

if t.TYPE_CHECKING:
    from connector.sync.store import Store, ToScore

__all__ = ["Firing", "ScoredChunk", "ScorerSet", "outputs_of", "score_chunk"]


@dc.dataclass
class ScorerSet:
    """The models of one CRM, each with a per-contact scorer and a batch scorer."""

    models: list[ScoringModel]
    scorers: list[Scorer]
    batch: list[BatchScorer]

    @classmethod
    def load(cls, paths: t.Sequence[str | pathlib.Path]) -> ScorerSet:
        """Load the model files (cross-model clashes are errors) and their predictors.

        Raises:
            YamlFileError: a model file is invalid (file:line:key).
        """
        models = load_models(paths)
        scorers: list[Scorer] = []
        batch: list[BatchScorer] = []
        for model, path in zip(models, paths, strict=True):
            predictors = load_predictors(model, path)
            scorers.append(Scorer(model, predictors))
            batch.append(BatchScorer(model, predictors))
        return cls(models, scorers, batch)


def outputs_of(result: ScoreResult, model: ScoringModel, reasons_max_chars: int, names: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The values a score result writes to the CRM, keyed by canonical output name.

    ``names``: ``model.output_names()``, when the caller has it already (it runs per result).
    """
    names = names if names is not None else model.output_names()
    out: dict[str, t.Any] = {names["score"]: result.score}
    for dim in model.dimensions:
        out[names[f"dimension:{dim}"]] = result.dimensions.get(dim)
    for key in ("grade", "matrix", "stage"):
        if key in names:
            out[names[key]] = getattr(result, key)
    out[names["reasons"]] = summary(result, reasons_max_chars)
    out[names["scored_at"]] = result.as_of
    return out


@dc.dataclass(frozen=True, slots=True)
class Firing:
    """A trigger a contact's score fired, with the actions to carry out (plain data)."""

    contact_id: str
    model: str
    trigger: str
    watched: str
    value: float | str
    actions: tuple[dict[str, t.Any], ...]
    fired_at: dt.datetime


@dc.dataclass
class ScoredChunk:
    """What scoring a chunk produced, as plain data for the run to commit in one transaction."""

    ids: list[str]
    #: The instant the chunk was scored as of.
    as_of: dt.datetime
    #: Rows of the ``scores`` table (without ``crm``) that changed: a score equal to the stored one is left out.
    scores: list[dict[str, t.Any]] = dc.field(default_factory=list)
    #: contact id -> output field -> the value the CRM should hold (JSON-ready: datetimes as ISO text).
    desired: dict[str, dict[str, t.Any]] = dc.field(default_factory=dict)
    #: ``(contact, model, from stage, to stage, at, reason)``
    moves: list[tuple[str, str, str | None, str | None, dt.datetime, str | None]] = dc.field(default_factory=list)
    firings: list[Firing] = dc.field(default_factory=list)
    #: ``(contact id, reason, raw record)`` of contacts the engine could not score (quarantined).
    failed: list[tuple[str, str, dict[str, t.Any]]] = dc.field(default_factory=list)
    #: Problems to log (a batch scorer that failed and was replaced by the per-contact one).
    warnings: list[str] = dc.field(default_factory=list)


def score_row(result: ScoreResult, changes_at_override: dt.datetime | None = None) -> dict[str, t.Any]:
    """A score as its row of the ``scores`` table: dimensions, reasons and state already JSON-encoded.

    ``digest`` hashes every column but ``as_of``: a rescoring giving the stored digest again
    changed nothing, and its row is not written (:func:`score_chunk`). ``changes_at_override``:
    an earlier instant the contact must be rescored at (a manual adjustment expiring).
    """
    dimensions = encoded_json(dict(result.dimensions))
    reasons = encoded_json([x.to_dict() for x in result.reasons])
    state = encoded_json(result.state.to_dict())
    changes = changes_at_override or result.changes_at
    changes_at = changes.isoformat() if changes else ""
    parts = (repr(result.score), dimensions, str(result.grade), str(result.matrix), str(result.stage), str(result.excluded), reasons, state, changes_at)
    return {
        "contact_id": result.contact_id,
        "model": result.model,
        "score": result.score,
        "dimensions": dimensions,
        "grade": result.grade,
        "matrix": result.matrix,
        "stage": result.stage,
        "excluded": result.excluded,
        "reasons": reasons,
        "state": state,
        "as_of": result.as_of,
        "changes_at": changes,
        "digest": hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest(),
    }


def score_chunk(store: Store, scorers: ScorerSet, ids: t.Sequence[str], *, as_of: dt.datetime, reasons_limit: int, batch_min: int) -> ScoredChunk:
    """Score ``ids`` under every model as of ``as_of``; read from ``store``, write nothing.

    A chunk of at least ``batch_min`` contacts goes through the batch scorer; should it fail, the
    per-contact scorer takes over, and a contact that fails there too is reported in ``failed``.
    """
    data = store.load_for_scoring(ids)
    adjusted = adjustments.for_scoring(store.engine, store.crm, ids)
    out = ScoredChunk(ids=list(ids), as_of=as_of)
    _seed_first_states(scorers.models, data, as_of, out)
    failed: set[str] = set()
    results: list[ScoreResult] = []
    for model, scorer, batch in zip(scorers.models, scorers.scorers, scorers.batch, strict=True):
        results += _score_model(model, scorer, batch if len(ids) >= batch_min else None, data, adjusted, as_of, failed, out)
    results = [r for r in results if r.contact_id not in failed]
    out.moves = [m for m in out.moves if m[0] not in failed]
    by_name = {m.model: m for m in scorers.models}
    names = {m.model: m.output_names() for m in scorers.models}
    for r in results:
        expiry = adjustments.next_expiry(adjusted.get(r.contact_id, ()), r.model, as_of)
        # Rescored when an adjustment stops counting, if that comes before the model's own next change.
        row = score_row(r, expiry if expiry is not None and (r.changes_at is None or expiry < r.changes_at) else None)
        if data.digest.get((r.contact_id, r.model)) != row["digest"]:
            out.scores.append(row)  # an unchanged score is not written again (the daily rescore: almost all)
        wanted = outputs_of(r, by_name[r.model], reasons_limit, names[r.model])
        out.desired.setdefault(r.contact_id, {}).update({field: jsonable(value) for field, value in wanted.items()})
        before = data.previous_stage.get((r.contact_id, r.model))
        if r.stage != before and ((r.contact_id, r.model) in data.previous_stage or r.stage is not None):
            why = f"excluded: {r.excluded}" if r.excluded else stage_reason(by_name[r.model], r.stage, r.dimensions, r.score, before)
            out.moves.append((r.contact_id, r.model, before, r.stage, as_of, why))
        out.firings += [
            Firing(r.contact_id, r.model, e.trigger, e.watched, e.value, tuple(dict(a) for a in e.actions), r.as_of) for e in r.triggers
        ]
    return out


def _seed_first_states(models: t.Sequence[ScoringModel], data: ToScore, as_of: dt.datetime, out: ScoredChunk) -> None:
    """Before a contact's first scoring under a model, start from the stage the CRM's own dates give.

    See :mod:`connector.sync.stagedates`: the seeded state becomes the previous state (so
    ``reset_on_enter`` counts from the CRM's date, not from today) and its dates the first rows of
    the stage history.
    """
    for contact in data.contacts:
        if not contact.stage_dates:
            continue
        for model in models:
            key = (contact.id, model.model)
            if key in data.previous:
                continue
            seeded = seed(model, contact.stage_dates, as_of)
            if seeded is None:
                continue
            data.previous[key] = seeded.state
            data.previous_stage[key] = seeded.state.stage
            out.moves += [(contact.id, model.model, before, stage, at, why) for before, stage, at, why in seeded.moves]


def _score_model(
    model: ScoringModel,
    scorer: Scorer,
    batch: BatchScorer | None,
    data: ToScore,
    adjusted: t.Mapping[str, t.Sequence[adjustments.Stored]],
    as_of: dt.datetime,
    failed: set[str],
    out: ScoredChunk,
) -> list[ScoreResult]:
    """Score a chunk under one model; a contact the engine cannot score is reported, not fatal."""
    previous = {cid: st for (cid, m), st in data.previous.items() if m == model.model}
    mine = {c.id: adjustments.active(adjusted.get(c.id, ()), model.model, as_of) for c in data.contacts if c.id in adjusted}
    if batch is not None:
        try:
            flat = [a for c in data.contacts for a in data.activities[c.id]]
            return list(batch.score(data.contacts, flat, [a for c in data.contacts for a in mine.get(c.id, ())], as_of, previous))
        except Exception as exc:  # noqa: BLE001 - the per-contact scorer takes over and names the culprit
            out.warnings.append(f"batch scoring failed under model {model.model} ({type(exc).__name__}: {exc}); scored contact by contact")
    scored = []
    for contact in data.contacts:
        if contact.id in failed:
            continue
        try:
            scored.append(scorer.score(contact, data.activities[contact.id], mine.get(contact.id, ()), as_of, previous.get(contact.id)))
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the run
            failed.add(contact.id)
            out.failed.append((contact.id, f"model {model.model}: {type(exc).__name__}: {exc}", {"contact_id": contact.id, "properties": dict(contact.properties)}))
    return scored
