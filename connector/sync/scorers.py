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
import functools
import hashlib
import json
import logging
import math
import pathlib
import typing as t

import connector.scoring
from connector.scoring.batch import BatchScorer
from connector.scoring.batch.fingerprint import fingerprints
from connector.scoring.columns import ResultColumns
from connector.scoring.engine import Scorer
from connector.scoring.explain import summary
from connector.scoring.loader import load_models, load_predictors
from connector.scoring.model import ScoringModel
from connector.scoring.result import Reason, ScoreResult, ScoringState
from connector.sync import adjustments
from connector.sync.outbox import Prepared
from connector.sync.stagedates import seed, stage_reason
from connector.sync.store import ToScore, jsonable
from connector.sync.write_policy import WritePolicy

if t.TYPE_CHECKING:
    from connector.sync.store import Store

log = logging.getLogger(__name__)

__all__ = ["ChunkOptions", "Firing", "ScoredChunk", "ScorerSet", "Texts", "add_results", "json_number", "outputs_of", "row_digest", "score_chunk", "scoring_context"]


@dc.dataclass
class ScorerSet:
    """The models of one CRM, each with a per-contact scorer and a batch scorer."""

    models: list[ScoringModel]
    scorers: list[Scorer]
    batch: list[BatchScorer]
    #: Per model: what its fingerprints are salted with (the validated model and the engine's code).
    keys: list[str] = dc.field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.keys:
            engine = engine_digest()
            self.keys = [f"{engine}\x1f{m.model_dump_json()}" for m in self.models]

    @property
    def companions(self) -> set[str]:
        """Output fields written only beside a real change (each model's ``scored_at``): see :func:`connector.sync.outbox.stage_changes`."""
        return {m.output_names()["scored_at"] for m in self.models}

    @property
    def fingerprinted(self) -> bool:
        """Whether results can be told apart by fingerprint: no model has a predictive dimension."""
        return not any(d.predictive is not None for m in self.models for d in m.dimensions.values())

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


def outputs_of(
    result: ScoreResult, model: ScoringModel, reasons_max_chars: int, names: t.Mapping[str, str] | None = None, texts: Texts | None = None
) -> dict[str, t.Any]:
    """The values a score result writes to the CRM, keyed by canonical output name.

    ``names``: ``model.output_names()``, when the caller has it already (it runs per result);
    ``texts``: the reasons' wordings made so far (see :class:`Texts`).
    """
    names = names if names is not None else model.output_names()
    out: dict[str, t.Any] = {names["score"]: result.score}
    for dim in model.dimensions:
        out[names[f"dimension:{dim}"]] = result.dimensions.get(dim)
    for key in ("grade", "matrix", "stage"):
        if key in names:
            out[names[key]] = getattr(result, key)
    out[names["reasons"]] = summary(result, reasons_max_chars, texts.reason_text if texts is not None else None)
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
    #: The changes to stage, compared with the written values where the chunk was scored (the full
    #: rescore's; see :func:`connector.sync.outbox.diff_written`).
    prepared: Prepared = dc.field(default_factory=dict)


@functools.cache
def engine_digest() -> str:
    """A digest of the code that turns inputs into results and outputs (the scoring package and this module).

    Salted into fingerprints: an upgrade that changes how anything is scored or written reaches
    every contact at the next full rescore, with no version number anyone must remember to bump.
    """
    root = pathlib.Path(connector.scoring.__file__).parent
    h = hashlib.blake2b(digest_size=16)
    for path in sorted([*root.rglob("*.py"), pathlib.Path(__file__)]):
        h.update(path.read_bytes())
    return h.hexdigest()


@dc.dataclass(frozen=True)
class ChunkOptions:
    """How a CRM's chunks are scored (plain data: it travels to the scoring worker).

    ``reasons_limit``: longest reasons summary; ``batch_min``: smallest chunk for the batch scorer;
    ``context``: salted into fingerprints (:func:`scoring_context`); ``write_policy``: the CRM's
    (the full rescore compares what moved with what was written, :attr:`ScoredChunk.prepared`).
    """

    reasons_limit: int
    batch_min: int
    context: str
    write_policy: WritePolicy = dc.field(default_factory=dict)


