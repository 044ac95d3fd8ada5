"""The column-wise full rescore writes exactly what scoring every contact the exact way writes.

Two state stores start equal (one sync of the same portal); then, step after step (30 minutes,
a day, a week, two months later), one runs the full rescore column-wise (``connector.sync.rescore``)
and the other with it turned off, so every contact goes through ``score_chunk``. After each step
both stores hold the same scores (every column, fingerprints included), stage history, firings,
trigger actions and outbox rows, and both CRMs the same fields and lists. The portal has what
could make the columns differ from the records: both shipped models with triggers, activity
attributes (URLs, forms), activity of one contact at the same instant (ties broken by id),
future activity, blank and absent e-mail properties, list values, anonymous history known by
e-mail, stage dates, a manual adjustment, contacts added between steps.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import itertools
import pathlib
import random
import shutil
import typing as t

import pytest
import sqlalchemy as sa

from connector.scoring.loader import load_models
from connector.scoring.records import Activity
from connector.sync import adjustments, dueindex, pipeline, rescore
from connector.sync.config import crm_entry, load_config
from connector.sync.config import write_config as write_connector_yaml
from connector.sync.db import open_database
from connector.sync.idset import IdSet
from connector.sync.pipeline import run_sync
from connector.sync.rescore import RescoreEnd, Rescoring
from connector.sync.scorers import ScoredChunk
from connector.sync.tables import outbox, scores, stage_history
from tests.conftest import postgres_schema, postgres_url
from tests.fakecrm import FakeAdapter, FakeCRM
from tests.sync.conftest import DATA, T0, MovableClock

REPO = pathlib.Path(__file__).resolve().parents[2]
TITLES = ["Marketing Manager", "VP Marketing", "Software Engineer", "Data Analyst", "Student", "CTO", "Head of Growth", "", "Select"]
INDUSTRIES = ["Software", "SaaS", "Retail", "Financial Services", "Education", ""]
COUNTRIES = ["United States", "Germany", "Russia", "India", "Canada"]
URLS = ["/pricing", "/careers", "/docs/start", "/integrations/slack", "/blog/post-1", "/"]
FORMS = ["contact-us", "trial-signup", "newsletter"]
TYPES = ["page_view", "page_view", "email_open", "email_click", "form_submit", "asset_download", "webinar_attend", "meeting", "demo_request", "unsubscribe"]


def _portal(seed: int, n: int) -> FakeCRM:
    rnd = random.Random(seed)
    crm = FakeCRM()
    for i in range(n):
        email = rnd.choice([f"p{i}@company{i % 40}.com", f"p{i}@gmail.com", f"p{i}@rivalcrm.com", None])
        props: dict[str, t.Any] = {"job_title": rnd.choice(TITLES), "industry": rnd.choice(INDUSTRIES), "country": rnd.choice(COUNTRIES)}
        if rnd.random() < 0.7:
            props["company_size"] = rnd.choice([5, 25, "120", 800, 12000, "n/a"])
        if rnd.random() < 0.5:
            props["phone"] = rnd.choice(["+1 555 0100", "", "Select"])
        if rnd.random() < 0.3:
            props["email"] = rnd.choice(["", None])  # blank: the contact's own e-mail stands in
        if rnd.random() < 0.2:
            props["region"] = rnd.choice(["EU", ["EU", "EMEA"]])
        props["lifecyclestage"] = rnd.choice(["subscriber", "lead", "opportunity", "customer"])
        dates = {"lead": T0 - dt.timedelta(days=rnd.randint(1, 300))} if rnd.random() < 0.2 else None
        crm.add_contact(f"c{i:03d}", T0, email=email, stage_dates=dates)
        crm.contacts[f"c{i:03d}"].properties.update(props)
        for k in range(rnd.randint(0, 12)):
            at = T0 - dt.timedelta(days=rnd.randint(-2, 120), seconds=rnd.choice([0, 3600]))
            typ = rnd.choice(TYPES)
            attrs = {"url": rnd.choice(URLS)} if typ == "page_view" else {"form": rnd.choice(FORMS)} if typ == "form_submit" else {}
            crm.activities.append(Activity(id=f"a{i:03d}-{rnd.randint(0, 99):02d}-{k}", type=typ, occurred_at=at, contact_id=f"c{i:03d}", attributes=attrs))
    crm.contacts["c007"] = dc.replace(crm.contacts["c007"], email="p7@company7.com")
    crm.add_activity("anon-1", "page_view", T0 - dt.timedelta(days=1), anonymous_id="email:p7@company7.com")
    return crm


def _config(folder: pathlib.Path, database_url: str, worker_after: int = 100) -> t.Any:
    shutil.copy(DATA / "mapping.yaml", folder / "mapping.yaml")
    models = [str(p) for p in sorted((REPO / "mappings" / "models").glob("*.yaml"))]
    entry = crm_entry("main", "tests.fakecrm", "mapping.yaml", models, credentials={"token": "TEST_TOKEN_VAR"})
    path = write_connector_yaml(folder / "connector.yaml", [entry], database_url=database_url, overlap_minutes=0, batch={"push_size": 100, "score_chunk": 60, "score_worker_after": worker_after})
    return load_config(path)


def _state(engine: sa.Engine) -> dict[str, t.Any]:
    with engine.connect() as conn:
        return {
            "scores": sorted(tuple(r) for r in conn.execute(sa.select(scores).order_by(scores.c.contact_id, scores.c.model))),
            "history": sorted(repr(tuple(r)[2:]) for r in conn.execute(sa.select(stage_history))),
            "outbox": sorted(repr((r.contact_id, r.status, r.values)) for r in conn.execute(sa.select(outbox))),
            "firings": sorted(repr(tuple(r)[2:]) for r in conn.execute(sa.text("SELECT * FROM trigger_firings"))),
            "actions": sorted(repr((r.key, r.status)) for r in conn.execute(sa.text("SELECT * FROM trigger_actions"))),
        }


@pytest.fixture
def two_stores(tmp_path: pathlib.Path, database_url: str) -> t.Iterator[tuple[str, str]]:
    """Two empty state stores on the same kind of database (SQLite files, or two PostgreSQL schemas)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'columnar.db'}", f"sqlite:///{tmp_path / 'exact.db'}"
        return
    with postgres_schema(t.cast(str, postgres_url())) as other:
        yield database_url, other


