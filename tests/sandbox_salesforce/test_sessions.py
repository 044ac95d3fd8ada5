"""Sessions: 401 INVALID_SESSION_ID when a token is unknown, expired on demand or idle too long; simple-salesforce renews its own logins."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client, trusting_session
from tests.sandbox_salesforce._util import api


def test_unknown_token_answers_invalid_session_id(sandbox: SalesforceSandbox) -> None:
    answer = trusting_session(sandbox.ca_path).get(api(sandbox, "limits"), headers={"Authorization": "Bearer 00Dbogus!token"})
    assert answer.status_code == 401
    assert answer.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert "Sforce-Limit-Info" not in answer.headers
    missing = trusting_session(sandbox.ca_path).get(api(sandbox, "limits"))
    assert missing.status_code == 401


def test_expired_on_demand_then_refused(sandbox: SalesforceSandbox) -> None:
    sf = salesforce_client(sandbox)
    sf.limits()
    expired = requests.post(f"{sandbox.instance_url}/_sandbox/sessions/expire", json={}, verify=sandbox.ca_path)
    assert expired.json()["expired"] >= 1
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()


def test_simple_salesforce_renews_a_password_login_after_expiry(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    sf = Salesforce(username=env["SALESFORCE_USERNAME"], password=env["SALESFORCE_PASSWORD"], security_token=env["SALESFORCE_SECURITY_TOKEN"],
                    domain=env["SALESFORCE_DOMAIN"], session=trusting_session(sandbox.ca_path))
    first = sf.session_id
    sandbox.expire_sessions()
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 8  # 401, login again, retry
    assert sf.session_id != first
    assert [r.status for r in sandbox.requests if r.path.rstrip("/").endswith("/query")] == [401, 200]


def test_idle_session_times_out_on_the_org_clock() -> None:
    with SalesforceSandbox(clock=SandboxClock(frozen_ms=1_736_942_400_000), session_ttl_s=3600) as sandbox:
        sf = salesforce_client(sandbox)
        sandbox.clock.advance(seconds=50 * 60)  # 50 idle minutes: still alive
        assert sf.limits()["DailyApiRequests"]["Max"] == 100_000
        sandbox.clock.advance(hours=1.01)
        with pytest.raises(SalesforceExpiredSession):
            sf.limits()
