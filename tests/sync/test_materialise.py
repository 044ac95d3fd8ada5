"""Moved contacts written from their result columns write exactly what their results would.

:func:`connector.sync.materialise.materialise` builds score rows, output values, stage moves and
firings straight from :class:`~connector.scoring.columns.ResultColumns`; the reference is the
exact path: :meth:`~connector.scoring.batch.BatchScorer.results` makes ``ScoreResult`` objects of
the same columns and :func:`connector.sync.scorers.add_results` turns them into the same things.
Random models (every part of the schema: exclusions, stages, triggers, floors and ceilings,
activity rules with counts, decay) and random stored scores (none, the same digest, another one)
are compared field by field, in order, at several summary lengths (the cut with ``…`` included).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.scoring.batch import BatchScorer
from connector.scoring.batch.fingerprint import fingerprints
from connector.scoring.engine import Scorer
from connector.scoring.explain import _MORE, _SEP, fit_summary
from connector.scoring.result import ScoringState
from connector.sync.materialise import Materialise, StoredRows, materialise
from connector.sync.scorers import ChunkOptions, ScoredChunk, ScorerSet, add_results
from connector.sync.store import ToScore
from tests.scoring.test_batch_equivalence import AS_OF, random_data, random_model


def _case(seed: int, n: int, limit: int) -> tuple[ScoredChunk, ScoredChunk, Materialise, list[str]]:
    """The same moved contacts written both ways: (reference, column-wise, the job, the model names)."""
    rng = random.Random(seed)
    models = [random_model(rng, 2 * seed), random_model(rng, 2 * seed + 1)]
    scorers = ScorerSet(models, [Scorer(m) for m in models], [BatchScorer(m) for m in models])
    options = ChunkOptions(reasons_limit=limit, batch_min=1, context="test")
    first = models[0]
    contacts, activities, _, _ = random_data(rng, n, [], [], list(first.dimensions))
    ids = [c.id for c in contacts]
    columns, previous, stored, prints = [], [], [], []
    for model, batch in zip(models, scorers.batch, strict=True):
        stage_names = [s.name for s in model.stages.order] if model.stages else []
        _, _, _, states = random_data(random.Random(seed * 7 + len(stage_names)), n, [tr.id for tr in model.triggers], stage_names, list(model.dimensions))
        cols = batch.columns_of(contacts, activities, [], AS_OF, states)
        columns.append(cols)
        previous.append(states)
        prints.append(fingerprints(cols, "salt"))
        stored.append(StoredRows(
            state=[states.get(cid) for cid in ids],
            stage=[rng.choice([*stage_names, None, "retired"]) if cid in states else None for cid in ids],
            digest=[None] * n,
            fingerprint=[None] * n,
        ))  # fmt: skip

    def reference() -> ScoredChunk:
        out = ScoredChunk(ids=ids, as_of=AS_OF)
        data = ToScore([], {}, {}, {}, {}, {})
        print_of: dict[tuple[str, str], str] = {}
        results = []
        for model, batch, cols, states, rows, fps in zip(models, scorers.batch, columns, previous, stored, prints, strict=True):
            results += batch.results(cols, [], states, AS_OF)
            for i, cid in enumerate(ids):
                key = (cid, model.model)
                print_of[key] = fps[i]
                if rows.state[i] is not None:
                    data.previous_stage[key] = rows.stage[i]
                    data.digest[key] = rows.digest[i]
                    data.fingerprint[key] = rows.fingerprint[i]
        add_results(out, results, scorers, data, print_of, {}, options)
        return out

    # A stored score whose digest and fingerprint are the new ones is not written again: make
    # some contacts so (only those with a stored score), and some with the digest but not the fingerprint.
    written = reference().scores
    digests = {(row["contact_id"], row["model"]): row["digest"] for row in written}
    for model, rows, fps in zip(models, stored, prints, strict=True):
        for i, cid in enumerate(ids):
            roll = rng.random()
            if rows.state[i] is not None and roll < 0.5:
                rows.digest[i] = digests[(cid, model.model)]
                rows.fingerprint[i] = fps[i] if roll < 0.35 else "0" * 32
    job = Materialise(ids, AS_OF, columns, stored, prints)
    return reference(), materialise(job, scorers, options), job, [m.model for m in models]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("limit", [255, 40, 12, 0])
def test_columns_write_what_results_write(seed: int, limit: int) -> None:
    want, got, _, _ = _case(seed, 30, limit)
    assert len(got.scores) == len(want.scores)
    for a, b in zip(want.scores, got.scores, strict=True):
        assert a == b, f"seed {seed}: score row of {a['contact_id']} under {a['model']}:\n{_diff(a, b)}"
    assert list(got.desired) == list(want.desired)
    for cid, values in want.desired.items():
        assert list(got.desired[cid].items()) == list(values.items()), f"seed {seed}: outputs of {cid}"
    assert got.moves == want.moves
    assert got.firings == want.firings
    assert (got.failed, got.warnings) == ([], [])


def test_the_cases_cover_what_can_differ() -> None:
    """The random cases hold exclusions, clamps, firings, moves, cut summaries and rows left unwritten."""
    seen = {"excluded": 0, "clamp": 0, "firing": 0, "move": 0, "cut": 0, "kept": 0}
    for seed in range(40):
        want, _, _, _ = _case(seed, 30, 40)
        seen["excluded"] += sum(row["excluded"] is not None for row in want.scores)
        seen["clamp"] += sum('"kind": "clamp"' in row["reasons"] for row in want.scores)
        seen["firing"] += len(want.firings)
        seen["move"] += len(want.moves)
        seen["cut"] += sum(any(isinstance(v, str) and v.endswith(_MORE) for v in values.values()) for values in want.desired.values())
        seen["kept"] += 60 - len(want.scores)
    assert all(seen.values()), seen


def test_excluded_contacts_keep_their_previous_state() -> None:
    """An excluded contact's row holds the state stored before (or the first one), not a new one."""
    kept = 0
    for seed in range(10):
        _, got, job, names = _case(seed, 30, 255)
        position = {cid: i for i, cid in enumerate(job.ids)}
        for row in got.scores:
            if row["excluded"] is not None:
                stored = job.stored[names.index(row["model"])].state[position[row["contact_id"]]]
                assert json.loads(row["state"]) == (stored or ScoringState()).to_dict(), (seed, row["contact_id"])
                kept += 1
    assert kept


