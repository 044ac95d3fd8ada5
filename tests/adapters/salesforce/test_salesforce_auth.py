"""Logins (JWT bearer, client credentials, refresh token, password), session renewal for REST and Bulk, no secret in errors."""

from __future__ import annotations

import datetime as dt
import logging
import pathlib

import pytest

from connector.adapters.base import CRMError, FieldUpdate
from connector.adapters.specs import specs_from_models
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.loader import load_models
from tests.adapters.salesforce.conftest import MAPPING, MODEL, make_adapter

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

FLOWS = {
    "jwt": (),
    "client_credentials": ("SALESFORCE_JWT_KEY_FILE",),
    "refresh_token": ("SALESFORCE_JWT_KEY_FILE", "SALESFORCE_CLIENT_SECRET"),
    "password": ("SALESFORCE_JWT_KEY_FILE", "SALESFORCE_CLIENT_SECRET", "SALESFORCE_REFRESH_TOKEN", "SALESFORCE_CLIENT_ID"),
}


@pytest.mark.parametrize("flow", list(FLOWS))
def test_each_flow_logs_in_as_the_integration_user(sandbox: SalesforceSandbox, flow: str) -> None:
    adapter = make_adapter(sandbox, drop=FLOWS[flow])
    try:
        assert adapter.client.settings.flow == flow
        assert adapter.client.user_id() == sandbox.integration_user_id
        assert list(adapter.pull_contacts(None, LATER))[-1].records == []
    finally:
        adapter.close()


def test_missing_credentials_name_the_variables_never_a_value(sandbox: SalesforceSandbox) -> None:
    with pytest.raises(CRMError) as info:
        make_adapter(sandbox, drop=(*FLOWS["password"], "SALESFORCE_PASSWORD"))
    message = str(info.value)
    assert "SALESFORCE_PASSWORD" in message and "SALESFORCE_CLIENT_ID" in message and "SALESFORCE_JWT_KEY_FILE" in message
    assert sandbox.env()["SALESFORCE_USERNAME"] not in message


def test_a_refused_login_says_why_without_the_secret(sandbox: SalesforceSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wrong-Password-9f3e1"
    adapter = make_adapter(sandbox, drop=FLOWS["password"], SALESFORCE_PASSWORD=wrong)
    with pytest.raises(CRMError) as info:
        adapter.check([])
    assert "password" in str(info.value) and "refused" in str(info.value)
    for secret in (wrong, sandbox.env()["SALESFORCE_SECURITY_TOKEN"]):
        assert secret not in str(info.value) and secret not in caplog.text and secret not in repr(adapter) and secret not in repr(adapter.client.settings)
    adapter.close()


def test_an_expired_session_is_renewed_for_queries_and_for_bulk_jobs(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    setup = make_adapter(sandbox)
    setup.setup(specs_from_models(load_models([MODEL])))
    setup.close()
    ids = sandbox.app.add_leads(30)
    bulk = tmp_path / "bulk.yaml"
    bulk.write_text(MAPPING.read_text().replace("bulk_threshold: 2000", "bulk_threshold: 10"))
    adapter = make_adapter(sandbox, mapping=bulk)
    try:
        pages = list(adapter.pull_contacts(None, LATER))
        assert sum(len(p.records) for p in pages) == 30
        sandbox.expire_sessions()
        result = adapter.push([FieldUpdate(i, {"b2b_saas_score": 7.0}) for i in ids])  # one Bulk job: create, upload, close, polls, results
        assert sorted(result.written) == sorted(ids) and not result.failed
        sandbox.expire_sessions()
        assert len([c for p in adapter.pull_contacts(None, LATER) for c in p.records]) == 30
        assert adapter.client.auth.logins == 3
        assert adapter.stats.by_endpoint.get("POST jobs/ingest") == 1
        assert all(sandbox.get("Lead", i)["b2b_saas_score__c"] == 7.0 for i in ids)
    finally:
        adapter.close()

