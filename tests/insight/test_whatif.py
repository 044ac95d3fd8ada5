"""What-if: the numbers equal those computed here, contact by contact with the per-contact engine, from the same stored data."""

from __future__ import annotations

import collections
import datetime as dt
import json
import pathlib
import textwrap

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.cli import app
from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.loader import load_model, load_models
from connector.scoring.records import Adjustment
from connector.scoring.result import ScoreResult
from connector.sync import adjustments, whatif
from connector.sync.db import make_engine, open_database
from connector.sync.pipeline import run_sync
from connector.sync.store import Store
from connector.sync.tables import outcomes
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config

#: The draft: titles worth more, demos less, a new e-mail rule, a stricter grade A, MQL and hot trigger (55, not 50), a new trigger.
DRAFT = """
model: test-model
dimensions:
  fit: {floor: 0, ceiling: 100}
  engagement: {floor: 0, ceiling: 100}
total: {floor: 0, ceiling: 200}
rules:
  - {id: title_marketing, label: job title Marketing, dimension: fit, points: 40, when: {property: job_title, op: contains, value: marketing}}
  - {id: work_mail, label: work e-mail, dimension: fit, points: 15, when: {property: email, op: email_domain_in, value: [acme.com]}}
  - id: page_views
    label: page views
    dimension: engagement
    points: 10
    activity: {types: [page_view], within_days: 30, decay: {half_life_days: 7}}
  - {id: demo, label: demo request, dimension: engagement, points: 20, activity: {types: [demo_request]}}
grade:
  dimension: fit
  bands: [{label: A, min: 45}, {label: B}]
stages:
  order:
    - {name: subscriber}
    - {name: mql, thresholds: {total: 55}}
triggers:
  - id: hot
    watch: {dimension: total, gte: 55}
    actions: [{type: add_to_list, list: hot leads}]
  - id: fit_high
    watch: {dimension: fit, gte: 50}
    actions: [{type: add_to_list, list: fit}]
"""


def _portal(fake_crm: FakeCRM, clock) -> None:
    """Twelve contacts: titles, domains, page views, demos, a customer or two, an e-mail-only activity."""
    titles = ["Marketing lead", "Engineer", "Head of marketing", "Sales", "Marketing ops", "CFO"]
    for i in range(12):
        domain = "acme.com" if i % 3 == 0 else "mail.org"
        fake_crm.add_contact(f"c{i:02d}", T0, email=f"p{i}@{domain}", job_title=titles[i % 6], lifecyclestage="customer" if i in (0, 4, 7) else "lead")
        for k in range(i % 4):
            fake_crm.add_activity(f"v{i}-{k}", "page_view", T0 - dt.timedelta(days=k * 3), contact_id=f"c{i:02d}")
        if i % 5 == 1:
            fake_crm.add_activity(f"d{i}", "demo_request", T0 - dt.timedelta(days=2), contact_id=f"c{i:02d}")
    fake_crm.add_activity("anon", "page_view", T0, anonymous_id="email:p5@mail.org")


def _expected(config, draft_path: pathlib.Path, as_of: dt.datetime) -> tuple[list[ScoreResult], list[ScoreResult]]:
    """Each contact scored by the per-contact engine under both models, from the store's own reads."""
    engine = make_engine(config.effective_database_url())
    store = Store(engine, "main")
    ids = sorted(store.ids_to_score(as_of, [], full=True))
    data = store.load_for_scoring(ids)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT contact_id, model, dimension, points, reason, by, at, expires_at FROM adjustments")).all()
    engine.dispose()

    def utc(v):
        v = dt.datetime.fromisoformat(v) if isinstance(v, str) else v
        return v.replace(tzinfo=dt.UTC) if v.tzinfo is None else v

    adj = [(r.model, Adjustment(r.contact_id, r.dimension, r.points, r.reason, r.by, utc(r.at)), r.expires_at and utc(r.expires_at)) for r in rows]
    out = []
    for path in (config.crm("main").models[0], draft_path):
        scorer = Scorer(load_model(path))
        mine = [a for m, a, exp in adj if m == scorer.model.model and (exp is None or exp > as_of)]
        out.append([scorer.score(c, data.activities[c.id], mine, as_of, data.previous.get((c.id, "test-model"))) for c in data.contacts])
    return out[0], out[1]


