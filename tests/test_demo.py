"""``connector demo``: a sandbox portal and a sandbox org, set up and fully synced by one model set, with the results a user sees first."""

from __future__ import annotations

import pathlib
import sqlite3

import pytest
from typer.testing import CliRunner

from connector.cli import app
from connector.demo import DEMO_CRM, SALESFORCE_DEMO_CRM, DemoOptions, run_demo


def _options(tmp_path: pathlib.Path, contacts: int = 60) -> DemoOptions:
    return DemoOptions(database=tmp_path / "demo.db", contacts=contacts, rate_limit=None, search_rate=None)


def test_demo_syncs_the_portal_and_reports_leads_stages_and_calls(tmp_path: pathlib.Path) -> None:
    report, _sandboxes = run_demo(_options(tmp_path))
    hs = report.crm(DEMO_CRM)
    s = hs.summary
    assert s.status == "ok", s.error
    assert s.pulled_contacts == 60 and s.scored == 60 and s.written == 60
    assert hs.setup_changes, "a fresh sandbox needs its properties and lists created"
    assert hs.setup_calls > 0 and s.api_calls == sum(hs.calls_by_endpoint.values())
    first = report.models[0]
    scores = [lead.scores[first] for lead in hs.top]
    assert len(hs.top) == 10 and scores == sorted(scores, reverse=True)
    assert all(lead.name and lead.email for lead in hs.top)
    for model in report.models:
        assert sum(hs.stage_counts[model].values()) == 60
    assert report.config_path.is_file() and report.config_path.parent == tmp_path
    assert (tmp_path / "demo.db").is_file()
    tasks = hs.calls_by_endpoint.get("POST crm/objects/tasks/batch/create", 0)
    assert tasks and not any(name.startswith("GET crm/objects/contacts/") for name in hs.calls_by_endpoint), "tasks in batches, owners pulled with the contacts"

    sf = report.crm(SALESFORCE_DEMO_CRM)
    assert sf.summary.status == "ok", sf.summary.error
    assert sf.summary.scored == sf.summary.written > 60 and sf.setup_changes
    assert len(sf.top) == 10 and all(lead.contact_id[:3] in ("00Q", "003") for lead in sf.top)
    assert set(sf.stage_counts) == set(report.models)
    assert sf.calls_by_endpoint.get("PATCH composite/sobjects") and sf.calls_by_endpoint.get("POST composite/sobjects"), "values and tasks written"


def test_demo_replaces_its_own_database_but_never_another_crms(tmp_path: pathlib.Path) -> None:
    run_demo(_options(tmp_path, 20))
    again, _ = run_demo(_options(tmp_path, 20))
    assert again.crm(DEMO_CRM).summary.written == 20, "a second demo starts from a fresh database and writes everything again"

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, crm TEXT)")
        conn.execute("INSERT INTO runs (crm) VALUES ('production')")
    with pytest.raises(FileExistsError, match="production"):
        run_demo(DemoOptions(database=other, contacts=20, rate_limit=None, search_rate=None))
    with sqlite3.connect(other) as conn:
        assert conn.execute("SELECT crm FROM runs").fetchall() == [("production",)]
    assert DEMO_CRM != "production"


def test_demo_command_prints_the_tables_and_next_steps(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--contacts", "40", "--no-rate-limit", "--database", str(tmp_path / "d.db")])
    assert result.exit_code == 0, result.output
    for text in ("HubSpot: top 10 leads", "Salesforce: top 10 leads", "contacts per stage", "API calls", "Try next", "connector explain"):
        assert text in result.output