def scoring_context(reasons_limit: int, write_policy: t.Mapping[str, t.Any]) -> str:
    """What, besides the model, decides what a result writes: salted into every fingerprint.

    A change of either (a longer reasons text, a write policy that lets held-back changes through)
    must reach every contact at the next full rescore, as a model change does.
    """
    policy = json.dumps({k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in write_policy.items()}, sort_keys=True)
    return f"reasons_limit={reasons_limit}\x1fwrite_policy={policy}"


class Texts:
    """Texts many results share -- each reason's JSON and wording, each state's JSON -- made once.

    Why: a rescore writes hundreds of thousands of rows whose reasons are a few thousand distinct
    (rule, points, count) objects; encoding them again for every row was most of the cost of
    writing a score. One per chunk (bounded by the chunk), passed to :func:`score_row` and
    :func:`outputs_of`; the texts are exactly those ``json.dumps`` and ``summary`` make.
    """

    def __init__(self) -> None:
        self.reason_json: dict[tuple[Reason, float], str] = {}
        #: a reason's JSON around its points, per everything else in it (decay makes points vary)
        self.reason_frame: dict[tuple[t.Any, ...], tuple[str, str] | None] = {}
        #: per tuple of dimension names: each name's JSON key
        self.dimension_keys: dict[tuple[str, ...], list[str]] = {}
        self.state_json: dict[tuple[t.Any, ...], str] = {}
        #: reason -> its wording in the summary (:func:`connector.scoring.explain.summary`)
        self.reason_text: dict[Reason, str] = {}

    def reasons(self, reasons: t.Sequence[Reason]) -> str:
        """``json.dumps([r.to_dict() for r in reasons])``: ``json.dumps`` joins list items with ``", "``."""
        parts = []
        for r in reasons:
            key = (r, math.copysign(1.0, r.points))  # 0.0 == -0.0, but they encode differently
            text = self.reason_json.get(key)
            if text is None:
                text = self.reason_json[key] = self._reason(r)
            parts.append(text)
        return "[" + ", ".join(parts) + "]"

    def _reason(self, r: Reason) -> str:
        """``json.dumps(r.to_dict())``, its text around the points made once per rule, count and label."""
        number = json_number(r.points)
        frame = self.frame(r) if number is not None else None
        if frame is None:
            return json.dumps(r.to_dict())
        return frame[0] + t.cast(str, number) + frame[1]

    def frame(self, r: Reason) -> tuple[str, str] | None:
        """The reason's JSON before and after its points (``None``: a label holds the stand-in itself)."""
        key = (r.rule, r.dimension, r.label, r.count, r.kind, r.detail)
        found = self.reason_frame.get(key)
        if found is None and key not in self.reason_frame:
            text, slot = json.dumps({**r.to_dict(), "points": _SLOT}), json.dumps(_SLOT)
            head, _, tail = text.partition(slot)
            found = self.reason_frame[key] = (head, tail) if text.count(slot) == 1 else None
        return found

    def dimensions(self, values: t.Mapping[str, float]) -> str:
        """``json.dumps(dict(values))``."""
        names = tuple(values)
        keys = self.dimension_keys.get(names)
        if keys is None:
            keys = self.dimension_keys[names] = [json.dumps(n) + ": " for n in names]
        numbers = [json_number(v) for v in values.values()]
        if None in numbers:
            return json.dumps(dict(values))
        return "{" + ", ".join([k + t.cast(str, n) for k, n in zip(keys, numbers, strict=True)]) + "}"

    def state(self, state: ScoringState) -> str:
        """``json.dumps(state.to_dict())``."""
        entered = state.stage_entered_at
        key = (state.stage, entered.isoformat() if entered else None, tuple(state.armed.items()))
        text = self.state_json.get(key)
        if text is None:
            text = self.state_json[key] = json.dumps(state.to_dict())
        return text


