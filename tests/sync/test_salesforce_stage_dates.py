"""A first sync of a Salesforce org with existing MQLs keeps their engagement where the model says it should.

The org keeps when a lead became an MQL in a custom date field (``MQL_Date__c``, as orgs do with a
flow on ``Status``); the mapping's ``people.lead.stage_dates`` names it. The model resets
engagement on entering mql, so only e-mails logged after that date count: an existing MQL keeps
them, a lead that becomes an MQL at the first scoring starts from zero, and ``mql_reached`` fires
only for the one that became an MQL now. Over HTTPS through simple-salesforce.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import textwrap

import sqlalchemy as sa

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sync.config import crm_entry
from connector.sync.config import write_config as write_connector_yaml
from connector.sync.db import make_engine
from connector.sync.tables import firings, stage_history
from tests.sync.salesforce_support import CRM, SANDBOX_NOW_MS, SYNC_NOW, setup_crm, sync_in_process

MODEL = """
model: test-model
dimensions:
  fit: {floor: 0, ceiling: 100}
  engagement: {floor: 0, ceiling: 100}
rules:
  - {id: title, dimension: fit, points: 30, when: {property: job_title, op: contains, value: marketing}}
  - {id: emails, dimension: engagement, points: 10, activity: {types: [email_sent]}}
stages:
  order:
    - {name: subscriber}
    - {name: mql, thresholds: {fit: 30}, reset_on_enter: [engagement]}
    - {name: sql, activities: [demo_request]}
triggers:
  - id: mql_reached
    watch: {stage: mql}
    actions: [{type: add_to_list, list: new mqls}]
"""

MAPPING = """
crm: salesforce
people:
  lead:
    fields: {job_title: Title}
    stage_dates: {subscriber: CreatedDate, mql: MQL_Date__c}
  contact:
    fields: {job_title: Title}
push: {bulk_poll_seconds: 0.05}
"""

NOW = dt.datetime.fromtimestamp(SANDBOX_NOW_MS / 1000, tz=dt.UTC)
DAY = dt.timedelta(days=1)


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def test_first_sync_keeps_the_engagement_existing_mqls_earned_since_they_became_mqls(tmp_path: pathlib.Path, database_url: str) -> None:
    (tmp_path / "model.yaml").write_text(textwrap.dedent(MODEL))
    (tmp_path / "salesforce.yaml").write_text(textwrap.dedent(MAPPING))
    entry = crm_entry(CRM, "salesforce", tmp_path / "salesforce.yaml", [tmp_path / "model.yaml"], rate_limit={"requests": 100000, "per_seconds": 1})
    config = write_connector_yaml(tmp_path / "connector.yaml", [entry], database_url=database_url, lease={"ttl_seconds": 600, "wait_seconds": 0}, overlap_minutes=0)
    became_mql = dt.date(2026, 5, 2)  # 30 days before the org's now
    with SalesforceSandbox(seed="empty", bulk_delay_s=0.02, clock=SandboxClock(frozen_ms=SANDBOX_NOW_MS)) as sb:
        sb.app.custom_fields.create("Lead.MQL_Date__c", {"type": "Date", "label": "MQL Date"})
        sb.app.grant_field("Lead.MQL_Date__c", edit=False)
        old, new = sb.insert("Lead", [
            {"LastName": "Old", "Company": "A", "Title": "Marketing lead", "MQL_Date__c": became_mql.isoformat(), "CreatedDate": _iso(NOW - 60 * DAY)},
            {"LastName": "New", "Company": "B", "Title": "Marketing lead", "CreatedDate": _iso(NOW - 60 * DAY)},
        ])
        for days in (40, 10, 5):  # one e-mail before the MQL date, two after
            sb.insert("Task", [{"WhoId": who, "Subject": "Email", "TaskSubtype": "Email", "Status": "Completed", "CompletedDateTime": _iso(NOW - days * DAY)} for who in (old, new)])
        assert not [p for p in setup_crm(config, sb) if "error" in p.lower()]
        summary = sync_in_process(config, sb)
        assert summary.status == "ok" and summary.quarantined == 0, summary.error
        written = {rid: sb.get("Lead", rid) or {} for rid in (old, new)}
        campaigns = {r["Id"]: r["Name"] for r in sb.org.tables["campaign"].values()}
        members = {m.get("LeadId") for m in sb.org.tables["campaignmember"].values() if campaigns.get(m["CampaignId"]) == "new mqls" and not m.get("IsDeleted")}

    # The model says: engagement counts e-mails after entering mql. "old" entered on its CRM date
    # (two e-mails since: 20 points); "new" enters at this first scoring (none since: 0).
    assert written[old]["test_model_engagement__c"] == 20 and written[new]["test_model_engagement__c"] == 0
    assert written[old]["test_model_stage__c"] == written[new]["test_model_stage__c"] == "mql"
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            history = conn.execute(sa.select(stage_history.c.contact_id, stage_history.c.from_stage, stage_history.c.to_stage, stage_history.c.at, stage_history.c.reason)
                                   .where(stage_history.c.crm == CRM).order_by(stage_history.c.id)).all()
            fired = {cid for (cid,) in conn.execute(sa.select(firings.c.contact_id).where(firings.c.crm == CRM, firings.c.trigger == "mql_reached"))}
    finally:
        engine.dispose()
    entered = dt.datetime.combine(became_mql, dt.time(), tzinfo=dt.UTC)
    assert [(h.from_stage, h.to_stage, h.at.replace(tzinfo=dt.UTC)) for h in history if h.contact_id == old] == [(None, "subscriber", NOW - 60 * DAY), ("subscriber", "mql", entered)]
    assert all(h.reason.startswith("CRM stage date: entered") for h in history if h.contact_id == old)
    assert [(h.from_stage, h.to_stage, h.at.replace(tzinfo=dt.UTC)) for h in history if h.contact_id == new] == [(None, "subscriber", NOW - 60 * DAY), ("subscriber", "mql", SYNC_NOW)]
    assert fired == {new} and members == {new}, "the existing MQL did not become one now"
