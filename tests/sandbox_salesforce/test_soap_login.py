"""The SOAP partner login() simple-salesforce uses for username + password + security token."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import trusting_session


def test_username_password_token_login(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    sf = Salesforce(username=env["SALESFORCE_USERNAME"], password=env["SALESFORCE_PASSWORD"], security_token=env["SALESFORCE_SECURITY_TOKEN"],
                    domain=env["SALESFORCE_DOMAIN"], session=trusting_session(sandbox.ca_path))
    assert sf.auth_type == "password"
    assert sf.sf_instance == sandbox.instance_url.removeprefix("https://")
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] == 8


def test_wrong_password_is_a_login_fault(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        Salesforce(username=env["SALESFORCE_USERNAME"], password="wrong", security_token=env["SALESFORCE_SECURITY_TOKEN"],
                   domain=env["SALESFORCE_DOMAIN"], session=trusting_session(sandbox.ca_path))
    assert failed.value.code == "INVALID_LOGIN"
    assert failed.value.auth_message == "Invalid username, password, security token; or user locked out."


def test_garbage_envelope_is_a_fault_not_a_crash(sandbox: SalesforceSandbox) -> None:
    answer = trusting_session(sandbox.ca_path).post(f"{sandbox.instance_url}/services/Soap/u/59.0", data=b"<not-xml", headers={"Content-Type": "text/xml"})
    assert answer.status_code == 500
    assert "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>" in answer.text
