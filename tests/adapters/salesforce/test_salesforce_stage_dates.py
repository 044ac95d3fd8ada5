"""Stage dates from Salesforce: ``people.<object>.stage_dates`` read into ``Contact.stage_dates``, checked against describe."""

from __future__ import annotations

import datetime as dt
import pathlib

from connector.sandbox.salesforce import SalesforceSandbox
from tests.adapters.salesforce.conftest import MAPPING, T0, make_adapter

NOW = dt.datetime.fromtimestamp(T0 / 1000 + 1, tz=dt.UTC)

STAGE_DATES = """
    stage_dates:
      mql: MQL_Date__c
      sql: SQL_Reached__c
"""


def _mapping(tmp_path: pathlib.Path, lead: str = STAGE_DATES, contact: str = "") -> pathlib.Path:
    """The test mapping with ``stage_dates`` under people.lead (and people.contact)."""
    lead_part, contact_part = MAPPING.read_text().split("\n  contact:\n", 1)
    assert "    stage_dates: {}\n" in lead_part and "    stage_dates: {}\n" in contact_part
    text = lead_part.replace("    stage_dates: {}\n", lead.strip("\n") + "\n") + "\n  contact:\n"
    text += contact_part.replace("    stage_dates: {}\n", contact.strip("\n") + "\n") if contact else contact_part
    path = tmp_path / "salesforce.yaml"
    path.write_text(text)
    return path


def _fields(sandbox: SalesforceSandbox) -> None:
    sandbox.app.custom_fields.create("Lead.MQL_Date__c", {"type": "Date", "label": "MQL Date"})
    sandbox.app.custom_fields.create("Lead.SQL_Reached__c", {"type": "DateTime", "label": "SQL Reached"})
    sandbox.app.grant_field("Lead.MQL_Date__c", edit=False)
    sandbox.app.grant_field("Lead.SQL_Reached__c", edit=False)


def test_the_pull_reads_date_and_datetime_fields_into_stage_dates(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    _fields(sandbox)
    both, mql_only, none = sandbox.insert("Lead", [
        {"LastName": "Both", "Company": "A", "MQL_Date__c": "2025-11-02", "SQL_Reached__c": "2025-12-01T09:30:00.000+0000"},
        {"LastName": "Mql", "Company": "B", "MQL_Date__c": "2025-10-20"},
        {"LastName": "None", "Company": "C"},
    ])
    adapter = make_adapter(sandbox, mapping=_mapping(tmp_path))
    try:
        people = {c.id: c for page in adapter.pull_contacts(None, NOW) for c in page.records}
        assert people[both].stage_dates == {"mql": dt.datetime(2025, 11, 2, tzinfo=dt.UTC), "sql": dt.datetime(2025, 12, 1, 9, 30, tzinfo=dt.UTC)}
        assert people[mql_only].stage_dates == {"mql": dt.datetime(2025, 10, 20, tzinfo=dt.UTC)}
        assert people[none].stage_dates == {}
        fetched = [c for p in adapter.read_contacts([both]) for c in p.records]
        assert fetched[0].stage_dates == people[both].stage_dates, "the real-time fetch reads them too"
        assert [p for p in adapter.check([]) if "stage_dates" in p.key] == []
    finally:
        adapter.close()


def test_an_unreadable_stage_date_quarantines_the_person_with_the_field_named(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    _fields(sandbox)
    good, bad = sandbox.insert("Lead", [{"LastName": "Good", "Company": "A", "MQL_Date__c": "2025-11-02"}, {"LastName": "Bad", "Company": "B"}])
    sandbox.org.tables["lead"][bad]["MQL_Date__c"] = "last tuesday"  # what a broken integration could leave behind
    adapter = make_adapter(sandbox, mapping=_mapping(tmp_path))
    try:
        pages = list(adapter.pull_contacts(None, NOW))
        assert [c.id for p in pages for c in p.records] == [good]
        rejects = [r for p in pages for r in p.rejects]
        assert [(r.record_id, r.reason) for r in rejects] == [(bad, "Lead.MQL_Date__c (stage date of mql): cannot read 'last tuesday' as a date-time")]
    finally:
        adapter.close()


def test_check_reports_missing_hidden_and_wrong_typed_stage_date_fields(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    sandbox.app.custom_fields.create("Lead.MQL_Date__c", {"type": "Date", "label": "MQL Date"})  # exists, but FLS hides it
    contact = """
    stage_dates:
      customer: Account.CreatedDate
      opportunity: Title
      lead: Acount.CreatedDate
"""
    path = _mapping(tmp_path, contact=contact)
    adapter = make_adapter(sandbox, mapping=path)
    try:
        problems = [(p.file, p.line, p.key, p.message) for p in adapter.check([])]
    finally:
        adapter.close()
    lines = path.read_text().splitlines()
    mine = {key: (where, line, message) for where, line, key, message in problems if "stage_dates" in key}
    assert set(mine) == {"people.lead.stage_dates.mql", "people.lead.stage_dates.sql", "people.contact.stage_dates.opportunity", "people.contact.stage_dates.lead"}
    assert "Lead has no field 'MQL_Date__c' visible to the integration user" in mine["people.lead.stage_dates.mql"][2]
    assert "Lead has no field 'SQL_Reached__c'" in mine["people.lead.stage_dates.sql"][2]
    assert mine["people.contact.stage_dates.opportunity"][2] == "Contact.Title is a Salesforce string field; the stage date of opportunity must be a date or date/time field"
    assert "no relationship 'Acount'" in mine["people.contact.stage_dates.lead"][2] and "Account" in mine["people.contact.stage_dates.lead"][2]
    assert all(where == str(path) for where, _, _ in mine.values())
    assert "opportunity: Title" in lines[mine["people.contact.stage_dates.opportunity"][1] - 1]
