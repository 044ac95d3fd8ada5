"""End to end against the Salesforce sandbox, over HTTPS, through the real adapter and simple-salesforce.

Pull, score, write back; read every written field again through simple-salesforce and compare it
with the scores in the state database; a second run with nothing changed writes nothing; the Bulk
API 2.0 path and the Collections path leave the org in the same state; a converted lead is scored
once, as its contact.
"""

from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
import requests
import sqlalchemy as sa

from connector.adapters.salesforce.mapping import parse_sf_time
from connector.sandbox.testing import salesforce_client
from connector.sync.config import load_config
from tests.sync.salesforce_support import DATA, crm_state, diff_summary, make_sandbox, org_clock, other_quarantine, setup_crm, sync_in_process, write_config


def _writes(sandbox: object) -> list[object]:
    return [r for r in sandbox.requests if r.method in ("PATCH", "PUT") and ("composite/sobjects" in r.path or "/batches" in r.path)]  # type: ignore[attr-defined]


def _written(url: str) -> dict[str, dict[str, t.Any]]:
    """What the state database says the org holds: contact -> {output: value}."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT contact_id, value FROM written_values WHERE field = '*'")).all()
    finally:
        engine.dispose()
    return {r[0]: (json.loads(r[1]) if isinstance(r[1], str) else r[1]) for r in rows}


def _same(ours: t.Any, theirs: t.Any) -> bool:
    """A written value and the field read back: numbers to the field's 2 decimals, date-times as instants, '' as null."""
    if isinstance(ours, (int, float)) and not isinstance(ours, bool):
        return theirs is not None and abs(float(theirs) - float(ours)) < 0.006
    if isinstance(ours, str) and len(ours) >= 19 and ours[10:11] == "T":
        return parse_sf_time(ours) == parse_sf_time(theirs)
    return (ours or None) == (theirs or None)


def test_sync_writes_every_score_and_a_second_run_writes_nothing(tmp_path: pathlib.Path, database_url: str) -> None:
    with make_sandbox() as sb:
        config = write_config(tmp_path, database_url=database_url)
        setup_crm(config, sb)
        first = sync_in_process(config, sb)
        assert first.status == "ok", first.error
        assert first.pulled_contacts > 200 and first.written == first.scored > 0 and first.rejected == 0
        # The model's hot_engagement webhook is not sent without a signing secret: those firings are
        # the only quarantine (no person, no write).
        assert other_quarantine(config) == []

        written = _written(load_config(config).effective_database_url())
        assert len(written) == first.written
        outputs = sorted({name for values in written.values() for name in values})
        sf = salesforce_client(sb)
        read = {}
        for sobject in ("Lead", "Contact"):
            fields = ", ".join(f"{name}__c" for name in outputs)
            for record in sf.query_all(f"SELECT Id, {fields} FROM {sobject}")["records"]:
                read[record["Id"]] = record
        compared = 0
        for cid, values in written.items():
            for name, value in values.items():
                assert _same(value, read[cid][f"{name}__c"]), f"{cid}.{name}__c: wrote {value!r}, read {read[cid][f'{name}__c']!r}"
                compared += 1
        assert compared >= len(written) * 8
        scores = {cid: values.get("b2b_saas_stage") for cid, values in written.items()}
        converted = [r["Id"] for r in sf.query_all("SELECT Id FROM Lead WHERE IsConverted = true")["records"]]
        assert converted and not set(converted) & set(scores), "a converted lead was scored besides its contact"
        members = sf.query_all("SELECT LeadId, ContactId, Campaign.Name FROM CampaignMember WHERE Campaign.Name LIKE 'b2b-saas: %'")["records"]
        by_person = {m["ContactId"] or m["LeadId"]: m["Campaign"]["Name"] for m in members if not m["Campaign"]["Name"].endswith(")")}
        assert all(by_person.get(cid) == f"b2b-saas: {stage}" for cid, stage in scores.items())

        hot = [r for r in sf.query_all("SELECT Id, hot_lead__c FROM Lead")["records"] if r["hot_lead__c"]]
        assert hot and all(r["hot_lead__c"] == "true" for r in hot), "the set_property trigger action sets its field"

        sb.requests_clear()
        second = sync_in_process(config, sb)
        assert second.status == "ok", second.error
        assert second.written == 0 and _writes(sb) == []


