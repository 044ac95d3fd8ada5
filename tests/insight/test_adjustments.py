"""Manual adjustments: recorded with who/when/why, counted by the next sync, never lost, expiring."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.cli import app
from connector.scoring.loader import load_models
from connector.sync import adjustments
from connector.sync.db import make_engine, open_database
from connector.sync.pipeline import _Run, run_sync
from connector.sync.tables import contacts, scores
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config

# -- through the library, on the test clock -----------------------------------------------------------


def _record(config, clock, **kw) -> None:
    engine = open_database(config.effective_database_url())
    models = load_models(config.crm("main").models)
    item = {"contact_id": "c1", "model": "test-model", "dimension": "fit", "points": 15.0, "reason": "met at SaaStr", "by": "sam", "expires_at": None, "source": "cli"}
    item.update(kw)
    adjustments.add(engine, "main", [adjustments.plan(models, now=clock.now, **item)], clock.now)
    engine.dispose()


def _score(config, cid: str = "c1") -> tuple[float, dict]:
    engine = make_engine(config.effective_database_url())
    with engine.connect() as conn:
        score, dims = conn.execute(sa.select(scores.c.score, scores.c.dimensions).where(scores.c.contact_id == cid)).one()
    engine.dispose()
    return score, dims


def test_the_next_sync_counts_it_and_a_repull_does_not_lose_it(sync_config, fake_crm, factory, clock) -> None:
    fake_crm.add_contact("c1", T0, email="ann@x.com", job_title="Marketing")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert _score(sync_config) == (25, {"fit": 25, "engagement": 0})
    clock.advance(minutes=5)
    _record(sync_config, clock)
    clock.advance(minutes=5)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.scored == 1
    assert fake_crm.fields["c1"]["test_model_fit"] == 40
    assert "+15 met at SaaStr" in fake_crm.fields["c1"]["test_model_reasons"]
    # The contact changes in the CRM and is pulled again: the adjustment still counts.
    clock.advance(minutes=5)
    fake_crm.add_contact("c1", clock.now - dt.timedelta(minutes=1), email="ann@x.com", job_title="Marketing director")
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    # Pulled by the search and by the re-read of what the previous run wrote (the echo); scored once.
    assert summary.pulled_contacts == 2 and summary.scored == 1
    assert _score(sync_config) == (40, {"fit": 40, "engagement": 0})


def test_a_crash_before_the_scoring_commits_loses_nothing(sync_config, fake_crm, factory, clock, monkeypatch) -> None:
    fake_crm.add_contact("c1", T0, job_title="Marketing")
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    clock.advance(minutes=5)
    _record(sync_config, clock)
    clock.advance(minutes=5)

    def killed(self, chunk):  # the process dies between scoring and committing
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(_Run, "_commit", killed)
        with pytest.raises(KeyboardInterrupt):
            run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert _score(sync_config)[0] == 25  # nothing of the dead run was committed
    clock.advance(minutes=5)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert _score(sync_config)[0] == 40


def test_an_expired_adjustment_stops_counting_and_its_contact_is_rescored(sync_config, fake_crm, factory, clock) -> None:
    fake_crm.add_contact("c1", T0, job_title="Marketing")
    fake_crm.add_contact("c2", T0, job_title="Engineer")
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    _record(sync_config, clock, points=10.0, expires_at=clock.now + dt.timedelta(hours=2))
    clock.advance(minutes=1)
    run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert fake_crm.fields["c1"]["test_model_fit"] == 35
    clock.advance(hours=1)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).scored == 0  # not expired yet: nobody to rescore
    clock.advance(hours=1)
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.scored == 1  # c1 only: its adjustment expired since it was last scored
    assert fake_crm.fields["c1"]["test_model_fit"] == 25
    assert "SaaStr" not in fake_crm.fields["c1"]["test_model_reasons"]


def test_plan_names_the_field_at_fault(sync_config, clock) -> None:
    models = load_models(sync_config.crm("main").models)
    base = {"contact_id": "c1", "model": "test-model", "dimension": "fit", "points": 5.0, "reason": "x", "by": "me", "expires_at": None, "source": "cli", "now": clock.now}
    for change, message in (
        ({"model": "nope"}, "model: 'nope' is not a model of this CRM"),
        ({"dimension": "size"}, "dimension: model 'test-model' has no dimension 'size'"),
        ({"points": 0.0}, "points: expected a non-zero finite number"),
        ({"points": float("nan")}, "points: expected a non-zero finite number"),
        ({"reason": "  "}, "reason: required"),
        ({"expires_at": clock.now - dt.timedelta(seconds=1)}, "expires: "),
    ):
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            adjustments.plan(models, **{**base, **change})


# -- through the CLI, on the wall clock -------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pathlib.Path, FakeCRM]:
    crm = FakeCRM()
    crm.add_contact("c1", T0, email="Ann@X.com", job_title="Marketing", industry="Software")
    crm.add_contact("c2", T0, email="bob@x.com", job_title="Sales", industry="Software")
    crm.add_contact("c3", T0, email="cy@x.com", job_title="Sales", industry="Retail")
    monkeypatch.setattr("connector.sync.pipeline.connect", lambda c, gate, **kw: FakeAdapter(crm, gate))
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    assert CliRunner().invoke(app, ["sync"]).exit_code == 0
    return path, crm


def _run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_adjust_by_email_then_sync_explain_and_history_show_it(cli_env) -> None:
    _, crm = cli_env
    done = _run("adjust", "ann@x.com", "--model", "test-model", "--dimension", "engagement", "--points", "30", "--reason", "Budget confirmed", "--by", "sam@x.com")
    assert done.exit_code == 0, done.output
    assert "recorded 1 adjustment(s) for 1 contact(s)" in done.output
    assert _run("sync").exit_code == 0
    assert crm.fields["c1"]["test_model_engagement"] == 30 and crm.fields["c1"]["test_model_score"] == 55
    explained = _run("explain", "c1")
    for text in ("Budget confirmed (sam@x.com)", "Manual adjustments", "+30 engagement by sam@x.com: Budget confirmed (no expiry)"):
        assert text in explained.output, text
    data = json.loads(_run("explain", "c1", "--json").output)
    assert data["adjustments"][0]["reason"] == "Budget confirmed" and data["adjustments"][0]["by"] == "sam@x.com"
    lines = [json.loads(line) for line in _run("history", "ANN@x.com", "--json").output.splitlines()]
    kinds = [(e["kind"], e["subject"], e["old"], e["new"]) for e in lines]
    assert ("adjustment", "engagement", None, "+30") in kinds
    assert ("stage", "stage", "subscriber", "mql") in kinds  # 55 >= 50 after the adjustment
    assert ("trigger", "hot", "< 50", "55") in kinds
    moved = next(e for e in lines if e["kind"] == "stage" and e["new"] == "mql")
    assert moved["reason"] == "mql holds (any of): total 55 >= 50"
    table = _run("history", "c1")
    assert table.exit_code == 0 and "Budget confirmed" in table.output and "total reached >= 50" in table.output


def test_adjust_refuses_unknown_contacts_and_bad_values_plainly(cli_env) -> None:
    unknown = _run("adjust", "nobody@x.com", "--model", "test-model", "--dimension", "fit", "--points", "5", "--reason", "r")
    assert unknown.exit_code == 1 and "contact 'nobody@x.com' is not in the state store" in unknown.output
    bad = _run("adjust", "c1", "--model", "test-model", "--dimension", "size", "--points", "5", "--reason", "r")
    assert bad.exit_code == 1 and "has no dimension 'size'" in bad.output
    expires = _run("adjust", "c1", "--model", "test-model", "--dimension", "fit", "--points", "5", "--reason", "r", "--expires", "soon")
    assert expires.exit_code == 1 and "expires: 'soon' is not an ISO 8601" in expires.output
    both = _run("adjust", "c1", "--where", "{property: industry, op: eq, value: Software}")
    assert both.exit_code == 2


def test_bulk_csv_reports_every_bad_row_with_its_line_and_records_nothing(cli_env, tmp_path) -> None:
    bad = tmp_path / "bulk.csv"
    bad.write_text(
        "contact,model,dimension,points,reason,expires\n"
        "c1,test-model,fit,10,trade show,\n"
        "nobody,test-model,fit,10,x,\n"
        "c2,test-model,fit,ten,x,\n"
        "c3,test-model,fit,5,x,2020-01-01T00:00:00Z\n"
        "c3,test-model,fit\n"
    )
    result = _run("adjust", "--csv", str(bad))
    assert result.exit_code == 1
    for text in (f"{bad}:3: contact: 'nobody' is not in the state store", f"{bad}:4: points: expected a number, got 'ten'", f"{bad}:5: expires: ", f"{bad}:6: "):
        assert text in result.output, text
    assert "nothing recorded" in result.output
    good = tmp_path / "good.csv"
    good.write_text("contact,model,dimension,points,reason,by\nc1,test-model,fit,10,trade show,lee\nbob@x.com,test-model,engagement,-5,bounced,\n")
    result = _run("adjust", "--csv", str(good), "--by", "admin")
    assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    rows = adjustments.of_contact(engine, "main", "c1") + adjustments.of_contact(engine, "main", "c2")
    engine.dispose()
    assert [(r["contact_id"], r["points"], r["by"], r["source"]) for r in rows] == [("c1", 10, "lee", "csv:good.csv:2"), ("c2", -5, "admin", "csv:good.csv:3")]


def test_segment_dry_run_lists_who_and_the_real_run_adjusts_exactly_them(cli_env, tmp_path) -> None:
    where = "{all: [{property: industry, op: eq, value: software}, {property: email, op: email_domain_in, value: [x.com]}]}"
    dry = _run("adjust", "--where", where, "--model", "test-model", "--dimension", "fit", "--points", "7", "--reason", "ICP push", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would adjust 2 contact(s)" in dry.output and "c1" in dry.output and "c2" in dry.output and "c3" not in dry.output
    engine = make_engine(f"sqlite:///{tmp_path / 'state.db'}")
    assert adjustments.for_scoring(engine, "main", ["c1", "c2", "c3"]) == {}
    with engine.connect() as conn:
        assert not any(n for (n,) in conn.execute(sa.select(contacts.c.needs_score)))
    real = _run("adjust", "--where", where, "--model", "test-model", "--dimension", "fit", "--points", "7", "--reason", "ICP push")
    assert real.exit_code == 0, real.output
    assert sorted(adjustments.for_scoring(engine, "main", ["c1", "c2", "c3"])) == ["c1", "c2"]
    engine.dispose()
    bad = _run("adjust", "--where", "{property: industry, op: equals, value: x}", "--model", "test-model", "--dimension", "fit", "--points", "7", "--reason", "r")
    assert bad.exit_code == 1 and "--where: not a condition" in bad.output


def test_withdraw_ends_an_adjustment_now_and_the_next_sync_drops_it(cli_env, tmp_path) -> None:
    _, crm = cli_env
    assert _run("adjust", "c1", "--model", "test-model", "--dimension", "fit", "--points", "20", "--reason", "promo").exit_code == 0
    assert _run("sync").exit_code == 0 and crm.fields["c1"]["test_model_fit"] == 45
    given = next(json.loads(line) for line in _run("history", "c1", "--json").output.splitlines() if json.loads(line)["kind"] == "adjustment")
    ident = int(given["detail"].split()[0].lstrip("#"))
    done = _run("adjust", "--withdraw", str(ident))
    assert done.exit_code == 0 and f"withdrew adjustment(s) {ident}" in done.output
    assert _run("sync").exit_code == 0 and crm.fields["c1"]["test_model_fit"] == 25
    kinds = [json.loads(line)["kind"] for line in _run("history", "c1", "--json").output.splitlines()]
    assert "adjustment expired" in kinds
    again = _run("adjust", "--withdraw", str(ident), "--withdraw", "999")
    assert again.exit_code == 1 and f"with id {ident}, 999" in again.output
