"""The report's figures equal the ones counted by hand from the same stored rows (SQLite and PostgreSQL)."""

from __future__ import annotations

import collections
import datetime as dt
import pathlib

import pytest

from connector.report import make_report
from connector.sync.db import open_database
from tests.report.seed import CRM, expected_medians, expected_steps, seed


def test_figures_equal_hand_counts(database_url: str, tmp_path: pathlib.Path) -> None:
    s = seed(database_url)
    engine = open_database(database_url)
    page, data = make_report(engine, CRM, [s.model], tmp_path / "out")
    engine.dispose()
    (m,) = data.models
    assert m.scored == len(s.score) + len(s.excluded)
    assert m.excluded == len(s.excluded)
    current = collections.Counter(path[-1][0] for path in s.paths.values())
    assert m.funnel == [(st, current.get(st, 0)) for st in s.stage_order]
    assert [(x.from_stage, x.to_stage, x.reached_from, x.reached_to) for x in m.steps] == expected_steps(s)
    medians = expected_medians(s)
    for time in m.times:
        assert time.median_days == pytest.approx(medians[time.stage]) if medians[time.stage] is not None else time.median_days is None
        assert time.open == current.get(time.stage, 0)
    # five bands of 40 points over the total's 0..200
    bands = [(sum(1 for v in s.score.values() if min(int(v // 40), 4) == b), sum(1 for c, v in s.score.items() if min(int(v // 40), 4) == b and c in s.converted)) for b in range(5)]
    assert [(r.contacts, r.converted) for r in m.by_band] == bands
    assert [r.label for r in m.by_band] == ["0-40", "40-80", "80-120", "120-160", "160-200"]
    grades = {g: (sum(1 for c in s.grade if s.grade[c] == g), sum(1 for c in s.grade if s.grade[c] == g and c in s.converted)) for g in "ABCD"}
    assert {r.label: (r.contacts, r.converted) for r in m.by_grade} == grades
    assert m.matrix == {(r, c): sum(1 for v in s.cell.values() if v == r + c) for r in "ABC" for c in "123"}
    assert {r.rule: (r.points, r.contacts) for r in m.top_rules} == {k: (v, s.rule_contacts[k]) for k, v in s.rule_points.items()}
    assert [r.rule for r in m.top_rules] == sorted(s.rule_points, key=lambda k: (-abs(s.rule_points[k]), k))
    assert [w for w, *_ in m.drift] == ["2026-08-24", "2026-08-31"]
    fired = {(k, d): n for k, per in data.firings.items() for d, n in per.items()}
    assert fired == dict(s.fired_days)
    assert data.outcomes and sum(data.outcomes.values()) == len(s.converted)
    assert data.health.api_calls == s.api_calls
    assert data.health.runs_by_status == dict(s.run_status)
    assert data.health.quarantine_open == dict(s.quarantine_open)
    html = page.read_text()
    for stage, n in m.funnel:
        assert f"<td>{stage}</td><td>{n:,}</td>" in html
    per_model = [f"{c}-{s.model.model}.png" for c in ("scores", "funnel", "stages", "conversion", "matrix", "rules", "drift")]
    assert sorted(p.name for p in page.parent.glob("*.png")) == sorted([*per_model, "firings.png", "sync-health.png"])


def test_since_limits_dated_figures(database_url: str, tmp_path: pathlib.Path) -> None:
    s = seed(database_url)
    cut = min(d for _, d in s.fired_days) + dt.timedelta(days=3)
    engine = open_database(database_url)
    _, data = make_report(engine, CRM, [s.model], tmp_path / "out", since=dt.datetime.combine(cut, dt.time(), dt.UTC))
    engine.dispose()
    fired = {(k, d): n for k, per in data.firings.items() for d, n in per.items()}
    assert fired == {k: n for k, n in s.fired_days.items() if k[1] >= cut}
    # current stages are the current state whatever the date
    assert sum(n for _, n in data.models[0].funnel) == len(s.paths)


def test_empty_store_gives_a_report_with_every_chart(tmp_path: pathlib.Path) -> None:
    from connector.scoring.loader import load_model
    from tests.report.seed import MODEL_PATH

    engine = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    page, data = make_report(engine, CRM, [load_model(MODEL_PATH)], tmp_path / "out")
    engine.dispose()
    assert data.models[0].scored == 0 and not data.outcomes
    assert page.read_text().count('class="chart-img"') == 9