@pytest.fixture
def stored(sync_config, fake_crm, factory, clock, tmp_path):
    _portal(fake_crm, clock)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    engine = open_database(sync_config.effective_database_url())
    models = load_models(sync_config.crm("main").models)
    plan = dict(model="test-model", reason="x", by="me", source="cli", now=clock.now)
    adjustments.add(engine, "main", [
        adjustments.plan(models, contact_id="c03", dimension="fit", points=30.0, expires_at=None, **plan),
        adjustments.plan(models, contact_id="c05", dimension="engagement", points=50.0, expires_at=clock.now + dt.timedelta(hours=1), **plan),
    ], clock.now)
    engine.dispose()
    draft = tmp_path / "draft.yaml"
    draft.write_text(textwrap.dedent(DRAFT))
    return draft


def test_what_if_numbers_equal_the_per_contact_engine_on_the_same_stored_data(sync_config, clock, stored) -> None:
    as_of = clock.now + dt.timedelta(hours=2)  # c05's adjustment has expired by then; c03's counts
    current_model, draft_model = load_model(sync_config.crm("main").models[0]), load_model(stored)
    engine = make_engine(sync_config.effective_database_url())
    portal = whatif.load_portal(engine, "main", [current_model, draft_model])
    portal.converted = {c.id for c in portal.contacts if c.properties.get("lifecyclestage") == "customer"}
    before = _table_counts(engine)
    found = whatif.what_if(portal, BatchScorer(current_model), BatchScorer(draft_model), as_of=as_of, top=5)
    assert _table_counts(engine) == before  # writes nothing
    engine.dispose()
    cur, new = _expected(sync_config, stored, as_of)

    assert found.contacts == len(cur) == 12
    stage = lambda r: r.stage or "(none)"  # noqa: E731
    counts_cur, counts_new = collections.Counter(map(stage, cur)), collections.Counter(map(stage, new))
    assert {s.stage: (s.current, s.draft) for s in found.stages} == {s: (counts_cur[s], counts_new[s]) for s in counts_cur | counts_new}
    pairs = collections.Counter((stage(a), stage(b)) for a, b in zip(cur, new, strict=True) if stage(a) != stage(b))
    assert {(x.current, x.draft): x.count for x in found.crossings} == dict(pairs)
    assert pairs, "the draft must move someone across the MQL threshold for this test to mean anything"
    grade = lambda r: r.grade or "(none)"  # noqa: E731
    grade_pairs = collections.Counter((grade(a), grade(b)) for a, b in zip(cur, new, strict=True) if grade(a) != grade(b))
    assert {(x.current, x.draft): x.count for x in found.grades} == dict(grade_pairs) and grade_pairs
    for trig in found.triggers:
        fired_cur = {r.contact_id for r in cur if trig.trigger in {e.trigger for e in r.triggers}}
        fired_new = {r.contact_id for r in new if trig.trigger in {e.trigger for e in r.triggers}}
        assert (trig.current, trig.draft) == (len(fired_cur), len(fired_new)), trig.trigger
        assert set(trig.only_draft) == fired_new - fired_cur and set(trig.only_current) == fired_cur - fired_new
    assert {t.trigger for t in found.triggers} == {"hot", "fit_high"}

    deltas = sorted(((round(b.score - a.score, 2), a.contact_id) for a, b in zip(cur, new, strict=True) if b.score != a.score), key=lambda d: (-abs(d[0]), d[1]))
    assert [(m.delta, m.contact_id) for m in found.movers] == deltas[:5]
    for m in found.movers:
        a = next(r for r in cur if r.contact_id == m.contact_id)
        b = next(r for r in new if r.contact_id == m.contact_id)
        by_label: dict[str, float] = collections.defaultdict(float)
        for sign, result in ((-1, a), (1, b)):
            for reason in result.reasons:
                key = "adjustments" if reason.kind == "adjustment" else ("clamp" if reason.kind == "clamp" else reason.label)
                by_label[key] += sign * reason.points
        assert {what: p for what, _dim, p in m.because} == {k: round(v, 2) for k, v in by_label.items() if round(v, 2)}
    # The same adjustments count under both models (c03's), the expired one under neither (c05's).
    assert [r.kind for r in cur[3].reasons if r.kind == "adjustment"] == ["adjustment"] and not [r for r in cur[5].reasons if r.kind == "adjustment"]

    converted = {f"c{i:02d}" for i in (0, 4, 7)}
    for bands, results in ((found.bands_current, cur), (found.bands_draft, new)):
        ranked = sorted(results, key=lambda r: (-r.score, r.contact_id))
        fifths = [ranked[k * 12 // 5 : (k + 1) * 12 // 5] for k in range(5)]
        assert [(b.contacts, b.converted, b.min_score, b.max_score) for b in bands] == [
            (len(f), sum(r.contact_id in converted for r in f), min(r.score for r in f), max(r.score for r in f)) for f in fifths
        ]


def _table_counts(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {
            name: tuple(conn.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1, 2")).all())
            for name in ("contacts", "scores", "stage_history", "trigger_firings", "outbox", "adjustments")
        }


def test_stored_outcomes_are_read_when_the_store_has_them(sync_config, stored) -> None:
    engine = make_engine(sync_config.effective_database_url())
    assert whatif.stored_outcomes(engine, "main") is None
    with engine.begin() as conn:  # what the outcome pull keeps
        conn.execute(
            sa.insert(outcomes),
            [
                {"crm": "main", "contact_id": "c01", "kind": "closed_won", "source_id": "d1"},
                {"crm": "main", "contact_id": "c01", "kind": "customer", "source_id": "c01"},
                {"crm": "other", "contact_id": "c02", "kind": "customer", "source_id": "c02"},
            ],
        )
    assert whatif.stored_outcomes(engine, "main") == {"c01"}
    engine.dispose()


def test_cli_prints_the_tables_and_the_same_numbers_as_json(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crm = FakeCRM()
    _portal(crm, None)
    monkeypatch.setattr("connector.sync.pipeline.connect", lambda c, gate, **kw: FakeAdapter(crm, gate))
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(app, ["sync"]).exit_code == 0
    draft = tmp_path / "draft.yaml"
    draft.write_text(textwrap.dedent(DRAFT))
    when = "2026-02-01T00:00:00Z"
    converted = "{property: lifecyclestage, op: eq, value: customer}"
    shown = CliRunner().invoke(app, ["whatif", "--model", str(draft), "--as-of", when, "--converted", converted], env={"COLUMNS": "250"})
    assert shown.exit_code == 0, shown.output
    for text in ("Contacts per stage", "Who changes stage", "Triggers firing", "Biggest movers", "Conversion by score band", "nothing written"):
        assert text in shown.output, text
    data = json.loads(CliRunner().invoke(app, ["whatif", "--model", str(draft), "--as-of", when, "--converted", converted, "--json"]).output)
    assert data["contacts"] == 12 and data["draft_model"] == "test-model" and data["outcome_source"].startswith("--converted")
    assert sum(b["converted"] for b in data["bands_draft"]) == 3
    for row in data["stages"]:
        assert f"{row['stage']}" in shown.output
    other = tmp_path / "other.yaml"
    other.write_text(textwrap.dedent(DRAFT).replace("model: test-model", "model: other"))
    refused = CliRunner().invoke(app, ["whatif", "--model", str(other)])
    assert refused.exit_code == 2 and "has no model named 'other'" in refused.output and "--against" in refused.output
    against = CliRunner().invoke(app, ["whatif", "--model", str(other), "--against", str(tmp_path / "model.yaml"), "--json"])
    assert against.exit_code == 0, against.output


def test_the_portal_reads_each_activity_instant_to_the_microsecond(sync_config, fake_crm, factory, clock) -> None:
    odd = [T0 - dt.timedelta(days=400, microseconds=1), T0 - dt.timedelta(seconds=1, microseconds=999_999), T0.replace(microsecond=0), T0 + dt.timedelta(microseconds=7)]
    fake_crm.add_contact("c1", T0, job_title="Marketing")
    for i, at in enumerate(odd):
        fake_crm.add_activity(f"a{i}", "page_view", at, contact_id="c1")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    engine = make_engine(sync_config.effective_database_url())
    portal = whatif.load_portal(engine, "main", [load_model(sync_config.crm("main").models[0])])
    engine.dispose()
    from connector.scoring.columns import to_micros

    assert dict(zip(portal.activities.ids, portal.activities.occurred, strict=True)) == {f"a{i}": to_micros(at) for i, at in enumerate(odd)}
