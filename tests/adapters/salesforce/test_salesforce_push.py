"""Pushes: per-record refusals with Salesforce's code (Collections and Bulk alike), Sforce-Limit-Info, tasks whose answer was lost."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib

import pytest
import requests

from connector.adapters.base import FieldUpdate, RateLimitInfo, TaskRequest
from connector.adapters.salesforce.transport import limit_info
from connector.adapters.specs import specs_from_models
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.loader import load_models
from tests.adapters.salesforce.conftest import MAPPING, MODEL, T0, make_adapter


class RecordingGate:
    """Records what the adapter tells the gate."""

    def __init__(self) -> None:
        self.infos: list[tuple[int, RateLimitInfo]] = []

    def before_request(self, kind: str) -> None:
        return None

    def after_response(self, status: int, info: RateLimitInfo) -> None:
        self.infos.append((status, info))


def _setup(sandbox: SalesforceSandbox) -> list[str]:
    admin = make_adapter(sandbox)
    admin.setup(specs_from_models(load_models([MODEL])))
    admin.close()
    leads = sandbox.insert("Lead", [{"LastName": f"L{i}", "Company": "Acme"} for i in range(3)])
    requests.post(f"{sandbox.instance_url}/_sandbox/convert", json={"leadId": leads[1]}, verify=sandbox.ca_path, timeout=10)
    requests.delete(f"{sandbox.instance_url}/_sandbox/records/Lead/{leads[2]}", verify=sandbox.ca_path, timeout=10)
    return leads


@pytest.mark.parametrize("threshold", [2000, 1], ids=["collections", "bulk"])
def test_refused_records_keep_salesforce_code_and_the_rest_lands(sandbox: SalesforceSandbox, tmp_path: pathlib.Path, threshold: int) -> None:
    leads = _setup(sandbox)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text().replace("bulk_threshold: 2000", f"bulk_threshold: {threshold}"))
    adapter = make_adapter(sandbox, mapping=mapping)
    try:
        result = adapter.push([FieldUpdate(i, {"b2b_saas_score": 12.5, "b2b_saas_grade": "B"}) for i in leads])
        assert adapter.stats.by_endpoint.get("POST jobs/ingest", 0) == (1 if threshold == 1 else 0)
    finally:
        adapter.close()
    assert result.written == [leads[0]]
    assert result.failed[leads[1]][0].startswith("CANNOT_UPDATE_CONVERTED_LEAD") and result.failed[leads[1]][1] is False
    assert result.failed[leads[2]][0].startswith("ENTITY_IS_DELETED") and result.failed[leads[2]][1] is False
    assert sandbox.get("Lead", leads[0])["b2b_saas_score__c"] == 12.5


def test_sforce_limit_info_reaches_the_gate_with_the_reserve_kept() -> None:
    assert limit_info({"Sforce-Limit-Info": "api-usage=25/100000"}, 0.10) == RateLimitInfo(daily_limit=100000, daily_remaining=89975)
    assert limit_info({"Sforce-Limit-Info": "api-usage=99999/100000"}, 0.10).daily_remaining == 0
    assert limit_info({}, 0.1) == RateLimitInfo()


def test_every_answer_reports_usage(sandbox: SalesforceSandbox) -> None:
    gate = RecordingGate()
    adapter = make_adapter(sandbox, gate=gate)
    try:
        list(adapter.pull_contacts(None, dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)))
    finally:
        adapter.close()
    assert gate.infos and all(info.daily_limit == 100_000 and info.daily_remaining is not None for _, info in gate.infos)


def test_a_task_create_whose_answer_is_lost_is_looked_up_not_sent_twice(sandbox: SalesforceSandbox) -> None:
    leads = _setup(sandbox)
    adapter = make_adapter(sandbox)
    due = dt.datetime.fromtimestamp(T0 / 1000, tz=dt.UTC)
    tasks = [TaskRequest(key=f"key-{i}", contact_id=leads[0], subject=f"Call {i}", body="why", due_at=due, owner_id=sandbox.integration_user_id) for i in range(3)]
    try:
        adapter.client.fields("Task")  # logged in, key field known: only the create meets the fault
        sandbox.set_faults(rate=1.0, seed=1, kinds=("drop",), writes="apply")  # created, but the answer never arrives
        first = adapter.create_tasks(tasks)
        sandbox.set_faults(rate=0.0)
        assert not first.created and all(retry for _, retry in first.failed.values())
        second = adapter.create_tasks([dataclasses.replace(t, attempted=True) for t in tasks])
    finally:
        adapter.close()
    assert sorted(second.created) == ["key-0", "key-1", "key-2"] and not second.failed
    assert len([r for r in sandbox.org.tables["task"].values() if r.get("Connector_Action_Key__c")]) == 3


def test_a_bulk_push_through_faults_lands_on_a_later_attempt_and_quarantines_nothing(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    from connector.adapters.base import CRMError

    admin = make_adapter(sandbox)
    admin.setup(specs_from_models(load_models([MODEL])))
    admin.close()
    ids = sandbox.app.add_leads(60)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text().replace("bulk_threshold: 2000", "bulk_threshold: 10"))
    adapter = make_adapter(sandbox, mapping=mapping)
    adapter.client.fields("Lead")  # logged in and described before the faults
    sandbox.set_faults(rate=0.3, seed=3, kinds=("500", "drop"), writes="apply")
    outcomes = []
    try:
        for _ in range(12):
            try:
                result = adapter.push([FieldUpdate(i, {"b2b_saas_score": 33.0}) for i in ids])
            except CRMError as exc:
                outcomes.append(f"batch kept: {exc}")
                continue
            assert all(retry for _, retry in result.failed.values()), result.failed
            if len(result.written) == len(ids):
                break
        else:
            pytest.fail(f"never landed: {outcomes}")
    finally:
        sandbox.set_faults(rate=0.0)
        adapter.close()
    assert outcomes, "no fault met a step of the job: the test proves too little"
    assert all(sandbox.get("Lead", i)["b2b_saas_score__c"] == 33.0 for i in ids)
