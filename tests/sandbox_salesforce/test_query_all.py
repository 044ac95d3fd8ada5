"""queryAll returns deleted and merged records (IsDeleted, MasterRecordId); query does not."""

from __future__ import annotations

import typing as t

import requests

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads


def test_deleted_and_merged_only_in_query_all(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    keep, dupe, gone, other = add_leads(sandbox, {"Email": "a@x.example"}, {"Email": "a2@x.example"}, {}, {})
    sf.Lead.delete(gone)
    merged = requests.post(f"{sandbox.instance_url}/_sandbox/merge", json={"sobject": "Lead", "masterId": keep, "mergedIds": [dupe]}, verify=sandbox.ca_path)
    assert merged.json() == {"masterId": keep, "mergedIds": [dupe]}
    live = sf.query_all("SELECT Id FROM Lead")
    assert sorted(r["Id"] for r in live["records"]) == sorted([keep, other])
    everything = sf.query_all("SELECT Id, IsDeleted, MasterRecordId FROM Lead ORDER BY Id", include_deleted=True)
    rows = {r["Id"]: (r["IsDeleted"], r["MasterRecordId"]) for r in everything["records"]}
    assert rows == {keep: (False, None), dupe: (True, keep), gone: (True, None), other: (False, None)}
    assert sf.query("SELECT COUNT() FROM Lead WHERE IsDeleted = true")["totalSize"] == 0
    assert sf.query("SELECT COUNT() FROM Lead WHERE IsDeleted = true", include_deleted=True)["totalSize"] == 2


def test_merge_moves_activity_and_stamps_both(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    keep, dupe = add_leads(sandbox, {}, {})
    task = sandbox.insert("Task", [{"WhoId": dupe, "Subject": "Call", "TaskSubtype": "Call", "Status": "Completed"}])[0]
    before = sandbox.get("Lead", keep)
    assert before is not None
    sandbox.clock.advance(seconds=5)
    requests.post(f"{sandbox.instance_url}/_sandbox/merge", json={"sobject": "Lead", "masterId": keep, "mergedIds": [dupe]}, verify=sandbox.ca_path).raise_for_status()
    assert sf.query(f"SELECT WhoId FROM Task WHERE Id = '{task}'")["records"][0]["WhoId"] == keep
    after = sandbox.get("Lead", keep)
    assert after is not None and after["SystemModstamp"] > before["SystemModstamp"]


def test_get_deleted_and_updated_resources(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    import datetime as dt

    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    alive, dead = add_leads(sandbox, {}, {})
    sf.Lead.delete(dead)
    end = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert [d["id"] for d in sf.Lead.deleted(start, end)["deletedRecords"]] == [dead]
    assert sf.Lead.updated(start, end)["ids"] == [alive]
