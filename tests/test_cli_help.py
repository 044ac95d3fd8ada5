"""The CLI's help and small conveniences: no ``<bool>`` beside flags, ``run -c``, check's own wording."""

from __future__ import annotations

import typing as t

import pytest
import typer.main
from typer.testing import CliRunner

from connector.cli import app


def _commands() -> list[list[str]]:
    """Every command path of the CLI (``["quarantine", "list"]``...)."""
    found: list[list[str]] = []

    def walk(command: t.Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "connector")
def test_no_flag_shows_a_value_placeholder(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "<list[" not in result.output, result.output


def test_run_takes_c_for_config_like_every_other_command(tmp_path) -> None:
    result = CliRunner().invoke(app, ["run", "-c", str(tmp_path / "absent.yaml")])
    assert result.exit_code == 2 and "absent.yaml: configuration not found" in result.output, result.output


def test_check_and_setup_each_say_what_they_do() -> None:
    check = CliRunner().invoke(app, ["check", "--help"], env={"COLUMNS": "200"}).output
    setup = CliRunner().invoke(app, ["setup", "--help"], env={"COLUMNS": "200"}).output
    assert "without changing anything" in check and "must exist in the CRM" in check
    assert "setup without a config" not in check and "to create" not in check
    assert "whose output fields to create" in setup and "Changes the CRM" in setup
