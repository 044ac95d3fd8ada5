"""One model scores both CRMs: the same people in the HubSpot sandbox and the Salesforce sandbox get the same scores.

The same five people (job title, industry, company size, country, phone, e-mail) with the same
activity (a marketing e-mail opened, a contact-us form submitted, at the same instant) are put into
both sandboxes in each CRM's own shapes: HubSpot properties, web and e-mail events; Salesforce Leads
and campaign responses (an Email campaign ``Opened``, a Web Form campaign ``Submitted``). One
connector.yaml lists both CRMs with the shipped mappings and the same model; after one sync of
each, every person has the same score, grade and stage in both.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import sqlalchemy as sa

from connector.sandbox.clock import SandboxClock
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sync.config import crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync

REPO = pathlib.Path(__file__).resolve().parents[2]
MODEL = REPO / "mappings" / "models" / "b2b-saas.yaml"
T0 = 1_780_000_000_000  # both orgs' frozen "now"
NOW = dt.datetime.fromtimestamp(T0 / 1000 + 300, tz=dt.UTC)

PEOPLE = [
    # email, job title, HubSpot industry, Salesforce industry, employees (HubSpot range, Salesforce number), country, phone, opened, submitted
    ("ann@acme.io", "VP Marketing", "COMPUTER_SOFTWARE", "Software", ("100-500", 100), "Germany", "+49 30 1", True, True),
    ("bob@bigbank.com", "Engineer", "FINANCIAL_SERVICES", "Financial Services", ("1000+", 1000), "United States", None, True, False),
    ("cy@gmail.com", "Student", "EDUCATION_MANAGEMENT", "Education", ("1-5", 1), "France", None, False, False),
    ("di@shop.fr", "Head of Growth", "RETAIL", "Retail", ("50-100", 50), "Canada", "+1 555", False, True),
    ("ed@health.org", "Director of Demand Gen", "HOSPITAL_HEALTH_CARE", "Healthcare", ("25-50", 25), "United States", "+1 444", True, True),
]


def _hubspot(sb: HubSpotSandbox) -> None:
    ids = sb.store.add_contacts([
        {k: v for k, v in {"email": e, "jobtitle": title, "industry": hs_ind, "numemployees": size[0], "country": country, "phone": phone}.items() if v is not None}
        for e, title, hs_ind, _sf, size, country, phone, *_ in PEOPLE
    ])
    sb.store.add_email_events([{"recipient": p[0], "type": "OPEN", "created": T0 - 60_000} for p in PEOPLE if p[7]])
    sb.store.add_events([{"objectId": cid, "eventType": "e_submitted_form", "occurredAt": T0 - 60_000, "properties": {"hs_form_id": "contact-us"}}
                         for cid, p in zip(ids, PEOPLE, strict=True) if p[8]])


def _salesforce(sb: SalesforceSandbox) -> None:
    leads = sb.insert("Lead", [
        {k: v for k, v in {"Email": e, "LastName": e.split("@")[0], "Company": e.split("@")[1], "Title": title, "Industry": sf_ind,
                           "NumberOfEmployees": size[1], "Country": country, "Phone": phone}.items() if v is not None}
        for e, title, _hs, sf_ind, size, country, phone, *_ in PEOPLE
    ])
    email, form = sb.insert("Campaign", [{"Name": "Newsletter", "Type": "Email"}, {"Name": "contact-us", "Type": "Web Form"}])
    sb.org.member_statuses[email] = {"Sent": False, "Opened": True}
    sb.org.member_statuses[form] = {"Sent": False, "Submitted": True}
    sb.insert("CampaignMember", [{"CampaignId": email, "LeadId": lid, "Status": "Opened"} for lid, p in zip(leads, PEOPLE, strict=True) if p[7]]
              + [{"CampaignId": form, "LeadId": lid, "Status": "Submitted"} for lid, p in zip(leads, PEOPLE, strict=True) if p[8]])
    sb.clock.advance(ms=60_000)  # the org's clock started a minute before "now": the responses happened then, as in HubSpot


def _scores(url: str, crm: str) -> dict[str, tuple[float, str | None, str | None]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT c.email, s.score, s.grade, s.stage FROM scores s JOIN contacts c ON c.crm = s.crm AND c.id = s.contact_id WHERE s.crm = :crm AND s.model = 'b2b-saas'"
            ), {"crm": crm}).all()
    finally:
        engine.dispose()
    return {r[0]: (round(float(r[1]), 6), r[2], r[3]) for r in rows}


def test_the_same_people_get_the_same_scores_in_hubspot_and_salesforce(tmp_path: pathlib.Path, database_url: str) -> None:
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0, clock=SandboxClock(frozen_ms=T0)) as hs, \
         SalesforceSandbox(seed="empty", bulk_delay_s=0.02, clock=SandboxClock(frozen_ms=T0 - 60_000)) as sf:
        _hubspot(hs)
        _salesforce(sf)
        env: dict[str, str] = {"BOTH_HS_TOKEN": hs.token, "BOTH_HS_URL": hs.base_url, **sf.env()}
        config_path = write_config(tmp_path / "connector.yaml", [
            crm_entry("hubspot", "hubspot", REPO / "mappings" / "hubspot.yaml", [MODEL], credentials={"access_token": "BOTH_HS_TOKEN"}, base_url_env="BOTH_HS_URL",
                      rate_limit={"requests": 10000, "per_seconds": 1, "searches_per_second": 10000}),
            crm_entry("salesforce", "salesforce", REPO / "tests" / "sync" / "data" / "salesforce.yaml", [MODEL]),
        ], database_url=database_url, overlap_minutes=0)
        config = load_config(config_path)
        results = {}
        for crm in config.crms:
            from connector.adapters.base import NoGate
            from connector.adapters.specs import specs_from_models
            from connector.scoring.loader import load_models

            adapter = connect(crm, NoGate(), environ=env)
            adapter.setup(specs_from_models(load_models(crm.models)))
            adapter.close()
            summary = run_sync(config, crm.name, clock=lambda: NOW, adapter_factory=lambda c, gate: connect(c, gate, environ=env))
            assert summary.status == "ok", summary.error
            results[crm.name] = _scores(config.effective_database_url(), crm.name)
    assert sorted(results["hubspot"]) == sorted(p[0] for p in PEOPLE)
    assert results["salesforce"] == results["hubspot"]
    assert len({score for score, _, _ in results["hubspot"].values()}) >= 4, "the people must differ for the comparison to mean something"


