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
    #: ``(contact, model, from stage, to stage, at)``
    moves: list[tuple[str, str, str | None, str | None, dt.datetime]] = dc.field(default_factory=list)
    firings: list[Firing] = dc.field(default_factory=list)
    #: ``(contact id, reason, raw record)`` of contacts the engine could not score (quarantined).
    failed: list[tuple[str, str, dict[str, t.Any]]] = dc.field(default_factory=list)
    #: Problems to log (a batch scorer that failed and was replaced by the per-contact one).
    warnings: list[str] = dc.field(default_factory=list)


def score_row(result: ScoreResult) -> dict[str, t.Any]:
    """A score as its row of the ``scores`` table: dimensions, reasons and state already JSON-encoded.

    ``digest`` hashes every column but ``as_of``: a rescoring giving the stored digest again
    changed nothing, and its row is not written (:func:`score_chunk`).
    """
    dimensions = encoded_json(dict(result.dimensions))
    reasons = encoded_json([x.to_dict() for x in result.reasons])
    state = encoded_json(result.state.to_dict())
    changes_at = result.changes_at.isoformat() if result.changes_at else ""
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
        "changes_at": result.changes_at,
        "digest": hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest(),
    }


def score_chunk(store: Store, scorers: ScorerSet, ids: t.Sequence[str], *, as_of: dt.datetime, reasons_limit: int, batch_min: int) -> ScoredChunk:
    """Score ``ids`` under every model as of ``as_of``; read from ``store``, write nothing.

    A chunk of at least ``batch_min`` contacts goes through the batch scorer; should it fail, the
    per-contact scorer takes over, and a contact that fails there too is reported in ``failed``.
    """
    data = store.load_for_scoring(ids)
    out = ScoredChunk(ids=list(ids), as_of=as_of)
    failed: set[str] = set()
    results: list[ScoreResult] = []
    for model, scorer, batch in zip(scorers.models, scorers.scorers, scorers.batch, strict=True):
        results += _score_model(model, scorer, batch if len(ids) >= batch_min else None, data, as_of, failed, out)
    results = [r for r in results if r.contact_id not in failed]
    by_name = {m.model: m for m in scorers.models}
    names = {m.model: m.output_names() for m in scorers.models}
    for r in results:
        row = score_row(r)
        if data.digest.get((r.contact_id, r.model)) != row["digest"]:
            out.scores.append(row)  # an unchanged score is not written again (the daily rescore: almost all)
        wanted = outputs_of(r, by_name[r.model], reasons_limit, names[r.model])
        out.desired.setdefault(r.contact_id, {}).update({field: jsonable(value) for field, value in wanted.items()})
        before = data.previous_stage.get((r.contact_id, r.model))
        if r.stage != before and ((r.contact_id, r.model) in data.previous_stage or r.stage is not None):
            out.moves.append((r.contact_id, r.model, before, r.stage, as_of))
        out.firings += [
            Firing(r.contact_id, r.model, e.trigger, e.watched, e.value, tuple(dict(a) for a in e.actions), r.as_of) for e in r.triggers
        ]
    return out


def _score_model(
    model: ScoringModel, scorer: Scorer, batch: BatchScorer | None, data: ToScore, as_of: dt.datetime, failed: set[str], out: ScoredChunk
) -> list[ScoreResult]:
    """Score a chunk under one model; a contact the engine cannot score is reported, not fatal."""
    previous = {cid: st for (cid, m), st in data.previous.items() if m == model.model}
    if batch is not None:
        try:
            flat = [a for c in data.contacts for a in data.activities[c.id]]
            return list(batch.score(data.contacts, flat, [], as_of, previous))
        except Exception as exc:  # noqa: BLE001 - the per-contact scorer takes over and names the culprit
            out.warnings.append(f"batch scoring failed under model {model.model} ({type(exc).__name__}: {exc}); scored contact by contact")
    scored = []
    for contact in data.contacts:
        if contact.id in failed:
            continue
        try:
            scored.append(scorer.score(contact, data.activities[contact.id], [], as_of, previous.get(contact.id)))
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the run
            failed.add(contact.id)
            out.failed.append((contact.id, f"model {model.model}: {type(exc).__name__}: {exc}", {"contact_id": contact.id, "properties": dict(contact.properties)}))
    return scored
