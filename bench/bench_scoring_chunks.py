"""CPU of ``BatchScorer.score`` on sync-sized chunks: what the sync pays per contact per model.

    .venv/bin/python bench/bench_scoring_chunks.py                       # 20,000 contacts, chunks of 200
    .venv/bin/python bench/bench_scoring_chunks.py --chunk 100 --activities-per-contact 5

The sync (``connector/sync/pipeline.py``, ``score_chunk``) scores ~200 contacts at a time under
every shipped model through ``BatchScorer.score`` (records in, ``ScoreResult`` objects out). At
that size the fixed cost of a call (per-condition masks, column building, result objects)
matters more than the per-row numpy work that ``bench_scoring.py`` times on a million rows.

Data: ``_scoring_data.generate`` (realistic contacts), turned into canonical records chunk by
chunk as the sync's store hands them over (not timed). ``--activities-per-contact`` defaults to
0.5, the shape of ``bench_sync.py`` (10 % of contacts active with a handful of events); use 5-10
for an engaged portal. Adjustments: none (the sync passes
the few contacts' manual adjustments; most have none). Previous states: ~70 % scored
before, per model.

Prints one ``key: value`` per line: per model and in total, ``us_per_contact`` (CPU time,
``time.process_time``, best of ``--repeat`` passes over all chunks; steadier than wall time on a
shared machine) and ``wall_us_per_contact``; ``identical``: the batch results of ``--check``
chunks equal the per-contact engine's (``Scorer.score``) field by field.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time
import typing as t

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _scoring_data import _previous, generate  # noqa: E402
from bench_scoring import AS_OF, records  # noqa: E402

from connector.scoring.batch import BatchScorer  # noqa: E402
from connector.scoring.columns import NO_TIME, from_micros, to_micros  # noqa: E402
from connector.scoring.engine import Scorer  # noqa: E402
from connector.scoring.loader import load_model  # noqa: E402
from connector.scoring.model import ScoringModel  # noqa: E402
from connector.scoring.records import Activity, Contact  # noqa: E402
from connector.scoring.result import ScoringState  # noqa: E402

MODELS = sorted((HERE.parent / "mappings" / "models").glob("*.yaml"))

Chunk = tuple[list[Contact], list[Activity], dict[str, dict[str, ScoringState]]]


def states_for(model: ScoringModel, n: int, ids: t.Sequence[str], seed: int) -> dict[str, ScoringState]:
    """Previous states of every contact under ``model`` (about 70 % scored before)."""
    prev = _previous(np.random.default_rng(seed), model, n, to_micros(AS_OF))
    out = {}
    for i, cid in enumerate(ids):
        entered = int(prev.entered[i])
        if prev.stage[i] is None and entered == NO_TIME:
            continue
        out[cid] = ScoringState(
            stage=prev.stage[i],
            stage_entered_at=from_micros(entered) if entered != NO_TIME else None,
            armed={k: bool(v[i]) for k, v in prev.armed.items()},
        )
    return out


def chunks(models: t.Sequence[ScoringModel], n: int, per_contact: float, size: int, seed: int) -> list[Chunk]:
    """The data set cut into sync-sized chunks of records, with each model's previous states."""
    data = generate(models[0], n, max(1, int(n * per_contact)), seed, AS_OF)
    ids = list(data.contacts.ids)
    states = {m.model: states_for(m, n, ids, seed + k + 1) for k, m in enumerate(models)}
    out = []
    for start in range(0, n, size):
        rows = np.arange(start, min(n, start + size))
        contacts, acts, _, _ = records(data, rows)
        flat = [a for c in contacts for a in acts.get(c.id, [])]
        mine = {c.id for c in contacts}
        out.append((contacts, flat, {name: {k: v for k, v in s.items() if k in mine} for name, s in states.items()}))
    return out


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=200)
    parser.add_argument("--activities-per-contact", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3, help="passes over all chunks; the best one counts")
    parser.add_argument("--check", type=int, default=5, help="chunks compared with the per-contact engine")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    models = [load_model(p) for p in MODELS]
    started = time.perf_counter()
    data = chunks(models, args.contacts, args.activities_per_contact, args.chunk, args.seed)
    generate_seconds = time.perf_counter() - started

    cpu: dict[str, float] = {}
    wall: dict[str, float] = {}
    for _ in range(args.repeat):
        # A new scorer per pass, as a sync run makes them: what a scorer remembers from one
        # pass must not make the next pass over the same contacts look cheaper than a real run.
        scorers = [BatchScorer(m) for m in models]
        for model, scorer in zip(models, scorers, strict=False):
            c0, w0 = time.process_time(), time.perf_counter()
            for contacts, acts, states in data:
                scorer.score(contacts, acts, [], AS_OF, states[model.model])
            c1, w1 = time.process_time(), time.perf_counter()
            cpu[model.model] = min(cpu.get(model.model, float("inf")), c1 - c0)
            wall[model.model] = min(wall.get(model.model, float("inf")), w1 - w0)

    identical = True
    for model, scorer in zip(models, scorers, strict=False):
        engine = Scorer(model)
        for contacts, acts, states in data[: args.check]:
            per: dict[str, list[Activity]] = {}
            for a in acts:
                per.setdefault(t.cast(str, a.contact_id), []).append(a)
            want = [engine.score(c, per.get(c.id, []), [], AS_OF, states[model.model].get(c.id)) for c in contacts]
            identical &= scorer.score(contacts, acts, [], AS_OF, states[model.model]) == want

    n = args.contacts
    load1, load5, _ = os.getloadavg()
    figures: dict[str, t.Any] = {
        "contacts": n,
        "chunk": args.chunk,
        "chunks": len(data),
        "activities": sum(len(a) for _, a, _ in data),
        "generate_seconds": f"{generate_seconds:.2f}",
    }
    for model in models:
        figures[f"{model.model}.us_per_contact"] = f"{cpu[model.model] / n * 1e6:.1f}"
        figures[f"{model.model}.wall_us_per_contact"] = f"{wall[model.model] / n * 1e6:.1f}"
    figures["all_models.us_per_contact"] = f"{sum(cpu.values()) / n * 1e6:.1f}"
    figures["all_models.us_per_call"] = f"{sum(cpu.values()) / len(data) / len(models) * 1e6:.0f}"
    figures["identical"] = str(identical).lower()
    figures["load_average"] = f"{load1:.2f} (1 min), {load5:.2f} (5 min)"
    figures["cpus"] = os.cpu_count()
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
