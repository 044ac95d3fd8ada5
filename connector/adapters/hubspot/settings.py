"""Credentials and base URL of one HubSpot portal, read with pydantic-settings.

The variable NAMES are data (:class:`EnvNames`): the sync engine may configure several portals, each
with its own names. The process environment wins over ``.env``; blank values count as unset.
Secrets are ``SecretStr`` everywhere, so no ``repr``, log line or error message shows them.
"""

from __future__ import annotations

import dataclasses as dc
import os
import pathlib
import typing as t

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connector.adapters.base import CRMError

__all__ = ["DEFAULT_BASE_URL", "EnvNames", "HubSpotSettings", "settings_from_env"]

DEFAULT_BASE_URL = "https://api.hubapi.com"


class HubSpotSettings(BaseModel):
    """Where HubSpot is and how to authenticate (what the adapter is built from)."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL


@dc.dataclass(frozen=True)
class EnvNames:
    """The environment variable NAMES to read."""

    access_token: str = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
    client_id: str = "HUBSPOT_CLIENT_ID"
    client_secret: str = "HUBSPOT_CLIENT_SECRET"  # noqa: S105 - a variable name, not a secret
    refresh_token: str = "HUBSPOT_REFRESH_TOKEN"  # noqa: S105 - a variable name, not a secret
    base_url: str = "HUBSPOT_BASE_URL"


def _settings_class(names: EnvNames) -> type[BaseSettings]:
    """A pydantic-settings class whose fields are read from ``names`` (and ``.env``)."""

    class _PortalEnv(BaseSettings):
        model_config = SettingsConfigDict(extra="ignore", case_sensitive=True, env_file_encoding="utf-8", env_ignore_empty=True)

        access_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(names.access_token))
        client_id: str | None = Field(default=None, validation_alias=AliasChoices(names.client_id))
        client_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices(names.client_secret))
        refresh_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices(names.refresh_token))
        base_url: str | None = Field(default=None, validation_alias=AliasChoices(names.base_url))

        @field_validator("*", mode="before")
        @classmethod
        def _blank_is_unset(cls, value: t.Any) -> t.Any:
            if isinstance(value, str):
                value = value.strip()
                return value or None
            return value

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            # The environment is handed in as init values (blank ones dropped, so a blank variable
            # never hides a value in .env); pydantic-settings reads the .env file.
            return (init_settings, dotenv_settings)

    return _PortalEnv


def settings_from_env(
    names: EnvNames | None = None,
    *,
    env_file: str | pathlib.Path | None = ".env",
    environ: t.Mapping[str, str] | None = None,
) -> HubSpotSettings:
    """Read settings from the environment (which wins) and ``env_file``; fail clearly without credentials.

    Raises:
        CRMError: neither a private-app token nor a complete OAuth triple is configured (the message
            names the variables, never a value).
    """
    names = names or EnvNames()
    cls = _settings_class(names)
    source = os.environ if environ is None else environ
    given = {alias: source[alias] for alias in dc.asdict(names).values() if source.get(alias, "").strip()}
    env_path = pathlib.Path(env_file) if env_file is not None else None
    values = cls(_env_file=env_path if env_path is not None and env_path.is_file() else None, **given)  # type: ignore[arg-type]
    token = values.access_token  # type: ignore[attr-defined]
    oauth = [values.client_id, values.client_secret, values.refresh_token]  # type: ignore[attr-defined]
    if token is None and not all(oauth):
        labels = (names.client_id, names.client_secret, names.refresh_token)
        missing = [n for n, v in zip(labels, oauth, strict=False) if not v]
        raise CRMError(
            f"No HubSpot credentials: set {names.access_token} (private app access token) or all of "
            f"{names.client_id}, {names.client_secret}, {names.refresh_token} (OAuth) in the environment or .env"
            + (f" (missing: {', '.join(missing)})" if any(oauth) else "")
        )
    return HubSpotSettings(
        access_token=token,
        client_id=oauth[0],
        client_secret=oauth[1],
        refresh_token=oauth[2],
        base_url=(values.base_url or DEFAULT_BASE_URL).rstrip("/"),  # type: ignore[attr-defined]
    )
