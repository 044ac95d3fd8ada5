"""The sync CLI end to end on a fake CRM: sync, status, explain, quarantine list/retry."""

from __future__ import annotations

import pathlib

import pytest
from typer.testing import CliRunner

from connector.cli import app
from tests.fakecrm import T0, FakeAdapter, FakeCRM
from tests.sync.conftest import write_config


@pytest.fixture
def cli_env(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pathlib.Path, FakeCRM]:
    crm = FakeCRM()
    crm.add_contact("c1", T0, email="a@x.com", job_title="Marketing")
    crm.add_contact("c2", T0, email="b@x.com", job_title="Sales")
    crm.add_activity("d1", "demo_request", T0, contact_id="c1")
    crm.refuse["c2"] = ("PROPERTY_DOESNT_EXIST: test_model_grade", False)
    monkeypatch.setattr("connector.sync.pipeline.connect", lambda c, gate, **kw: FakeAdapter(crm, gate))
    path = write_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    monkeypatch.setenv("CONNECTOR_CONFIG", str(path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # rich tables unwrapped, so the test reads whole cells
    return path, crm


def test_sync_prints_a_summary_and_exits_3_for_ok_with_a_quarantined_write(cli_env) -> None:
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 3, result.output
    assert "Sync summary" in result.output
    assert "main" in result.output and "ok, 1 quarantined" in result.output


def test_status_shows_runs_cursors_outbox_quarantine_and_schedule(cli_env) -> None:
    CliRunner().invoke(app, ["sync"])
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    for text in ("Last runs", "writes 0", "outbox: 1", "not scheduled", "ok, 1", "quarantined"):
        assert text in result.output


def test_explain_shows_reasons_stage_history_and_triggers(cli_env) -> None:
    CliRunner().invoke(app, ["sync"])
    result = CliRunner().invoke(app, ["explain", "c1", "--crm", "main"])
    assert result.exit_code == 0, result.output
    for text in ("score 65", "job title Marketing", "demo request", "Stage history", "-> mql", "Triggers fired", "hot", "add_to_list done"):
        assert text in result.output, text
    as_json = CliRunner().invoke(app, ["explain", "c1", "--json"])
    import json

    data = json.loads(as_json.output)
    assert data["scores"][0]["score"] == 65 and data["stage_history"][0]["to_stage"] == "mql"
    missing = CliRunner().invoke(app, ["explain", "nobody"])
    assert missing.exit_code == 1 and "not in the state store" in missing.output


def test_quarantine_list_and_retry(cli_env) -> None:
    _, crm = cli_env
    CliRunner().invoke(app, ["sync"])
    listed = CliRunner().invoke(app, ["quarantine", "list"])
    assert listed.exit_code == 0 and "PROPERTY_DOESNT_EXIST" in listed.output and "c2" in listed.output
    del crm.refuse["c2"]
    retried = CliRunner().invoke(app, ["quarantine", "retry"])
    assert "outbox: 1 put back" in retried.output
    CliRunner().invoke(app, ["sync"])
    assert "c2" in crm.fields
    assert "nothing quarantined" in CliRunner().invoke(app, ["quarantine", "list"]).output


def test_bad_config_is_reported_with_file_line_and_key(cli_env) -> None:
    path, _ = cli_env
    path.write_text(path.read_text().replace("overlap_minutes: 0", "overlap_minutes: soon"))
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 1
    assert f"{path}:2: overlap_minutes:" in result.output


def test_unknown_crm(cli_env) -> None:
    result = CliRunner().invoke(app, ["sync", "--crm", "nope"])
    assert result.exit_code == 1 and "no CRM named 'nope'" in result.output


def test_json_log_lines_and_no_secret_in_them(cli_env, monkeypatch) -> None:
    import json

    path, _ = cli_env
    path.write_text("log_format: json\n" + path.read_text())
    monkeypatch.setenv("TEST_TOKEN_VAR", "pat-secret-should-never-show")
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 3, result.output  # ok, c2's write quarantined
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any("run 1 started" in entry["message"] for entry in lines)
    assert all({"ts", "level", "logger", "message"} <= entry.keys() for entry in lines)
    assert "pat-secret-should-never-show" not in result.output + result.stderr
