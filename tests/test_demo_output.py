"""What ``connector demo`` prints: runnable next steps, stage lines in order, the deliberate quarantine explained."""

from __future__ import annotations

import os
import pathlib
import shlex
import shutil

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.cli.common import connector_command
from connector.cli.demo import _StageLines, next_steps
from connector.demo import DEMO_CRM, SALESFORCE_DEMO_CRM, DemoOptions, run_demo
from connector.sandbox.hubspot.seed import UNASSIGNED_EMAIL
from connector.sync.progress import STAGES


def _venv(tmp_path: pathlib.Path) -> pathlib.Path:
    script = tmp_path / "proj" / ".venv" / "bin" / "connector"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    (script.parent / "python").write_text("")
    return script


def test_next_steps_run_as_printed_outside_an_active_venv(tmp_path: pathlib.Path) -> None:
    script = _venv(tmp_path)
    project = tmp_path / "proj"
    # `make demo` runs .venv/bin/connector from the project folder; the venv's bin is not on PATH.
    assert connector_command(".venv/bin/connector", executable=str(script.parent / "python"), search_path="/usr/bin", cwd=project) == ".venv/bin/connector"
    # Run some other way (python -m, a test): the script next to the interpreter.
    assert connector_command("-c", executable=str(script.parent / "python"), search_path="/usr/bin", cwd=project) == ".venv/bin/connector"
    assert connector_command("-c", executable=str(script.parent / "python"), search_path="/usr/bin", cwd=tmp_path / "elsewhere") == str(script)
    assert connector_command("-c", executable=str(script.parent / "python"), search_path="/usr/bin", cwd=project, absolute=True) == str(script)


def test_next_steps_say_connector_when_the_shell_finds_it(tmp_path: pathlib.Path) -> None:
    script = _venv(tmp_path)
    assert connector_command(str(script), executable=str(script.parent / "python"), search_path=str(script.parent), cwd=tmp_path) == "connector"


def test_a_keep_run_does_not_suggest_keep() -> None:
    assert any("demo --keep" in line for line in next_steps("connector", "demo-connector.yaml", [("hubspot-demo", "1")], keep=False))
    assert not any("--keep" in line for line in next_steps("connector", "demo-connector.yaml", [("hubspot-demo", "1")], keep=True))


def test_stage_lines_read_in_the_order_of_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    lines = _StageLines()
    # The pipeline's own order of events: the pusher starts first and ends after the scoring.
    for event, stage in [("start", "push"), ("start", "pull activities"), ("finish", "pull activities"), ("start", "pull contacts"), ("start", "score"),
                         ("finish", "score"), ("finish", "pull contacts"), ("finish", "push"), ("start", "actions"), ("finish", "actions"),
                         ("start", "pull outcomes"), ("finish", "pull outcomes")]:
        getattr(lines, event)(stage)
    lines.close()
    printed = [line.split(":")[0].strip() for line in capsys.readouterr().out.splitlines()]
    assert printed == list(STAGES)


def test_demo_output_runs_as_printed_and_explains_the_ownerless_record(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["demo", "--contacts", "60", "--no-rate-limit", "--database", "d.db"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    out = result.output.splitlines()
    stage_lines = [line.split(":")[0].strip() for line in out if line.startswith("  ") and " done in " in line]
    assert stage_lines == list(STAGES) * 2  # HubSpot's run, then Salesforce's
    steps = out[out.index("Try next:") + 1 :]
    commands = [shlex.split(line.split("#")[0])[0] for line in steps if "--config" in line or "demo --keep" in line]
    assert len(commands) == 5  # status, explain (one per CRM), quarantine list, demo --keep
    for command in commands:
        found = shutil.which(command, path=os.environ.get("PATH", "")) if "/" not in command else command
        assert found and os.access(found, os.X_OK), f"{command} does not run as printed"
    assert "on purpose: contact 1 (riley.unassigned@northwind-labs.example) reached MQL" in result.output


def test_the_demo_quarantines_no_task_but_the_ownerless_contacts(tmp_path: pathlib.Path) -> None:
    report, _ = run_demo(DemoOptions(database=tmp_path / "demo.db", contacts=120, rate_limit=None, search_rate=None))
    hubspot = report.crm(DEMO_CRM)
    tasks = [q for q in hubspot.quarantined if q.stream == "actions" and q.reason.startswith("create_task")]
    assert [(q.email, q.on_purpose) for q in tasks] == [(UNASSIGNED_EMAIL, True)]
    # Nothing else of either CRM is quarantined out of the box: a new user's first run shows one
    # deliberate record, explained.
    assert hubspot.quarantined == tasks
    assert report.crm(SALESFORCE_DEMO_CRM).quarantined == []


def test_suggested_commands_carry_the_config_given(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.cli.common import command_line

    monkeypatch.chdir(tmp_path)
    line = command_line("quarantine", "list", "--crm", "eu portal", config=tmp_path / "conf" / "connector.yaml")
    assert line == f"{connector_command()} quarantine list --crm 'eu portal' --config conf/connector.yaml"
    assert command_line("status") == f"{connector_command()} status"