#: Stands in for a reason's points while its JSON frame is made (no label or rule id contains it).
_SLOT = "\x00points\x00"


def json_number(value: object) -> str | None:
    """A number as ``json.dumps`` writes it (``None``: not a plain finite number; let ``json.dumps`` decide)."""
    kind = type(value)
    if kind is float:
        return float.__repr__(t.cast(float, value)) if math.isfinite(t.cast(float, value)) else None
    if kind is int:
        return int.__repr__(t.cast(int, value))
    return None


def score_row(result: ScoreResult, changes_at_override: dt.datetime | None = None, fingerprint: str | None = None, texts: Texts | None = None) -> dict[str, t.Any]:
    """A score as its row of the ``scores`` table: dimensions, reasons and state already JSON text (:data:`~connector.sync.store.SCORE_JSON`).

    ``digest`` hashes every column but ``as_of``: a rescoring giving the stored digest again
    changed nothing, and its row is not written (:func:`score_chunk`). ``changes_at_override``:
    an earlier instant the contact must be rescored at (a manual adjustment expiring).
    ``fingerprint``: the result's digest by columns (:mod:`connector.scoring.batch.fingerprint`;
    ``None`` when it has none), which lets the full rescore skip the contact while it holds.
    """
    texts = texts or Texts()
    dimensions = texts.dimensions(result.dimensions)
    reasons = texts.reasons(result.reasons)
    state = texts.state(result.state)
    changes = changes_at_override or result.changes_at
    changes_at = changes.isoformat() if changes else ""
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
        "digest": row_digest((repr(result.score), dimensions, str(result.grade), str(result.matrix), str(result.stage), str(result.excluded), reasons, state, changes_at)),
        "fingerprint": fingerprint,
    }


def row_digest(parts: t.Sequence[str]) -> str:
    """A score row's digest: its texts (score, dimensions, grade, matrix, stage, exclusion, reasons, state, next change) hashed."""
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def score_chunk(store: Store, scorers: ScorerSet, ids: t.Sequence[str], *, as_of: dt.datetime, options: ChunkOptions) -> ScoredChunk:
    """Score ``ids`` under every model as of ``as_of``; read from ``store``, write nothing.

    A chunk of at least ``options.batch_min`` contacts goes through the batch scorer; should it fail, the
    per-contact scorer takes over, and a contact that fails there too is reported in ``failed``.
    Results of the batch scorer carry their fingerprint (salted with the model's key and
    ``options.context``, see :func:`scoring_context`), except for contacts with manual adjustments.
    """
    data = store.load_for_scoring(ids)
    adjusted = adjustments.for_scoring(store.engine, store.crm, ids)
    out = ScoredChunk(ids=list(ids), as_of=as_of)
    _seed_first_states(scorers.models, data, as_of, out)
    failed: set[str] = set()
    results: list[ScoreResult] = []
    prints: dict[tuple[str, str], str] = {}
    salt = options.context if scorers.fingerprinted else None
    for model, scorer, batch, key in zip(scorers.models, scorers.scorers, scorers.batch, scorers.keys, strict=True):
        use_batch = len(ids) >= options.batch_min
        results += _score_model(model, scorer, batch, use_batch, data, adjusted, as_of, failed, out, prints, None if salt is None else key + salt)
    results = [r for r in results if r.contact_id not in failed]
    out.moves = [m for m in out.moves if m[0] not in failed]
    add_results(out, results, scorers, data, prints, adjusted, options)
    return out


