"""``connector check --crm salesforce`` and ``connector setup --crm salesforce`` without a config: the shipped mapping, SALESFORCE_* variables."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.sandbox.salesforce import SalesforceSandbox
from tests.adapters.salesforce.conftest import MAPPING, MODEL, REPO


def test_check_fails_with_file_and_line_then_setup_then_check_passes(sandbox: SalesforceSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("CONNECTOR_CONFIG", raising=False)
    env = sandbox.env()
    runner = CliRunner()
    before = runner.invoke(app, ["check", "--crm", "salesforce", "--mapping", str(MAPPING), "--model", str(MODEL)], env=env)
    assert before.exit_code == 1, before.output
    assert f"{MAPPING}:" in before.output and "outputs.fields.b2b_saas_score" in before.output and "connector setup" in before.output
    setup = runner.invoke(app, ["setup", "--crm", "salesforce", "--mapping", str(MAPPING), "--model", str(MODEL)], env=env)
    assert setup.exit_code == 0, setup.output
    assert "created/updated: permission set Lead_Scoring_Connector" in setup.output
    again = runner.invoke(app, ["setup", "--crm", "salesforce", "--mapping", str(MAPPING), "--model", str(MODEL)], env=env)
    assert again.exit_code == 0 and "nothing to do, already set up" in again.output, again.output
    after = runner.invoke(app, ["check", "--crm", "salesforce", "--mapping", str(MAPPING), "--model", str(MODEL)], env=env)
    assert after.exit_code == 0 and "matches the CRM" in after.output, after.output
    assert env["SALESFORCE_PASSWORD"] not in before.output + setup.output + after.output
