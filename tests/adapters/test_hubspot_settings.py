"""Credentials: read by role from the environment or .env, clear when missing, never shown."""

from __future__ import annotations

import pathlib
import typing as t

import pytest

from connector.adapters.base import AdapterSettings, CRMError
from connector.adapters.hubspot import ADAPTER, HubSpotSettings
from connector.adapters.hubspot.client import HubSpotClient
from connector.adapters.hubspot.settings import hubspot_settings
from connector.adapters.settings import read_settings

MAPPING = pathlib.Path("mappings/hubspot.yaml")


def _read(environ: t.Mapping[str, str] | None, env_file: pathlib.Path | None, **names: t.Any) -> AdapterSettings:
    return read_settings(ADAPTER, crm="hs", mapping=MAPPING, environ=environ, env_file=env_file, **names)


def test_missing_token_names_every_variable(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CRMError) as info:
        hubspot_settings(_read({}, tmp_path / "absent.env"))
    message = str(info.value)
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN"):
        assert name in message


def test_partial_oauth_says_what_is_missing() -> None:
    with pytest.raises(CRMError, match="missing: HUBSPOT_REFRESH_TOKEN"):
        hubspot_settings(_read({"HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s"}, None))


def test_env_file_is_read_and_environment_wins(tmp_path: pathlib.Path) -> None:
    env = tmp_path / ".env"
    env.write_text("HUBSPOT_ACCESS_TOKEN=from-file\nHUBSPOT_BASE_URL=http://127.0.0.1:9/\n")
    settings = hubspot_settings(_read({}, env))
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "from-file"
    assert settings.base_url == "http://127.0.0.1:9"
    assert hubspot_settings(_read({"HUBSPOT_ACCESS_TOKEN": "env"}, env)).access_token.get_secret_value() == "env"  # type: ignore[union-attr]


def test_other_variable_names_for_a_second_portal() -> None:
    names = {"variables": {"access_token": "EU_PORTAL_TOKEN"}, "base_url_env": "EU_PORTAL_URL"}
    settings = hubspot_settings(_read({"EU_PORTAL_TOKEN": "t2", "EU_PORTAL_URL": "http://eu"}, None, **names))
    assert settings.base_url == "http://eu"
    with pytest.raises(CRMError, match="EU_PORTAL_TOKEN"):
        hubspot_settings(_read({"HUBSPOT_ACCESS_TOKEN": "not-this-one"}, None, **names))


def test_an_unknown_role_names_the_known_ones() -> None:
    with pytest.raises(CRMError, match=r"unknown credential role\(s\) api_key for adapter hubspot \(known: access_token, client_id"):
        _read({}, None, variables={"api_key": "X"})


def test_a_ca_bundle_goes_to_the_sdk(tmp_path: pathlib.Path) -> None:
    bundle = tmp_path / "ca.pem"
    settings = hubspot_settings(_read({"HUBSPOT_ACCESS_TOKEN": "t", "HUBSPOT_CA_BUNDLE": str(bundle)}, None))
    assert settings.ca_bundle == bundle
    assert HubSpotClient(settings).contacts_search.api_client.configuration.ssl_ca_cert == str(bundle)


def test_token_never_in_reprs() -> None:
    settings = HubSpotSettings(access_token="pat-na1-very-secret", base_url="http://x")  # type: ignore[arg-type]
    read = _read({"HUBSPOT_ACCESS_TOKEN": "pat-na1-very-secret"}, None)
    client = HubSpotClient(settings)
    for text in (repr(settings), str(settings), repr(client), repr(client.auth), repr(settings.model_dump()), repr(read), str(read)):
        assert "very-secret" not in text
    # and not in the SDK's configuration objects either: the transport adds the header per request
    assert client.contacts_search.api_client.configuration.access_token is None


def test_process_environment_wins_over_env_file_and_blank_counts_as_unset(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("HUBSPOT_ACCESS_TOKEN=from-file\n")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "from-env")
    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
    settings = hubspot_settings(_read(None, env))
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "from-env"
    assert settings.base_url == "https://api.hubapi.com"
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "  ")
    assert hubspot_settings(_read(None, env)).access_token.get_secret_value() == "from-file"  # type: ignore[union-attr]
