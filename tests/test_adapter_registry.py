"""A CRM the connector has never heard of plugs in through the registry alone, and the CLI drives it.

``tests/fakecrm`` is an adapter package outside ``connector/``: its ``ADAPTER`` declaration is found
by its dotted path (``adapter: tests.fakecrm``), with its own credential role, base-URL variable,
rate limits, batch size, longest text and mapping loader. No line of the connector names it. Its CRM
lives in a JSON file, so separate commands see one CRM: ``check`` finds the output fields missing,
``setup`` creates them, ``check`` passes, ``sync`` writes scores, lists and tasks, ``status`` and
``explain`` show the state.
"""

from __future__ import annotations

import pathlib
import shutil

import pytest
from typer.testing import CliRunner

from connector.adapters import REGISTRY
from connector.cli import app
from connector.sync.config import crm_entry, write_config
from tests.fakecrm import ADAPTER, T0, FakeCRM

DATA = pathlib.Path(__file__).resolve().parent / "sync" / "data"


@pytest.fixture
def world(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A fake CRM in a file, its mapping, a model and a connector.yaml naming the adapter by its path."""
    crm = FakeCRM(schema=set())
    crm.add_contact("c1", T0, email="a@x.com", owner_id="owner-7", job_title="Marketing")
    crm.add_contact("c2", T0, email="b@x.com", job_title="Sales")
    crm.add_activity("d1", "demo_request", T0, contact_id="c1")
    state = tmp_path / "crm.json"
    crm.save(state)
    shutil.copy(DATA / "model.yaml", tmp_path / "model.yaml")
    shutil.copy(DATA / "mapping.yaml", tmp_path / "mapping.yaml")
    config = write_config(tmp_path / "connector.yaml", [crm_entry("main", "tests.fakecrm", "mapping.yaml", ["model.yaml"])], database_url=f"sqlite:///{tmp_path / 'state.db'}")
    for name, value in (("FAKECRM_TOKEN", "fake-secret-token"), ("FAKECRM_STATE", str(state)), ("CONNECTOR_CONFIG", str(config)), ("COLUMNS", "250")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return state


def test_the_fake_crm_is_not_registered_it_is_found_by_its_path() -> None:
    assert "tests.fakecrm" not in REGISTRY.values() and ADAPTER.name not in REGISTRY


def test_check_setup_sync_status_explain_through_the_registry(world: pathlib.Path) -> None:
    runner = CliRunner()
    before = runner.invoke(app, ["check", "--crm", "main"])
    assert before.exit_code == 1 and "output 'test_model_score' has no field in the CRM" in before.output

    setup = runner.invoke(app, ["setup", "--crm", "main"])
    assert setup.exit_code == 0, setup.output
    assert "created/updated: field test_model_score" in setup.output
    assert runner.invoke(app, ["setup", "--crm", "main"]).output.count("0 change(s)") == 1
    after = runner.invoke(app, ["check", "--crm", "main"])
    assert after.exit_code == 0, after.output

    sync = runner.invoke(app, ["sync"])
    assert sync.exit_code == 0, sync.output
    crm = FakeCRM.load(world)
    assert crm.fields["c1"]["test_model_score"] == 65 and crm.fields["c1"]["test_model_stage"] == "mql"
    assert crm.lists == {"hot leads": {"c1"}}
    assert [(t.contact_id, t.owner_id, t.subject) for t in crm.tasks] == [("c1", "owner-7", "Call this lead")]
    assert len(crm.fields["c1"]["test_model_reasons"]) <= ADAPTER.max_text_length

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0 and "main" in status.output and "ok" in status.output
    explained = runner.invoke(app, ["explain", "c1"])
    assert explained.exit_code == 0, explained.output
    for text in ("score 65", "job title Marketing", "demo request", "-> mql", "hot", "create_task done"):
        assert text in explained.output, text
    validated = runner.invoke(app, ["validate", "connector.yaml"])
    assert validated.exit_code == 0 and "tests.fakecrm" in validated.output
    for result in (before, setup, after, sync, status, explained):
        assert "fake-secret-token" not in result.output


def test_its_credentials_are_named_by_its_own_declaration(world: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FAKECRM_TOKEN")
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 1 and "set FAKECRM_TOKEN" in result.output
    without_config = CliRunner().invoke(app, ["check", "--crm", "tests.fakecrm", "--mapping", "mapping.yaml"], env={"CONNECTOR_CONFIG": "absent.yaml", "FAKECRM_TOKEN": "t"})
    assert without_config.exit_code == 0, without_config.output  # no config: the adapter's defaults, found by its path
