"""Scoring benchmark: the batch (numpy) scorer against a plain per-activity Python loop.

    .venv/bin/python bench/bench_scoring.py                      # 1,000,000 contacts, 10,000,000 activities
    .venv/bin/python bench/bench_scoring.py --contacts 100000 --activities 1000000

Prints one ``key: value`` per line:

- ``generate_seconds``: building the realistic data set (not part of scoring);
- ``seconds``, ``contacts_per_s``, ``activities_per_s``: ``BatchScorer.score_columns`` alone
  (wall clock), the **median of the warm calls**; ``cpu_seconds``: their median CPU time (less
  sensitive to a busy machine). ``score_columns`` is called ``--repeat`` times (default 5) on the
  same data in one process: the first call is **cold** (it pays the page faults of its fresh
  arrays and numpy's first-call set-up: ``cold_seconds``), the others are **warm**
  (``warm_seconds``: each call's wall clock with the 1-minute load average before it, then the
  median, min and max). Say which one you quote;
- ``peak_rss_mb``: the process's peak resident memory (``resource.getrusage``), data included;
- ``loop_seconds``, ``loop_mode``, ``speedup_vs_loop``: the same scoring by a plain per-activity
  Python loop (:func:`plain_loop`: for every activity rule, walk every activity of the contact;
  no memo, no vectors). A full loop over a million contacts takes many minutes, so by default it
  runs on a seeded random sample of contacts with *all* their activities and is extrapolated
  linearly in the number of contacts (``--loop-sample 0`` runs the full loop);
  ``speedup_vs_loop_cpu`` compares CPU times instead of wall clock (steadier on a shared
  machine);
- ``engine_seconds``, ``speedup_vs_engine``: the same for the per-contact engine
  (``Scorer.score``, which also builds reasons and ``changes_at`` and remembers condition answers
  per distinct value), extrapolated from the same sample;
- ``sample_identical``: the batch results of the sampled contacts, materialised as
  ``ScoreResult`` objects, equal the engine's field by field, and the plain loop's scores,
  dimensions, grades, stages and fired triggers (a benchmark of wrong answers is worth nothing);
- ``load_average``/``cpus``: the machine is shared, so the figures say how busy it was.

The model is ``mappings/models/b2b-saas.yaml`` (``--model`` for another one; when the file is
absent, a built-in model of the same richness from ``_scoring_data.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import resource
import statistics
import sys
import time
import typing as t

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _scoring_data import BUILTIN_MODEL, Dataset, generate  # noqa: E402

from connector.scoring import decay, grades, stages, triggers  # noqa: E402
from connector.scoring.batch import BatchScorer  # noqa: E402
from connector.scoring.columns import NO_TIME, from_micros  # noqa: E402
from connector.scoring.conditions import matches  # noqa: E402
from connector.scoring.engine import Scorer, contact_values  # noqa: E402
from connector.scoring.model import TOTAL, ScoringModel  # noqa: E402
from connector.scoring.records import Activity, Adjustment, Contact  # noqa: E402
from connector.scoring.result import ScoreResult, ScoringState, round2  # noqa: E402

DEFAULT_MODEL = HERE.parent / "mappings" / "models" / "b2b-saas.yaml"
AS_OF = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def load(path: pathlib.Path) -> ScoringModel:
    """The benchmark model: the shipped B2B SaaS model, or a built-in one as rich when it is absent."""
    if not path.exists() and path == DEFAULT_MODEL:
        print(f"note: {path} not found; using the built-in model of the same richness")
        return ScoringModel.model_validate(BUILTIN_MODEL)
    from connector.scoring.loader import load_model

    return load_model(path)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def records(data: Dataset, rows: np.ndarray) -> tuple[list[Contact], dict[str, list[Activity]], list[Adjustment], dict[str, ScoringState]]:
    """Canonical records of some contacts, built from the columns (the loop's input)."""
    contacts = []
    for i in rows.tolist():
        props = {}
        for name, col in data.contacts.properties.items():
            code = int(col.codes[i])
            if code >= 0:
                props[name] = col.values[code]
        contacts.append(Contact(id=data.contacts.ids[i], properties=props))
    acts = data.activities
    wanted = np.zeros(len(data.contacts), dtype=bool)
    wanted[rows] = True
    mine = np.flatnonzero(wanted[acts.contact])
    per_contact: dict[str, list[Activity]] = {}
    for k in mine.tolist():
        attrs = {}
        for name, col in acts.attributes.items():
            code = int(col.codes[k])
            if code >= 0:
                attrs[name] = col.values[code]
        cid = data.contacts.ids[int(acts.contact[k])]
        per_contact.setdefault(cid, []).append(
            Activity(id=f"a{int(acts.order[k]):010d}", type=acts.type.values[acts.type.codes[k]], occurred_at=from_micros(int(acts.occurred[k])), contact_id=cid, attributes=attrs)
        )
    prev = data.previous
    states = {}
    for i in rows.tolist():
        entered = int(prev.entered[i])
        states[data.contacts.ids[i]] = ScoringState(
            stage=prev.stage[i],
            stage_entered_at=from_micros(entered) if entered != NO_TIME else None,
            armed={k: bool(v[i]) for k, v in prev.armed.items()},
        )
    return contacts, per_contact, all_adjustments(data), states


def all_adjustments(data: Dataset) -> list[Adjustment]:
    """Adjustment records aligned with the adjustment columns."""
    adj = data.adjustments
    return [
        Adjustment(contact_id=data.contacts.ids[int(c)], dimension=d, points=float(p), reason="rep adjustment", by="rep@example.com", at=from_micros(int(a)))
        for c, d, p, a in zip(adj.contact.tolist(), adj.dimension, adj.points.tolist(), adj.at.tolist(), strict=False)
    ]


class Plain(t.NamedTuple):
    """What the plain loop computes per contact (everything but reasons and ``changes_at``)."""

    score: float
    dimensions: dict[str, float]
    grade: str | None
    matrix: str | None
    stage: str | None
    fired: tuple[str, ...]


def plain_loop(model: ScoringModel, contact: Contact, acts: t.Sequence[Activity], adjs: t.Sequence[Adjustment], as_of: dt.datetime, prev: ScoringState) -> Plain:
    """The scoring of ``docs/scoring-semantics.md`` as a plain Python loop over the contact's activities.

    No memo, no index by type, no vectors: for every activity rule, walk every activity. It
    skips reasons and ``changes_at`` (less work than the real thing), so the speed-up over it is
    a lower bound. Its answers are checked against the batch scorer's.
    """
    ph = frozenset(model.placeholders)
    values = contact_values(contact)
    for exclusion in model.exclusions:
        if matches(exclusion.when, values, ph):
            dims = {d: round2(spec.floor) for d, spec in model.dimensions.items()}
            everything = {**dims, TOTAL: round2(model.total.floor)}
            return Plain(everything[TOTAL], dims, grades.grade(model.grade, everything), grades.matrix(model.matrix, everything), None, ())

    def dimensions(cutoffs: t.Mapping[str, dt.datetime]) -> dict[str, float]:
        raw = {d: 0.0 for d in model.dimensions}
        for rule in model.rules:
            if rule.when is not None:
                if matches(rule.when, values, ph):
                    raw[rule.dimension] += round2(rule.points)
                continue
            spec = t.cast(t.Any, rule.activity)
            cut = cutoffs.get(rule.dimension)
            kept = []
            for act in acts:
                if act.type not in spec.types or act.occurred_at > as_of or (cut is not None and act.occurred_at <= cut):
                    continue
                if spec.within_days is not None and as_of - act.occurred_at > dt.timedelta(days=spec.within_days):
                    continue
                if all(matches(w, act.attributes, ph) for w in spec.where):
                    kept.append(act)
            kept.sort(key=lambda a: a.id)
            kept.sort(key=lambda a: a.occurred_at, reverse=True)
            if spec.max_times is not None:
                kept = kept[: spec.max_times]
            total = 0.0
            for act in kept:
                total += decay.worth(rule.points, spec.decay, decay.age_days(as_of, act.occurred_at))
            if spec.max_points is not None:
                total = min(max(total, -spec.max_points), spec.max_points)
            raw[rule.dimension] += round2(total)
        for adj in adjs:
            cut = cutoffs.get(adj.dimension)
            if adj.dimension in raw and adj.at <= as_of and (cut is None or adj.at > cut):
                raw[adj.dimension] += round2(adj.points)
        return {d: round2(min(max(round2(raw[d]), spec.floor), spec.ceiling)) for d, spec in model.dimensions.items()}

    def with_total(dims: dict[str, float]) -> dict[str, float]:
        weighted = sum(model.dimensions[d].weight * dims[d] for d in model.dimensions)
        return {**dims, TOTAL: round2(min(max(weighted, model.total.floor), model.total.ceiling))}

    cutoffs = stages.reset_dimensions(model.stages, prev.stage, prev.stage_entered_at)
    everything = with_total(dimensions(cutoffs))
    stage = None
    if model.stages is not None:
        seen = {a.type for a in acts if a.occurred_at <= as_of}
        outcome = stages.next_stage(model.stages, everything, seen, values, ph, prev.stage, prev.stage_entered_at, as_of)
        stage = outcome.stage
        if outcome.changed:
            moved = stages.reset_dimensions(model.stages, stage, outcome.entered_at)
            if moved != cutoffs:
                everything = with_total(dimensions(moved))
    names = [s.name for s in model.stages.order] if model.stages else []
    events, _ = triggers.evaluate(model.triggers, everything, names, stage, prev.armed)
    dims = {d: everything[d] for d in model.dimensions}
    return Plain(everything[TOTAL], dims, grades.grade(model.grade, everything), grades.matrix(model.matrix, everything), stage, tuple(e.trigger for e in events))


def plain_of(result: ScoreResult) -> Plain:
    """The fields of a full result that the plain loop computes."""
    return Plain(result.score, dict(result.dimensions), result.grade, result.matrix, result.stage, tuple(e.trigger for e in result.triggers))


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", type=pathlib.Path, default=DEFAULT_MODEL)
    parser.add_argument("--loop-sample", type=int, default=2000, help="contacts the plain loop scores (0: all of them)")
    parser.add_argument("--repeat", type=int, default=5, help="calls of score_columns: the first is cold, the median of the others is reported (default 5)")
    args = parser.parse_args(argv)

    try:
        model = load(args.model)
    except ValueError as exc:  # YamlFileError and validation errors name the file and line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    data = generate(model, args.contacts, args.activities, args.seed, AS_OF)
    generate_seconds = time.perf_counter() - started
    rss_data = peak_rss_mb()

    scorer = BatchScorer(model)
    calls: list[tuple[float, float, float]] = []  # (wall, cpu, 1-minute load before the call)
    for _ in range(max(1, args.repeat)):
        result = None  # the previous call's columns are freed first, as a daily run would
        load_before = os.getloadavg()[0]
        started, cpu_started = time.perf_counter(), time.process_time()
        result = scorer.score_columns(data.contacts, data.activities, data.as_of, data.adjustments, data.previous)
        calls.append((time.perf_counter() - started, time.process_time() - cpu_started, load_before))
    rss = peak_rss_mb()
    warm = calls[1:] or calls
    seconds, cpu_seconds = statistics.median(c[0] for c in warm), statistics.median(c[1] for c in warm)

    n = len(data.contacts)
    sample = n if args.loop_sample <= 0 or args.loop_sample >= n else args.loop_sample
    rows = np.sort(np.random.default_rng(args.seed + 1).choice(n, size=sample, replace=False))
    contacts, per_contact, adjustments, states = records(data, rows)
    by_contact: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        by_contact.setdefault(adj.contact_id, []).append(adj)
    sample_activities = sum(len(v) for v in per_contact.values())
    if any(spec.predictive is not None for spec in model.dimensions.values()):
        print("error: the benchmark model must not have predictive dimensions", file=sys.stderr)
        return 2

    started, cpu_started = time.perf_counter(), time.process_time()
    plain = [plain_loop(model, c, per_contact.get(c.id, []), by_contact.get(c.id, []), AS_OF, states[c.id]) for c in contacts]
    loop_sample_seconds, loop_sample_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    loop_seconds, loop_cpu_seconds = loop_sample_seconds * n / sample, loop_sample_cpu * n / sample

    engine = Scorer(model)
    started = time.perf_counter()
    expected: list[ScoreResult] = [engine.score(c, per_contact.get(c.id, []), by_contact.get(c.id, []), AS_OF, states[c.id]) for c in contacts]
    engine_seconds = (time.perf_counter() - started) * n / sample

    got = scorer.results(result.take(rows), adjustments, states, AS_OF)
    identical = got == expected and [plain_of(r) for r in got] == plain

    load1, load5, _ = os.getloadavg()
    figures = {
        "model": model.model,
        "contacts": n,
        "activities": len(data.activities),
        "generate_seconds": f"{generate_seconds:.2f}",
        "seconds": f"{seconds:.2f} (median of {len(warm)} warm call(s))",
        "cpu_seconds": f"{cpu_seconds:.2f} (median, warm)",
        "cold_seconds": f"{calls[0][0]:.2f} (first call, cpu {calls[0][1]:.2f}, load before {calls[0][2]:.2f})",
        "warm_seconds": ", ".join(f"{w:.2f} (load {ld:.2f})" for w, _, ld in calls[1:]) + (f"; median {seconds:.2f}, min {min(c[0] for c in warm):.2f}, max {max(c[0] for c in warm):.2f}" if len(calls) > 1 else "none (--repeat 1)"),
        "contacts_per_s": f"{n / seconds:,.0f}",
        "activities_per_s": f"{len(data.activities) / seconds:,.0f}",
        "peak_rss_mb": f"{rss:.0f}",
        "rss_after_generate_mb": f"{rss_data:.0f}",
        "loop_seconds": f"{loop_seconds:.1f}",
        "loop_mode": "full" if sample == n else f"sampled {sample} of {n} contacts with all their {sample_activities} activities ({loop_sample_seconds:.2f} s), extrapolated linearly",
        "speedup_vs_loop": f"{loop_seconds / seconds:.1f}",
        "speedup_vs_loop_cpu": f"{loop_cpu_seconds / cpu_seconds:.1f}",
        "engine_seconds": f"{engine_seconds:.1f}",
        "speedup_vs_engine": f"{engine_seconds / seconds:.1f}",
        "sample_identical": str(identical).lower(),
        "load_average": f"{load1:.2f} (1 min), {load5:.2f} (5 min)",
        "cpus": os.cpu_count(),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