def _side_by_side(folder: pathlib.Path, urls: tuple[str, str], worker_after: int = 100) -> tuple[dict[str, t.Any], dict[str, sa.Engine]]:
    """The configurations and engines of the ``columnar`` and the ``exact`` store."""
    configs, engines = {}, {}
    for name, url in zip(("columnar", "exact"), urls, strict=True):
        (folder / name).mkdir()
        configs[name] = _config(folder / name, url, worker_after)
        engines[name] = open_database(url)
    return configs, engines


@pytest.mark.parametrize("scoring", ["worker", "in-process"])
def test_columnar_full_rescore_writes_what_the_exact_rescore_writes(tmp_path: pathlib.Path, two_stores: tuple[str, str], monkeypatch: pytest.MonkeyPatch, scoring: str) -> None:
    """The same rows either way; ``in-process``: some chunks compared where scored, some at the commit (a worker decides as it goes)."""
    clocks = {name: MovableClock(T0 + dt.timedelta(days=1)) for name in ("columnar", "exact")}
    crms = {name: _portal(5, 180) for name in ("columnar", "exact")}
    configs, engines = _side_by_side(tmp_path, two_stores, 100 if scoring == "worker" else 0)

    def run(name: str, full: bool) -> t.Any:
        crm = crms[name]
        with monkeypatch.context() as patch:
            if name == "exact":
                patch.setattr(pipeline._Run, "rescore", lambda self, **k: None)  # everyone the exact way
            else:  # and the due index set aside meanwhile, as on a large portal
                patch.setattr(dueindex, "SET_ASIDE_MIN", 1)
            summary = run_sync(configs[name], "main", full=full, clock=clocks[name], adapter_factory=lambda c, g: FakeAdapter(crm, g, page_size=50, max_batch_size=50), engine=engines[name])
        assert summary.status == "ok", summary.error
        with engines[name].connect() as conn:
            assert "ix_scores_crm_changes_at" in {i["name"] for i in sa.inspect(conn).get_indexes("scores")}
        return summary

    for name in ("columnar", "exact"):
        run(name, False)
    assert _state(engines["columnar"]) == _state(engines["exact"])
    with engines["columnar"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(scores).where(scores.c.fingerprint.is_(None))).scalar_one() == 0

    made: list[t.Any] = []
    moved: list[str] = []  # contacts the column-wise pass found moved (committed from its chunks)
    prepared: list[str] = []  # of them, those whose changes came compared with the written values
    compared: list[str] = []  # in process: the contacts of the chunks compared where scored
    original = pipeline._Run.rescore
    original_next = Rescoring.next
    two_of_three = itertools.cycle((True, True, False))

    def mixed(self: Rescoring, *, compare: bool = False) -> ScoredChunk | RescoreEnd:
        got = original_next(self, compare=next(two_of_three))
        if isinstance(got, ScoredChunk) and got.prepared:
            compared.extend(got.ids)
        return got

    if scoring == "in-process":
        monkeypatch.setattr(rescore, "CHUNK", 4)  # many chunks a run
        monkeypatch.setattr(Rescoring, "next", mixed)

    def spy(self: t.Any, **kwargs: t.Any) -> t.Any:
        commit = self._commit
        self._commit = lambda chunk: (moved.extend(chunk.ids), prepared.extend(chunk.prepared), commit(chunk))
        try:
            made.append(original(self, **kwargs))
        finally:
            del self._commit
        return made[-1]

    for step, advance in enumerate((dt.timedelta(minutes=30), dt.timedelta(days=1), dt.timedelta(days=7), dt.timedelta(days=60))):
        for name in ("columnar", "exact"):
            clocks[name].advance(seconds=advance.total_seconds())
            if step == 1:  # a manual adjustment, and a contact added in the CRM
                planned = adjustments.plan(
                    load_models(configs[name].crms[0].models), contact_id="c010", model="b2b-saas", dimension="fit", points=15, reason="met at a fair",
                    by="sam", expires_at=clocks[name].now + dt.timedelta(days=5), source="test", now=clocks[name].now,
                )  # fmt: skip
                adjustments.add(engines[name], "main", [planned], clocks[name].now)
                crms[name].add_contact("c999", clocks[name].now, email="new@company3.com", job_title="VP Marketing", industry="SaaS")
        made.clear()
        moved.clear()
        prepared.clear()
        compared.clear()
        monkeypatch.setattr(pipeline._Run, "rescore", spy)
        columnar = run("columnar", True)
        monkeypatch.setattr(pipeline._Run, "rescore", original)
        exact = run("exact", True)
        assert _state(engines["columnar"]) == _state(engines["exact"]), f"step {step}"
        assert crms["columnar"].fields == crms["exact"].fields and crms["columnar"].lists == crms["exact"].lists
        assert columnar.scored == exact.scored and columnar.changed == exact.changed
        # Only what the columns cannot speak for went through the exact scoring: the contact with
        # anonymous history (p7's e-mail), after the adjustment the adjusted one, and new data.
        assert len(made) == 1 and made[0] is not None
        exact_ids = made[0]
        assert "c007" in exact_ids and (step != 1 or "c010" in exact_ids), (step, exact_ids)
        # the rest of the exact ones had new activity this run (activity dated in the future when first pulled)
        assert len(exact_ids) <= 12, (step, exact_ids)
        if step == 0:  # in 30 minutes, almost nothing can have changed (a window closing, a trigger's time)
            assert len(moved) <= 10, moved
        else:
            assert moved and not set(moved) & set(exact_ids)
            # The same writes whether a chunk's changes were compared where scored or at the commit.
            assert set(prepared) <= set(moved)  # a worker compares where the run is the slower side (score_worker.compare_here)
            if scoring == "in-process":
                assert sorted(prepared) == sorted(c for c in moved if c in set(compared))
                assert set() < set(prepared) < set(moved), (step, len(moved), len(prepared))  # both ways taken
    for engine in engines.values():
        engine.dispose()


