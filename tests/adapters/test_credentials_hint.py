"""A refused credential names the variable the configuration names (``credentials: {access_token: HS_TOK}``)."""

from __future__ import annotations

import pathlib

import pytest

from connector.adapters.base import AdapterSettings, CRMError, NoGate
from connector.adapters.hubspot import ADAPTER, from_config
from connector.adapters.settings import credentials_hint, read_settings
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import EXAMPLE_MAPPING, T0, at


def _settings(environ: dict[str, str], variables: dict[str, str]) -> AdapterSettings:
    return read_settings(ADAPTER, crm="eu-portal", mapping=EXAMPLE_MAPPING, variables=variables, base_url_env="HS_URL", environ=environ, env_file=None)


def test_a_refused_token_names_the_configured_variable(sandbox: HubSpotSandbox) -> None:
    settings = _settings({"HS_TOK": "pat-wrong-secret", "HS_URL": sandbox.base_url}, {"access_token": "HS_TOK"})
    adapter = from_config(settings, gate=NoGate())
    with pytest.raises(CRMError) as info:
        list(adapter.pull_contacts(None, at(T0)))
    message = str(info.value)
    assert info.value.status == 401 and "Check HS_TOK (crm 'eu-portal')" in message, message
    assert "HUBSPOT_ACCESS_TOKEN" not in message and "pat-wrong-secret" not in message


def test_a_refused_oauth_refresh_names_the_configured_variables(sandbox: HubSpotSandbox) -> None:
    names = {"client_id": "HS_ID", "client_secret": "HS_SECRET", "refresh_token": "HS_REFRESH"}
    environ = {"HS_ID": "wrong-id", "HS_SECRET": "wrong-secret", "HS_REFRESH": "wrong-refresh", "HS_URL": sandbox.base_url}
    adapter = from_config(_settings(environ, names), gate=NoGate())
    with pytest.raises(CRMError) as info:
        list(adapter.pull_contacts(None, at(T0)))
    message = str(info.value)
    assert "Check HS_ID, HS_SECRET and HS_REFRESH" in message, message
    assert "HUBSPOT_" not in message and "wrong-secret" not in message and "wrong-refresh" not in message


def test_the_hint_names_the_roles_in_use_for_any_adapter() -> None:
    settings = AdapterSettings(crm="x", mapping=pathlib.Path("m.yaml"), secrets={}, variables={"token": "MY_TOKEN", "key": "MY_KEY"})
    assert credentials_hint(settings) == "Check MY_TOKEN and MY_KEY (crm 'x')"
    assert credentials_hint(settings, ["key"]) == "Check MY_KEY (crm 'x')"



def test_a_missing_scope_names_the_token_variable_too() -> None:
    from connector.adapters.hubspot.retry import crm_error

    class Refused(Exception):
        status = 403
        body = b'{"status":"error","message":"missing scopes","category":"MISSING_SCOPES"}'

    error = crm_error(Refused(), method="PUT", path="/crm/v3/lists/1/memberships/add", hint="Check EU_TOKEN (crm 'eu')")
    assert "missing scope" in str(error) and "Check EU_TOKEN (crm 'eu'): its app needs that scope." in str(error)