def test_bulk_and_collections_give_the_same_org(tmp_path: pathlib.Path) -> None:
    bulk_mapping = tmp_path / "bulk.yaml"
    bulk_mapping.write_text((DATA / "salesforce.yaml").read_text().replace("bulk_threshold: 2000", "bulk_threshold: 20"))
    states = {}
    for name, mapping in (("collections", None), ("bulk", bulk_mapping)):
        folder = tmp_path / name
        folder.mkdir()
        with make_sandbox() as sb:
            config = write_config(folder, mapping=mapping)
            setup_crm(config, sb)
            summary = sync_in_process(config, sb)
            assert summary.status == "ok", summary.error
            paths = {r.path.split("/v59.0/")[-1].split("/")[0] for r in _writes(sb)}
            assert ("jobs" in paths) == (name == "bulk"), paths
            jobs = [r for r in sb.requests if r.method == "POST" and r.path.endswith("/jobs/ingest")]
            assert len(jobs) >= (3 if name == "bulk" else 0), "Lead values, Contact values and campaign members each in a Bulk job"
            states[name] = crm_state(sb)
    assert states["bulk"] == states["collections"], diff_summary(states["collections"], states["bulk"])


def test_a_converted_lead_is_scored_once_as_its_contact_with_its_history(tmp_path: pathlib.Path, database_url: str) -> None:
    with make_sandbox() as sb:
        config = write_config(tmp_path, database_url=database_url)
        setup_crm(config, sb)
        assert sync_in_process(config, sb, clock=org_clock(sb)).status == "ok"
        url = load_config(config).effective_database_url()
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            lead, before = conn.execute(sa.text(
                "SELECT contact_id, COUNT(*) FROM activities WHERE contact_id LIKE '00Q%' GROUP BY contact_id ORDER BY COUNT(*) DESC, contact_id LIMIT 1"
            )).one()
        sb.clock.advance(seconds=600)
        answer = requests.post(f"{sb.instance_url}/_sandbox/convert", json={"leadId": lead}, verify=sb.ca_path, timeout=10)
        contact = answer.json()["contactId"]
        sb.clock.advance(seconds=5)

        second = sync_in_process(config, sb, clock=org_clock(sb))
        assert second.status == "ok", second.error
        assert second.retired == 1
        with engine.connect() as conn:
            q = lambda sql, **p: conn.execute(sa.text(sql), p).all()  # noqa: E731
            assert q("SELECT id FROM contacts WHERE id = :i", i=lead) == []
            assert q("SELECT contact_id FROM scores WHERE contact_id = :i", i=lead) == []
            moved = q("SELECT COUNT(*) FROM activities WHERE contact_id = :i", i=contact)[0][0]
            assert q("SELECT COUNT(*) FROM activities WHERE contact_id = :i", i=lead)[0][0] == 0
            assert q("SELECT contact_id FROM scores WHERE contact_id = :i", i=contact) != []
        engine.dispose()
        assert moved == before, "the lead's activity did not follow it to its contact (or came twice)"


def test_connector_sync_and_explain_from_the_cli_with_salesforce_variables(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    with make_sandbox(leads=40, contacts=10) as sb:
        config = write_config(tmp_path)
        setup_crm(config, sb)
        for name, value in sb.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        monkeypatch.setenv("COLUMNS", "250")
        result = CliRunner().invoke(app, ["sync", "--crm", "sf", "--config", str(config)])
        assert result.exit_code == 0, result.output
        assert "Sync summary" in result.output and "ok" in result.output
        lead = salesforce_client(sb).query("SELECT Id FROM Lead WHERE IsConverted = false AND IsDeleted = false ORDER BY Id LIMIT 1")["records"][0]["Id"]
        explained = CliRunner().invoke(app, ["explain", lead, "--crm", "sf", "--config", str(config)])
        assert explained.exit_code == 0 and "b2b-saas" in explained.output, explained.output
        assert sb.env()["SALESFORCE_CLIENT_SECRET"] not in result.output + explained.output