def test_worker_messages_larger_than_the_pipe_pass_both_ways_and_a_rescore_streams_its_chunks(tmp_path: pathlib.Path) -> None:
    """Several requests and answers of a megabyte or more in flight at once: every future resolves.

    A smoke test of large messages both ways. The deadlock it guards against (the run held the
    futures' lock while blocked sending a request, the worker was blocked sending its previous
    answer, the thread reading answers waited for that lock) depends on timing: seen once in a
    1,000,000-contact rescore, not reproduced here deterministically. Then a full rescore in the
    worker: its chunks come back in order with several requests in flight, and after the end the
    end again.
    """
    from connector.sync.activityscan import ActivityScan, scan_activities
    from connector.sync.rescore import RescoreEnd
    from connector.sync.score_worker import ScoringWorker
    from connector.sync.scorers import ChunkOptions, ScoredChunk, ScorerSet, scoring_context
    from connector.sync.scoresscan import ModelScores, read_scores

    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = _config(tmp_path, url)
    crm = _portal(11, 150)
    clock = MovableClock(T0 + dt.timedelta(days=1))
    engine = open_database(url)
    run_sync(config, "main", clock=clock, adapter_factory=lambda c, g: FakeAdapter(crm, g, page_size=50, max_batch_size=50), engine=engine)
    engine.dispose()
    entry = config.crms[0]
    options = ChunkOptions(entry.reasons_limit, 50, scoring_context(entry.reasons_limit, entry.write_policy))
    worker = ScoringWorker(url, "main", [str(m) for m in entry.models], options)
    as_of = clock.now + dt.timedelta(days=40)
    reader = open_database(url)
    try:
        padding = [f"x{i:07d}" for i in range(100_000)]  # ~1 MB more each way: no such contacts
        futures = [worker.submit([f"c{k:03d}", *padding], as_of) for k in range(6)]
        chunks = [f.result(timeout=120) for f in futures]
        assert [len(c.ids) for c in chunks] == [100_001] * 6 and all(len(c.desired) == 1 for c in chunks)

        skip = IdSet()
        skip.add(["c000", "c001"])
        models = ScorerSet.load([str(m) for m in entry.models]).models

        def failing_scan() -> ActivityScan:
            raise RuntimeError("the activity table could not be read")

        def failing_scores() -> dict[str, ModelScores]:
            raise RuntimeError("the scores table could not be read")

        def scores() -> dict[str, ModelScores]:
            return read_scores(reader, "main", models)

        # A read that fails in the run reaches it as the start's answer, and the worker goes on answering in order.
        # (None: the worker reads the scores itself, as on PostgreSQL)
        for scan, stored, error in ((failing_scan, None, "activity table"), (lambda: scan_activities(reader, "main", models), failing_scores, "scores table")):
            failed = worker.start_rescore(as_of, skip, scan, stored)
            with pytest.raises(RuntimeError, match=error):
                failed.result(timeout=120)
            assert len(worker.submit(["c000"], as_of).result(timeout=120).desired) == 1

        started = worker.start_rescore(as_of, skip, lambda: scan_activities(reader, "main", models), scores)
        answers: list[ScoredChunk | RescoreEnd] = []
        while not answers or not isinstance(answers[-1], RescoreEnd):
            answers += [f.result(timeout=120) for f in [worker.next_rescored() for _ in range(3)]]
        assert started.result(timeout=5) is None
    finally:
        worker.close()
        reader.dispose()
    ends = [a for a in answers if isinstance(a, RescoreEnd)]
    rescored = [cid for a in answers if isinstance(a, ScoredChunk) for cid in a.ids]
    assert ends and all(e == ends[0] for e in ends) and ends[0].columnar
    assert rescored and not {"c000", "c001"} & set(rescored) and not set(rescored) & set(ends[0].exact)
    assert len(rescored) + len(ends[0].exact) + ends[0].unchanged == 150 - 2


