"""Where one HubSpot portal is and how to authenticate, from the connector's neutral settings.

The connector reads the variables (see :mod:`connector.adapters.settings`); this module only
decides what HubSpot needs of them: a private-app ``access_token``, or the OAuth triple
``client_id``, ``client_secret`` and ``refresh_token``, plus an optional base URL (a sandbox) and
CA bundle. Secrets stay ``SecretStr``, so no ``repr``, log line or error message shows them.
"""

from __future__ import annotations

import pathlib

from pydantic import BaseModel, ConfigDict, SecretStr

from connector.adapters.base import AdapterSettings, CRMError
from connector.adapters.settings import credentials_hint

__all__ = ["CREDENTIAL_ROLES", "DEFAULT_BASE_URL", "HubSpotSettings", "hubspot_settings"]

DEFAULT_BASE_URL = "https://api.hubapi.com"

#: Credential role -> the variable it is read from unless ``crms[].credentials`` names another.
CREDENTIAL_ROLES = {
    "access_token": "HUBSPOT_ACCESS_TOKEN",
    "client_id": "HUBSPOT_CLIENT_ID",
    "client_secret": "HUBSPOT_CLIENT_SECRET",
    "refresh_token": "HUBSPOT_REFRESH_TOKEN",
}


class HubSpotSettings(BaseModel):
    """Where HubSpot is and how to authenticate (what the adapter's client is built from)."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL
    ca_bundle: pathlib.Path | None = None
    #: What a refused credential's message tells to check: the variables the configuration names
    #: (``None``, settings built by hand: the default variables of the credentials given).
    credentials_hint: str | None = None


def hubspot_settings(settings: AdapterSettings) -> HubSpotSettings:
    """HubSpot's settings from the connector's; fail clearly without usable credentials.

    Raises:
        CRMError: neither a private-app token nor a complete OAuth triple is set (the message
            names the variables, never a value).
    """
    secrets, names = settings.secrets, settings.variables
    token = secrets.get("access_token")
    oauth = [secrets.get("client_id"), secrets.get("client_secret"), secrets.get("refresh_token")]
    if token is None and not all(oauth):
        roles = ("client_id", "client_secret", "refresh_token")
        missing = [names[r] for r, v in zip(roles, oauth, strict=True) if not v]
        raise CRMError(
            f"No HubSpot credentials: set {names['access_token']} (private app access token) or all of "
            f"{names['client_id']}, {names['client_secret']}, {names['refresh_token']} (OAuth) in the environment or .env"
            + (f" (missing: {', '.join(missing)})" if any(oauth) else "")
        )
    client_id = oauth[0]
    return HubSpotSettings(
        access_token=token,
        client_id=client_id.get_secret_value() if client_id is not None else None,
        client_secret=oauth[1],
        refresh_token=oauth[2],
        base_url=(settings.base_url or DEFAULT_BASE_URL).rstrip("/"),
        ca_bundle=settings.ca_bundle,
        credentials_hint=credentials_hint(settings, ["access_token"] if token is not None else ["client_id", "client_secret", "refresh_token"]),
    )
