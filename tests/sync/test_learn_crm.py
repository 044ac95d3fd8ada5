"""``connector learn --crm``: learning from stored outcomes, drafts, promotion, the schedule's hook."""

from __future__ import annotations

import datetime as dt
import pathlib
import random

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

pytest.importorskip("sklearn")

from connector.cli import app
from connector.learn import DataError
from connector.sync.config import load_config
from connector.sync.db import open_database
from connector.sync.modelversions import learn_from_crm, learn_if_due, list_versions, promote
from connector.sync.tables import activities, contacts, model_versions, outcomes
from connector.sync.trainset import training_set
from tests.sync.conftest import write_config

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
LEARN = {"path": "models/learned.yaml", "trees": 20, "folds": 3, "seed": 1}


def _fill(url: str, n: int = 240, seed: int = 3, leak: bool = False) -> set[str]:
    """Contacts whose title and page views carry the signal; ~30% converted; returns the converted ids."""
    rnd = random.Random(seed)
    engine = open_database(url)
    cs, acts, outs, won = [], [], [], set()
    for i in range(n):
        cid = f"c{i}"
        good = rnd.random() < 0.4
        converted = rnd.random() < (0.6 if good else 0.1)
        props = {"job_title": "Marketing Director" if good else rnd.choice(["Engineer", "Student", "Analyst"]), "country": rnd.choice(["US", "DE", "FR"])}
        if leak:
            props["lifecycle"] = "customer" if converted else "lead"
        cs.append({"crm": "main", "id": cid, "email": f"{cid}@x.test", "properties": props, "needs_score": False})
        for j in range(rnd.randint(0, 6) + (4 if good else 0)):
            acts.append({"crm": "main", "id": f"a{i}-{j}", "type": "page_view", "occurred_at": NOW - dt.timedelta(days=rnd.randint(1, 60)), "contact_id": cid, "attributes": {}})
        if converted:
            won.add(cid)
            outs.append({"crm": "main", "contact_id": cid, "kind": "closed_won", "source_id": f"d{i}", "occurred_at": NOW - dt.timedelta(days=2)})
    with engine.begin() as conn:
        conn.execute(sa.insert(contacts), cs)
        conn.execute(sa.insert(activities), acts)
        conn.execute(sa.insert(outcomes), outs)
    engine.dispose()
    return won


def _crm(tmp_path: pathlib.Path, url: str, **learn: object):
    return load_config(write_config(tmp_path, url, learn={**LEARN, **learn})).crm("main")


def test_training_set_labels_from_outcomes_and_drops_what_follows_them(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    won = _fill(url, n=60)
    engine = open_database(url)
    with engine.begin() as conn:  # one converted contact with activity after its outcome
        cid = sorted(won)[0]
        conn.execute(sa.insert(activities), [{"crm": "main", "id": "late", "type": "meeting", "occurred_at": NOW - dt.timedelta(days=1), "contact_id": cid, "attributes": {}}])
    data = training_set(engine, "main", None, NOW)
    engine.dispose()
    assert {c.id for c, y in zip(data.contacts, data.labels, strict=True) if y} == won
    assert "late" not in {a.id for a in data.activities[cid]}
    assert data.notes and "left out" in data.notes[0]
    assert set(data.columns) == {"job_title", "country"}


def test_learn_writes_a_draft_compares_it_and_promotes(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url, leak=True)
    crm = _crm(tmp_path, url)
    model = tmp_path / "model.yaml"
    model.write_text(model.read_text().replace("model: test-model", "model: test-model\nplaceholders: [N/A]"))
    engine = open_database(url)
    result = learn_from_crm(engine, crm, now=NOW)
    from connector.scoring.loader import load_model

    assert load_model(result.draft).placeholders == ["Select", "N/A"]  # the learner's and the CRM models' "not answered"
    assert not result.promoted and not crm.learn.path.exists()  # no margin configured: stays a draft
    assert result.draft.is_file() and result.draft.with_name("learned.probability.json").is_file()
    assert result.contacts == 240 and 0.5 < result.draft_auc <= 1.0
    assert result.current_model == "test-model" and result.current_auc is not None
    assert any(e.startswith("lifecycle: leaks the outcome") for e in result.excluded), result.excluded
    (row,) = list_versions(engine, "main")
    assert row["status"] == "draft" and row["metrics"]["draft_roc_auc"] == round(result.draft_auc, 4)
    live = promote(engine, crm, result.name, now=NOW)
    assert live.read_text() == result.draft.read_text()
    assert "model: learned" in live.read_text()
    assert list_versions(engine, "main")[0]["status"] == "live"
    # a second draft, promoted automatically when it beats the live one by the margin (here: any margin 0)
    auto = _crm(tmp_path, url, promote_margin=0.0, seed=2)
    second = learn_from_crm(engine, auto, now=NOW + dt.timedelta(hours=1))
    assert second.current_model == "learned"  # compared with the live learned model now
    assert second.promoted == (second.draft_auc >= (second.current_auc or 0.0))
    statuses = {r["name"]: r["status"] for r in list_versions(engine, "main")}
    if second.promoted:
        assert statuses == {result.name: "retired", second.name: "live"}
        assert list(live.parent.glob("learned.yaml.*.bak"))
    engine.dispose()


def test_guards_refuse_too_little_data(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url, n=50)
    engine = open_database(url)
    with pytest.raises(DataError, match="labelled contacts"):
        learn_from_crm(engine, _crm(tmp_path, url), now=NOW)
    assert learn_if_due(engine, _crm(tmp_path, url, every_days=7), NOW) is None  # logged, not raised
    engine.dispose()


def test_schedule_hook_learns_only_when_due(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url)
    crm = _crm(tmp_path, url, every_days=7)
    engine = open_database(url)
    assert learn_if_due(engine, _crm(tmp_path, url), NOW) is None  # no every_days: only by hand
    assert learn_if_due(engine, crm, NOW) is not None
    assert learn_if_due(engine, crm, NOW + dt.timedelta(days=6)) is None
    assert learn_if_due(engine, crm, NOW + dt.timedelta(days=7, minutes=1)) is not None
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(model_versions)).scalar_one() == 2
    engine.dispose()


def test_cli_learn_crm_and_models(tmp_path: pathlib.Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    _fill(url)
    path = write_config(tmp_path, url, learn=LEARN)
    runner = CliRunner()
    bad = runner.invoke(app, ["learn", "--crm", "main", "--config", str(path), "--label", "won"])
    assert bad.exit_code == 2 and "outcome kinds" in bad.output
    done = runner.invoke(app, ["learn", "--crm", "main", "--config", str(path), "--label", "closed_won"])
    assert done.exit_code == 0, done.output
    name = next(line.split()[1] for line in done.output.splitlines() if line.startswith("learned "))
    listed = runner.invoke(app, ["models", "list", "--config", str(path)])
    assert listed.exit_code == 0 and name in listed.output and "draft" in listed.output
    missing = runner.invoke(app, ["models", "promote", "nope", "--config", str(path)])
    assert missing.exit_code == 2 and "no learned model 'nope'" in missing.output
    promoted = runner.invoke(app, ["models", "promote", name, "--config", str(path)])
    assert promoted.exit_code == 0 and "is live" in promoted.output
    assert (tmp_path / "models" / "learned.yaml").is_file()
    plain = runner.invoke(app, ["learn", "--label", "x"])
    assert plain.exit_code == 2 and "--crm NAME" in plain.output
