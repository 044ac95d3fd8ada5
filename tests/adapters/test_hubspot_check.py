"""connector check: every unknown or mistyped property reported with file and line."""

from __future__ import annotations

import pathlib

import pytest
from typer.testing import CliRunner

from connector.adapters.hubspot import HubSpotAdapter, load_mapping
from connector.adapters.specs import specs_from_models
from connector.cli import app
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import EXAMPLE_MAPPING, MODEL, add_example_forms, make_adapter

BROKEN = """\
crm: hubspot
contacts:
  properties:
    job_title: jobtitel
    company_size: {property: numemployees, type: number}
    revenue: {property: annualrevenue, type: number}
activities:
  web_events:
    types:
      e_visited_page: page_view
      e_viewed_pag: page_view
outputs:
  properties:
    b2b_saas_score: hs_object_id
outcomes:
  customer: {date_property: hs_lifecyclestage_customer_dat}
"""


def test_problems_name_file_line_and_key(sandbox: HubSpotSandbox, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "hubspot.yaml"
    path.write_text(BROKEN)
    adapter = make_adapter(sandbox, load_mapping(path))
    problems = {(p.line, p.key): p.message for p in adapter.check([])}
    assert problems[(4, "contacts.properties.job_title.property")].startswith("HubSpot has no contact property 'jobtitel' (did you mean jobtitle")
    assert "numemployees' is a HubSpot enumeration property; cannot read it as number" in problems[(5, "contacts.properties.company_size")]
    assert "no web event type 'e_viewed_pag'" in problems[(11, "activities.web_events.types.e_viewed_pag")]
    assert "read-only" in problems[(14, "outputs.properties.b2b_saas_score")]
    assert "no contact property 'hs_lifecyclestage_customer_dat' (did you mean hs_lifecyclestage_customer_date" in problems[(16, "outcomes.customer.date_property")]
    assert len(problems) == 5
    assert all(p.file == str(path) for p in adapter.check([]))


def test_example_mapping_matches_the_sandbox_portal_after_setup(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    from connector.scoring.loader import load_model

    model = load_model(MODEL)
    outputs = list(model.output_names().values())
    add_example_forms(sandbox)
    before = adapter.check(outputs)
    assert before and all("run `connector setup" in p.message for p in before)
    adapter.setup(specs_from_models([model]))
    assert adapter.check(outputs) == []


def test_cli_check_and_setup(sandbox: HubSpotSandbox, tmp_path: pathlib.Path) -> None:
    env = {"HUBSPOT_BASE_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": sandbox.token}
    add_example_forms(sandbox)
    runner = CliRunner()
    first = runner.invoke(app, ["setup", "--crm", "hubspot", "--mapping", str(EXAMPLE_MAPPING), "--model", str(MODEL)], env=env)
    assert first.exit_code == 0, first.output
    assert "created/updated: property b2b_saas_score" in first.output
    again = runner.invoke(app, ["setup", "--crm", "hubspot", "--mapping", str(EXAMPLE_MAPPING), "--model", str(MODEL)], env=env)
    assert again.exit_code == 0 and "0 change(s)" in again.output
    ok = runner.invoke(app, ["check", "--crm", "hubspot", "--mapping", str(EXAMPLE_MAPPING), "--model", str(MODEL)], env=env)
    assert ok.exit_code == 0, ok.output
    path = tmp_path / "hubspot.yaml"
    path.write_text(BROKEN)
    bad = runner.invoke(app, ["check", "--crm", "hubspot", "--mapping", str(path)], env=env)
    assert bad.exit_code == 1
    assert f"{path}:4: contacts.properties.job_title.property" in bad.output
    assert sandbox.token not in bad.output


def test_cli_without_credentials_names_the_variables(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.chdir(tmp_path)  # no .env here

    env = {k: "" for k in os.environ if k.startswith("HUBSPOT_")}
    result = CliRunner().invoke(app, ["check", "--crm", "hubspot", "--mapping", str(EXAMPLE_MAPPING)], env={**env, "HUBSPOT_ACCESS_TOKEN": ""})
    assert result.exit_code == 2
    assert "HUBSPOT_ACCESS_TOKEN" in result.output and "HUBSPOT_REFRESH_TOKEN" in result.output


def test_cli_setup_defaults_to_the_shipped_models(sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.adapters.conftest import REPO

    monkeypatch.chdir(REPO)
    env = {"HUBSPOT_BASE_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": sandbox.token}
    result = CliRunner().invoke(app, ["setup", "--crm", "hubspot"], env=env)
    assert result.exit_code == 0, result.output
    assert "models: mappings/models/b2b-saas.yaml" in result.output
    assert "property b2b_saas_score" in result.output


def test_cli_setup_and_check_use_the_crm_entry_of_connector_yaml(sandbox: HubSpotSandbox, tmp_path: pathlib.Path) -> None:
    add_example_forms(sandbox)
    config = tmp_path / "connector.yaml"
    config.write_text(
        f"""crms:
  - name: emea
    adapter: hubspot
    mapping: {EXAMPLE_MAPPING}
    models: [{MODEL}]
    credentials: {{access_token: EMEA_HS_TOKEN}}
    base_url_env: EMEA_HS_URL
database_url: sqlite:///{tmp_path / "state.db"}
"""
    )
    env = {"EMEA_HS_TOKEN": sandbox.token, "EMEA_HS_URL": sandbox.base_url, "HUBSPOT_ACCESS_TOKEN": "", "HUBSPOT_BASE_URL": ""}
    runner = CliRunner()
    setup = runner.invoke(app, ["setup", "--crm", "emea", "--config", str(config)], env=env)
    assert setup.exit_code == 0, setup.output
    assert f"models {MODEL}" in setup.output and "created/updated: property b2b_saas_score" in setup.output
    check = runner.invoke(app, ["check", "--crm", "emea"], env={**env, "CONNECTOR_CONFIG": str(config)})
    assert check.exit_code == 0, check.output
    unknown = runner.invoke(app, ["setup", "--crm", "apac", "--config", str(config)], env=env)
    assert unknown.exit_code == 2
    assert "--crm apac: no CRM of that name" in unknown.output and "configured: emea" in unknown.output
    assert sandbox.token not in setup.output + check.output + unknown.output
