"""The limits resource, Sforce-Limit-Info on every API answer, the daily allowance (403) and the long-request limit."""

from __future__ import annotations

import threading
import typing as t

import pytest
import requests
from simple_salesforce.exceptions import SalesforceRefusedRequest

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client, trusting_session
from tests.sandbox_salesforce._util import api


def test_limits_resource(sf: t.Any) -> None:
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 99_999}
    assert {"DailyBulkApiBatches", "DataStorageMB", "DailyBulkV2QueryJobs"} <= set(limits)


def test_every_api_answer_carries_api_usage(sf: t.Any, http: requests.Session, sandbox: SalesforceSandbox) -> None:
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 100_000
    bad = http.get(api(sandbox, "query"), params={"q": "SELECT Nope FROM Lead"})
    assert bad.status_code == 400 and bad.headers["Sforce-Limit-Info"] == "api-usage=2/100000"  # errors count and carry it too
    assert http.get(api(sandbox, "sobjects/Nope/describe")).headers["Sforce-Limit-Info"] == "api-usage=3/100000"


def test_daily_allowance_exhausted_answers_403_until_the_window_moves() -> None:
    with SalesforceSandbox(clock=SandboxClock(frozen_ms=1_736_942_400_000), daily_limit=5, session_ttl_s=10 * 86400) as sandbox:
        sf = salesforce_client(sandbox)
        for _ in range(5):
            sf.query("SELECT COUNT() FROM Lead")
        with pytest.raises(SalesforceRefusedRequest) as err:
            sf.query("SELECT COUNT() FROM Lead")
        assert err.value.status == 403
        assert err.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        sandbox.clock.advance(hours=24, seconds=1)
        assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_usage_set_through_the_admin_api(sf: t.Any, sandbox: SalesforceSandbox) -> None:
    answer = requests.post(f"{sandbox.instance_url}/_sandbox/limits", json={"dailyUsage": 1999, "dailyLimit": 2000}, verify=sandbox.ca_path).json()
    assert answer == {"dailyUsage": 1999, "dailyLimit": 2000}
    sf.query("SELECT COUNT() FROM Lead")
    assert sf.api_usage["api-usage"].used == 2000
    with pytest.raises(SalesforceRefusedRequest):
        sf.limits()


def test_concurrent_long_requests_are_limited() -> None:
    with SalesforceSandbox(long_request_limit=1, long_request_seconds=0.1) as sandbox:
        sandbox.set_faults(rate=1.0, kinds=("slow",), slow_seconds=1.0)
        session = trusting_session(sandbox.ca_path)
        session.headers["Authorization"] = f"Bearer {sandbox.new_session()}"
        slow = threading.Thread(target=session.get, args=(api(sandbox, "limits"),))
        slow.start()
        threading.Event().wait(0.4)
        refused = trusting_session(sandbox.ca_path).get(api(sandbox, "limits"), headers={"Authorization": session.headers["Authorization"]})
        slow.join()
        assert refused.status_code == 403
        assert refused.json() == [{"message": "ConcurrentPerOrgLongTxn Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
