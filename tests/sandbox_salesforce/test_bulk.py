"""Bulk API 2.0 ingest: simple-salesforce's bulk2 end to end, the job state machine, result CSVs and job failures."""

from __future__ import annotations

import csv
import io
import time
import typing as t

import requests

from connector.sandbox.salesforce import SalesforceSandbox
from tests.sandbox_salesforce._util import add_leads, api

SCORE = {"FullName": "Lead.Score__c", "Metadata": {"type": "Number", "label": "Score", "precision": 18, "scale": 0, "externalId": False}}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def wait_for(http: requests.Session, sandbox: SalesforceSandbox, job: str, states: tuple[str, ...] = ("JobComplete", "Failed", "Aborted")) -> list[str]:
    seen: list[str] = []
    for _ in range(200):
        state = http.get(api(sandbox, f"jobs/ingest/{job}")).json()["state"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in states:
            return seen
        time.sleep(0.01)
    raise AssertionError(f"job {job} stuck in {seen}")


def test_bulk2_update_through_simple_salesforce(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, *({} for _ in range(300)))
    results = sf.bulk2.Lead.update(records=[{"Id": i, "Title": f"T{n}"} for n, i in enumerate(ids)] + [{"Id": "00Q5g0000000zzzEAA", "Title": "x"}], wait=0.05)
    assert len(results) == 1
    result = results[0]
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"], result["numberRecordsTotal"]) == (301, 1, 301)
    assert sf.query("SELECT COUNT() FROM Lead WHERE Title LIKE 'T%'")["totalSize"] == 300
    successes = rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))
    assert len(successes) == 300 and set(successes[0]) == {"sf__Id", "sf__Created", "Id", "Title"} and successes[0]["sf__Created"] == "false"
    failures = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    assert failures == [{"sf__Id": "00Q5g0000000zzzEAA", "sf__Error": "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id: --", "Id": "00Q5g0000000zzzEAA", "Title": "x"}]