def _diff(a: dict[str, t.Any], b: dict[str, t.Any]) -> str:
    return "\n".join(f"  {k}: {a.get(k)!r} != {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def _greedy(parts: list[str], max_chars: int) -> str:
    """The summary's cut, written the long way (every part tried in turn)."""
    if max_chars <= 0:
        return ""
    out = ""
    for i, part in enumerate(parts):
        candidate = part if not out else out + _SEP + part
        room = max_chars - (len(_SEP) + len(_MORE) if i + 1 < len(parts) else 0)
        if len(candidate) <= room:
            out = candidate
            continue
        if not out:
            return (part[: max_chars - 1] + _MORE) if len(part) > max_chars else part[:max_chars]
        return out + _SEP + _MORE if len(out + _SEP + _MORE) <= max_chars else out
    return out


@given(parts=st.lists(st.text(max_size=30), max_size=8), max_chars=st.integers(-1, 120))
def test_fit_summary_is_the_greedy_cut(parts: list[str], max_chars: int) -> None:
    assert fit_summary(parts, max_chars) == _greedy(parts, max_chars)


def test_as_of_is_utc_in_rows_and_firings() -> None:
    want, got, _, _ = _case(5, 20, 255)
    assert all(row["as_of"] == AS_OF and row["as_of"].tzinfo is dt.UTC for row in got.scores)
    assert [f.fired_at for f in got.firings] == [f.fired_at for f in want.firings]