def test_an_incremental_run_with_many_contacts_due_rescores_them_column_wise_as_the_exact_way_would(
    tmp_path: pathlib.Path, two_stores: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decay makes contacts due between runs; past the thresholds the due ones (only those) are rescored column-wise, with the same writes."""
    clocks = {name: MovableClock(T0 + dt.timedelta(days=1)) for name in ("columnar", "exact")}
    crms = {name: _portal(11, 180) for name in ("columnar", "exact")}
    configs, engines = _side_by_side(tmp_path, two_stores)
    calls: list[int] = []
    original = pipeline._Run.rescore

    def counted(self: t.Any, **kwargs: t.Any) -> t.Any:
        calls.append(len(kwargs.get("only") or ()))
        return original(self, **kwargs)

    def run(name: str) -> t.Any:
        crm = crms[name]
        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "COLUMNAR_DUE", 1)
            patch.setattr(pipeline, "COLUMNAR_SHARE", 0.0)
            patch.setattr(pipeline._Run, "rescore", counted if name == "columnar" else lambda self, **k: None)
            summary = run_sync(configs[name], "main", clock=clocks[name], adapter_factory=lambda c, g: FakeAdapter(crm, g, page_size=50, max_batch_size=50), engine=engines[name])
        assert summary.status == "ok", summary.error
        return summary

    for name in ("columnar", "exact"):
        run(name)  # the first sync: every contact new (many due, but none has a score to fingerprint)
    assert _state(engines["columnar"]) == _state(engines["exact"])
    for step, advance in enumerate((dt.timedelta(hours=1), dt.timedelta(days=3), dt.timedelta(days=40))):
        calls.clear()
        for name in ("columnar", "exact"):
            clocks[name].advance(seconds=advance.total_seconds())
            if step == 1:  # new activity for one contact: pulled, flagged, scored the exact way
                crms[name].add_activity(f"late-{step}", "demo_request", clocks[name].now, contact_id="c020")
        columnar, exact = run("columnar"), run("exact")
        assert _state(engines["columnar"]) == _state(engines["exact"]), f"step {step}"
        assert crms["columnar"].fields == crms["exact"].fields
        assert (columnar.scored, columnar.changed) == (exact.scored, exact.changed), step
        assert calls and 0 < calls[-1] < 180, (step, calls)  # only the due ones were handed over
        assert exact.changed, step  # decay moved someone: the comparison compared writes
    for engine in engines.values():
        engine.dispose()
