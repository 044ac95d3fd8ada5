"""Credentials: from env or .env, clear when missing, never shown."""

from __future__ import annotations

import pathlib

import pytest

from connector.adapters.base import CRMError
from connector.adapters.hubspot import EnvNames, HubSpotSettings, settings_from_env
from connector.adapters.hubspot.client import HubSpotClient


def test_missing_token_names_every_variable(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CRMError) as info:
        settings_from_env(environ={}, env_file=tmp_path / "absent.env")
    message = str(info.value)
    for name in ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_CLIENT_ID", "HUBSPOT_CLIENT_SECRET", "HUBSPOT_REFRESH_TOKEN"):
        assert name in message


def test_partial_oauth_says_what_is_missing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(CRMError, match="missing: HUBSPOT_REFRESH_TOKEN"):
        settings_from_env(environ={"HUBSPOT_CLIENT_ID": "id", "HUBSPOT_CLIENT_SECRET": "s"}, env_file=None)


def test_env_file_is_read_and_environment_wins(tmp_path: pathlib.Path) -> None:
    env = tmp_path / ".env"
    env.write_text("HUBSPOT_ACCESS_TOKEN=from-file\nHUBSPOT_BASE_URL=http://127.0.0.1:9/\n")
    settings = settings_from_env(environ={}, env_file=env)
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "from-file"
    assert settings.base_url == "http://127.0.0.1:9"
    assert settings_from_env(environ={"HUBSPOT_ACCESS_TOKEN": "env"}, env_file=env).access_token.get_secret_value() == "env"  # type: ignore[union-attr]


def test_other_variable_names_for_a_second_portal() -> None:
    names = EnvNames(access_token="EU_PORTAL_TOKEN", base_url="EU_PORTAL_URL")
    settings = settings_from_env(names, environ={"EU_PORTAL_TOKEN": "t2", "EU_PORTAL_URL": "http://eu"}, env_file=None)
    assert settings.base_url == "http://eu"
    with pytest.raises(CRMError, match="EU_PORTAL_TOKEN"):
        settings_from_env(names, environ={"HUBSPOT_ACCESS_TOKEN": "not-this-one"}, env_file=None)


def test_token_never_in_reprs() -> None:
    settings = HubSpotSettings(access_token="pat-na1-very-secret", base_url="http://x")  # type: ignore[arg-type]
    client = HubSpotClient(settings)
    for text in (repr(settings), str(settings), repr(client), repr(client.auth), repr(settings.model_dump())):
        assert "very-secret" not in text
    # and not in the SDK's configuration objects either: the transport adds the header per request
    assert client.contacts_search.api_client.configuration.access_token is None


def test_process_environment_wins_over_env_file_and_blank_counts_as_unset(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("HUBSPOT_ACCESS_TOKEN=from-file\n")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "from-env")
    monkeypatch.delenv("HUBSPOT_BASE_URL", raising=False)
    settings = settings_from_env(env_file=env)
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "from-env"
    assert settings.base_url == "https://api.hubapi.com"
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "  ")
    assert settings_from_env(env_file=env).access_token.get_secret_value() == "from-file"  # type: ignore[union-attr]