def add_results(
    out: ScoredChunk,
    results: t.Iterable[ScoreResult],
    scorers: ScorerSet,
    stored: ToScore,
    prints: t.Mapping[tuple[str, str], str],
    adjusted: t.Mapping[str, t.Sequence[adjustments.Stored]],
    options: ChunkOptions,
) -> None:
    """What results write, into ``out``: changed score rows, outputs, stage moves and firings.

    ``stored``: the stored stage, digest and fingerprint per (contact, model) (its other fields
    are not read); ``prints``: the results' fingerprints; ``adjusted``: the contacts' recorded
    adjustments. Shared by :func:`score_chunk` and the columnar full rescore
    (:mod:`connector.sync.rescore`), so both write exactly the same.
    """
    as_of = out.as_of
    texts = Texts()
    by_name = {m.model: m for m in scorers.models}
    names = {m.model: m.output_names() for m in scorers.models}
    for r in results:
        expiry = adjustments.next_expiry(adjusted.get(r.contact_id, ()), r.model, as_of)
        # Rescored when an adjustment stops counting, if that comes before the model's own next change.
        key = (r.contact_id, r.model)
        row = score_row(r, expiry if expiry is not None and (r.changes_at is None or expiry < r.changes_at) else None, prints.get(key), texts)
        if stored.digest.get(key) != row["digest"] or (row["fingerprint"] is not None and stored.fingerprint.get(key) != row["fingerprint"]):
            out.scores.append(row)  # an unchanged score is not written again (the daily rescore: almost all)
        wanted = outputs_of(r, by_name[r.model], options.reasons_limit, names[r.model], texts)
        out.desired.setdefault(r.contact_id, {}).update({field: jsonable(value) for field, value in wanted.items()})
        before = stored.previous_stage.get(key)
        if r.stage != before and (key in stored.previous_stage or r.stage is not None):
            why = f"excluded: {r.excluded}" if r.excluded else stage_reason(by_name[r.model], r.stage, r.dimensions, r.score, before)
            out.moves.append((r.contact_id, r.model, before, r.stage, as_of, why))
        out.firings += [Firing(r.contact_id, r.model, e.trigger, e.watched, e.value, tuple(dict(a) for a in e.actions), r.as_of) for e in r.triggers]


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
    batch: BatchScorer,
    use_batch: bool,
    data: ToScore,
    adjusted: t.Mapping[str, t.Sequence[adjustments.Stored]],
    as_of: dt.datetime,
    failed: set[str],
    out: ScoredChunk,
    prints: dict[tuple[str, str], str],
    salt: str | None,
) -> list[ScoreResult]:
    """Score a chunk under one model; a contact the engine cannot score is reported, not fatal.

    ``use_batch``: results from the batch scorer (a chunk large enough), else contact by contact.
    With a ``salt``, every result gets its fingerprint in ``prints`` -- from the batch scorer's
    columns, computed for the purpose when the chunk is scored contact by contact -- except for
    contacts with manual adjustments (their reasons hold text the columns do not).
    """
    previous = {cid: st for (cid, m), st in data.previous.items() if m == model.model}
    mine = {c.id: adjustments.active(adjusted.get(c.id, ()), model.model, as_of) for c in data.contacts if c.id in adjusted}
    flat = [a for c in data.contacts for a in data.activities[c.id]]
    mine_flat = [a for c in data.contacts for a in mine.get(c.id, ())]
    if use_batch:
        try:
            cols = batch.columns_of(data.contacts, flat, mine_flat, as_of, previous)
            _fingerprint(cols, salt, model, adjusted, prints)
            return batch.results(cols, mine_flat, previous, as_of)
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
    if salt is not None and not use_batch and data.contacts:
        try:
            _fingerprint(batch.columns_of(data.contacts, flat, mine_flat, as_of, previous), salt, model, adjusted, prints)
        except Exception:
            log.debug("model %s: no fingerprints for a chunk scored contact by contact", model.model, exc_info=True)
    return scored


def _fingerprint(cols: ResultColumns, salt: str | None, model: ScoringModel, adjusted: t.Mapping[str, t.Any], prints: dict[tuple[str, str], str]) -> None:
    if salt is None:
        return
    for cid, fingerprint in zip(cols.contact_ids, fingerprints(cols, salt), strict=True):
        if cid not in adjusted:
            prints[(cid, model.model)] = fingerprint
