"""A refused Salesforce login names the variables the configuration names (``crms[].credentials``), never a value."""

from __future__ import annotations

import pytest

from connector.adapters import adapter_spec
from connector.adapters.base import CRMError, NoGate
from connector.adapters.salesforce import SalesforceAdapter, from_config, salesforce_settings
from connector.adapters.salesforce.settings import default_hint
from connector.adapters.settings import read_settings
from connector.sandbox.salesforce import SalesforceSandbox
from tests.adapters.salesforce.conftest import MAPPING

#: role -> the variable an "eu" entry names (crms[].credentials).
NAMES = {"client_id": "EU_SF_ID", "client_secret": "EU_SF_SECRET", "username": "EU_SF_USER", "password": "EU_SF_PASS",
         "security_token": "EU_SF_TOKEN", "jwt_key_file": "EU_SF_KEY", "refresh_token": "EU_SF_REFRESH", "domain": "EU_SF_DOMAIN"}


def _adapter(sandbox: SalesforceSandbox, roles: dict[str, str]) -> SalesforceAdapter:
    """The adapter of crm 'eu', whose variables are renamed and hold ``roles``' values (the rest of the sandbox's login left out)."""
    env = sandbox.env()
    default = {role: f"SALESFORCE_{role.upper()}" for role in NAMES}
    environ = {k: v for k, v in env.items() if k not in default.values()}
    environ |= {NAMES[role]: value for role, value in roles.items()}
    settings = read_settings(adapter_spec("salesforce"), crm="eu", mapping=MAPPING, variables=NAMES, environ=environ)
    adapter = from_config(settings, NoGate())
    assert isinstance(adapter, SalesforceAdapter)
    return adapter


def _refused(adapter: SalesforceAdapter) -> str:
    try:
        with pytest.raises(CRMError) as info:
            adapter.check([])
    finally:
        adapter.close()
    return str(info.value)


def test_a_refused_password_login_names_the_configured_variables(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    wrong = "Wrong-Password-77a1"
    message = _refused(_adapter(sandbox, {"username": env["SALESFORCE_USERNAME"], "password": wrong, "security_token": env["SALESFORCE_SECURITY_TOKEN"],
                                          "domain": env["SALESFORCE_DOMAIN"]}))
    assert "refused" in message and message.endswith("Check EU_SF_USER, EU_SF_PASS, EU_SF_TOKEN and EU_SF_DOMAIN (crm 'eu')"), message
    assert "SALESFORCE_" not in message and wrong not in message and env["SALESFORCE_SECURITY_TOKEN"] not in message


def test_a_refused_refresh_token_names_the_configured_variables_of_that_flow(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    message = _refused(_adapter(sandbox, {"client_id": env["SALESFORCE_CLIENT_ID"], "refresh_token": "not-a-refresh-token", "domain": env["SALESFORCE_DOMAIN"]}))
    assert message.endswith("Check EU_SF_ID, EU_SF_REFRESH and EU_SF_DOMAIN (crm 'eu')"), message
    assert "SALESFORCE_" not in message and "not-a-refresh-token" not in message and "EU_SF_SECRET" not in message


def test_a_refused_client_secret_names_the_configured_variables(sandbox: SalesforceSandbox) -> None:
    env = sandbox.env()
    message = _refused(_adapter(sandbox, {"client_id": env["SALESFORCE_CLIENT_ID"], "client_secret": "wrong-secret-3", "domain": env["SALESFORCE_DOMAIN"]}))
    assert message.endswith("Check EU_SF_ID, EU_SF_SECRET and EU_SF_DOMAIN (crm 'eu')"), message
    assert "wrong-secret-3" not in message


def test_no_complete_login_names_the_configured_variables(sandbox: SalesforceSandbox) -> None:
    with pytest.raises(CRMError) as info:
        _adapter(sandbox, {"username": "someone@example.com"})
    message = str(info.value)
    assert "crm 'eu'" in message and all(name in message for name in ("EU_SF_ID", "EU_SF_KEY", "EU_SF_SECRET", "EU_SF_REFRESH", "EU_SF_PASS", "EU_SF_TOKEN"))
    assert "SALESFORCE_" not in message and "someone@example.com" not in message


def test_settings_built_in_code_fall_back_to_the_default_names() -> None:
    assert default_hint("password", {"security_token"}) == "Check SALESFORCE_USERNAME, SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN and SALESFORCE_DOMAIN"
    assert default_hint("refresh_token") == "Check SALESFORCE_CLIENT_ID, SALESFORCE_REFRESH_TOKEN and SALESFORCE_DOMAIN"
    settings = read_settings(adapter_spec("salesforce"), crm="x", mapping=MAPPING, environ={"SALESFORCE_USERNAME": "u", "SALESFORCE_PASSWORD": "p"})
    assert salesforce_settings(settings).credentials_hint == "Check SALESFORCE_USERNAME, SALESFORCE_PASSWORD and SALESFORCE_DOMAIN (crm 'x')"