def test_bulk2_insert_and_upsert_on_an_external_id(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    created = sf.bulk2.Lead.insert(records=[{"LastName": f"L{n}", "Company": "Acme"} for n in range(5)] + [{"LastName": "", "Company": "Acme"}], wait=0.05)
    assert (created[0]["numberRecordsProcessed"], created[0]["numberRecordsFailed"]) == (6, 1)
    failure = rows(sf.bulk2.Lead.get_failed_records(created[0]["job_id"]))[0]
    assert failure["sf__Id"] == "" and failure["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --"
    sandbox.app.custom_fields.create("Lead.Ext__c", {"type": "Text", "label": "Ext", "length": 20, "externalId": True})
    sandbox.app.grant_field("Lead.Ext__c")
    first = sf.bulk2.Lead.upsert(records=[{"Ext__c": "k1", "LastName": "One", "Company": "A"}], external_id_field="Ext__c", wait=0.05)
    second = sf.bulk2.Lead.upsert(records=[{"Ext__c": "k1", "LastName": "Uno", "Company": "A"}, {"Ext__c": "k2", "LastName": "Two", "Company": "B"}],
                                  external_id_field="Ext__c", wait=0.05)
    assert first[0]["numberRecordsFailed"] == second[0]["numberRecordsFailed"] == 0
    created_flags = sorted(r["sf__Created"] for r in rows(sf.bulk2.Lead.get_successful_records(second[0]["job_id"])))
    assert created_flags == ["false", "true"]
    assert sorted(r["LastName"] for r in sf.query("SELECT LastName FROM Lead WHERE Ext__c != null")["records"]) == ["Two", "Uno"]


def test_state_machine_by_polling(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, {}, {})
    job = http.post(api(sandbox, "jobs/ingest"), json={"object": "Lead", "operation": "update", "contentType": "CSV", "lineEnding": "LF", "columnDelimiter": "COMMA"}).json()
    assert job["state"] == "Open" and job["id"].startswith("750") and job["contentUrl"] == f"services/data/v59.0/jobs/ingest/{job['id']}/batches"
    assert job["apiVersion"] == 59.0 and job["object"] == "Lead" and job["operation"] == "update"
    upload = http.put(api(sandbox, f"jobs/ingest/{job['id']}/batches"), data=f"Id,Title\n{ids[0]},Boss\n{ids[1]},\"Quoted, title\"\n", headers={"Content-Type": "text/csv"})
    assert upload.status_code == 201 and upload.content == b""
    closed = http.patch(api(sandbox, f"jobs/ingest/{job['id']}"), json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    assert wait_for(http, sandbox, job["id"]) == ["UploadComplete", "InProgress", "JobComplete"]
    info = http.get(api(sandbox, f"jobs/ingest/{job['id']}")).json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"], info["jobType"]) == (2, 0, "V2Ingest")
    assert sandbox.get("Lead", ids[1])["Title"] == "Quoted, title"  # type: ignore[index]
    assert http.get(api(sandbox, "jobs/ingest")).json()["records"][0]["id"] == job["id"]
    assert http.delete(api(sandbox, f"jobs/ingest/{job['id']}")).status_code == 204


def test_unknown_column_fails_the_job(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, {})
    sandbox.app.custom_fields.create("Lead.Hidden__c", {"type": "Text", "label": "Hidden", "length": 10})  # exists, but FLS hides it
    for column in ("Nope__c", "Hidden__c"):
        job = http.post(api(sandbox, "jobs/ingest"), json={"object": "Lead", "operation": "update"}).json()
        http.put(api(sandbox, f"jobs/ingest/{job['id']}/batches"), data=f"Id,{column}\n{ids[0]},x\n", headers={"Content-Type": "text/csv"})
        http.patch(api(sandbox, f"jobs/ingest/{job['id']}"), json={"state": "UploadComplete"})
        assert wait_for(http, sandbox, job["id"])[-1] == "Failed"
        info = http.get(api(sandbox, f"jobs/ingest/{job['id']}")).json()
        assert info["errorMessage"] == f"InvalidBatch : Field name not found : {column}"
        unprocessed = http.get(api(sandbox, f"jobs/ingest/{job['id']}/unprocessedrecords")).text
        assert unprocessed == f"Id,{column}\n{ids[0]},x\n"


def test_line_ending_mismatch_fails_the_job(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, {})
    job = http.post(api(sandbox, "jobs/ingest"), json={"object": "Lead", "operation": "update", "lineEnding": "LF"}).json()
    http.put(api(sandbox, f"jobs/ingest/{job['id']}/batches"), data=f"Id,Title\r\n{ids[0]},x\r\n", headers={"Content-Type": "text/csv"})
    http.patch(api(sandbox, f"jobs/ingest/{job['id']}"), json={"state": "UploadComplete"})
    wait_for(http, sandbox, job["id"])
    assert "LineEnding is invalid on user data" in http.get(api(sandbox, f"jobs/ingest/{job['id']}")).json()["errorMessage"]


def test_abort_upload_twice_and_bad_states(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    ids = add_leads(sandbox, {})
    job = http.post(api(sandbox, "jobs/ingest"), json={"object": "Lead", "operation": "update"}).json()
    url = api(sandbox, f"jobs/ingest/{job['id']}")
    assert http.put(url + "/batches", data=f"Id,Title\n{ids[0]},x\n", headers={"Content-Type": "text/csv"}).status_code == 201
    again = http.put(url + "/batches", data="Id\n", headers={"Content-Type": "text/csv"})
    assert again.status_code == 400 and "Found multiple contents for job" in again.json()[0]["message"]
    assert http.get(url + "/successfulResults").json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert http.delete(url).json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert http.patch(url, json={"state": "Aborted"}).json()["state"] == "Aborted"
    assert http.get(url + "/unprocessedrecords").text == f"Id,Title\n{ids[0]},x\n"
    assert http.patch(url, json={"state": "UploadComplete"}).json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert sandbox.get("Lead", ids[0])["Title"] is None  # type: ignore[index]


def test_create_job_errors(http: requests.Session, sandbox: SalesforceSandbox) -> None:
    for body, code in (({"object": "Widget", "operation": "update"}, "INVALIDENTITY"), ({"object": "Lead", "operation": "merge"}, "INVALIDJOB"),
                       ({"object": "Lead", "operation": "upsert", "externalIdFieldName": "Email"}, "INVALIDJOB"),
                       ({"object": "Lead", "operation": "update", "contentType": "JSON"}, "INVALIDJOB")):
        answer = http.post(api(sandbox, "jobs/ingest"), json=body)
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == code
    other = http.get(api(sandbox, "jobs/ingest/7505g0000000zzzAAA"))
    assert other.status_code == 404


def test_empty_cells_leave_values_and_na_clears(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    lead = add_leads(sandbox, {"Title": "CTO", "Phone": "+1 555"})[0]
    sf.bulk2.Lead.update(records=[{"Id": lead, "Title": "", "Phone": "#N/A"}], wait=0.05)
    row = sf.Lead.get(lead)
    assert (row["Title"], row["Phone"]) == ("CTO", None)
