"""A run's retired contacts (deleted, merged or converted in Salesforce) are stored with the run and shown by ``connector status``."""

from __future__ import annotations

import pathlib

import requests
import sqlalchemy as sa
from typer.testing import CliRunner

from connector.cli import app
from connector.sandbox.testing import salesforce_client
from connector.sync.db import make_engine
from connector.sync.tables import runs
from tests.sync.salesforce_support import make_sandbox, org_clock, setup_crm, sync_in_process, write_config


def test_retired_contacts_are_stored_with_the_run_and_shown_by_status(tmp_path: pathlib.Path, database_url: str) -> None:
    with make_sandbox(leads=40, contacts=10) as sb:
        config = write_config(tmp_path, database_url=database_url)
        setup_crm(config, sb)
        first = sync_in_process(config, sb, clock=org_clock(sb))
        assert first.status == "ok" and first.retired == 0, first.error
        sf = salesforce_client(sb)
        lead, other = (r["Id"] for r in sf.query("SELECT Id FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 2")["records"])
        sb.clock.advance(seconds=60)
        answer = requests.post(sb.instance_url + "/_sandbox/convert", json={"leadId": lead}, verify=sb.ca_path, timeout=10)
        assert answer.ok, answer.text
        sf.Lead.delete(other)
        second = sync_in_process(config, sb, clock=org_clock(sb))
        assert second.status == "ok" and second.retired == 2, second

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.select(runs.c.id, runs.c.retired).order_by(runs.c.id)).all())
    finally:
        engine.dispose()
    assert stored == {first.run_id: 0, second.run_id: 2}
    result = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"run {second.run_id}: 2 retired (deleted, merged or converted in the CRM)" in result.output, result.output
    assert [line for line in result.output.splitlines() if "retired" in line] == [f"run {second.run_id}: 2 retired (deleted, merged or converted in the CRM)"]
