"""``connector sync --as-of``: two CLI runs against a frozen sandbox write byte-identical results."""

from __future__ import annotations

import json
import pathlib

from typer.testing import CliRunner

from connector.cli import app
from connector.sync.config import load_config
from tests.sync.test_crash import crm_state, db_state, env_for, make_sandbox, setup_crm, write_config

AS_OF = "2026-06-01T12:05:00Z"


def _one_run(folder: pathlib.Path) -> str:
    """A fresh sandbox on the frozen clock, a fresh state database, one CLI sync as of AS_OF; everything it left, as text."""
    folder.mkdir()
    with make_sandbox(40) as crm:
        config = write_config(folder)
        setup_crm(config, crm)
        env = {**env_for(crm), "CONNECTOR_CONFIG": str(config), "DATABASE_URL": None, "COLUMNS": "200"}
        result = CliRunner().invoke(app, ["sync", "--as-of", AS_OF], env=env)
        assert result.exit_code in (0, 3), result.output
        explained = CliRunner().invoke(app, ["explain", "1", "--json"], env=env)
        assert explained.exit_code == 0, explained.output
        state = crm_state(crm)
    scored_at = {p.get("b2b_saas_scored_at") for p in state["contacts"].values()}
    assert scored_at == {"2026-06-01T12:05:00Z"} or scored_at == {"2026-06-01T12:05:00.000Z"}, scored_at
    return "\n".join([json.dumps(state, sort_keys=True), json.dumps(db_state(load_config(config).effective_database_url()), sort_keys=True), explained.output])


def test_two_syncs_as_of_one_instant_against_a_frozen_crm_are_identical(tmp_path: pathlib.Path) -> None:
    first = _one_run(tmp_path / "first")
    second = _one_run(tmp_path / "second")
    assert first == second


def test_as_of_must_be_an_instant(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(app, ["sync", "--as-of", "last tuesday"], env={"CONNECTOR_CONFIG": str(tmp_path / "absent.yaml")})
    assert result.exit_code == 2 and "--as-of" in result.output
