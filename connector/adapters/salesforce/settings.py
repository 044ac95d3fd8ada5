"""Where one Salesforce org is and how to log in, from the connector's neutral settings.

The connector reads the variables (:mod:`connector.adapters.settings`); this module decides which
OAuth flow they allow, in this order (the first complete one wins):

1. **JWT bearer** (production integrations): ``client_id`` + ``username`` + ``jwt_key_file``.
2. **Client credentials** (a connected app running as its integration user): ``client_id`` +
   ``client_secret``.
3. **Refresh token** (issued once by the web-server flow): ``client_id`` + ``refresh_token``
   (+ ``client_secret`` when the app requires it).
4. **Username, password and security token** (developer orgs): ``username`` + ``password``
   (+ ``security_token`` unless the IP is trusted).

Secrets stay ``SecretStr``; no ``repr``, log line or error message shows them.
"""

from __future__ import annotations

import pathlib
import typing as t

from pydantic import BaseModel, ConfigDict, SecretStr

from connector.adapters.base import AdapterSettings, CRMError
from connector.adapters.settings import check_variables, credentials_hint

__all__ = ["CREDENTIAL_ROLES", "DEFAULT_API_VERSION", "DEFAULT_DOMAIN", "FLOW_ROLES", "Flow", "SalesforceSettings", "default_hint", "salesforce_settings"]

#: simple-salesforce's default API version (the sandbox serves v31.0 to v62.0).
DEFAULT_API_VERSION = "59.0"
#: ``https://{domain}.salesforce.com`` is where logins go: ``login`` (production), ``test`` (sandboxes) or a My Domain.
DEFAULT_DOMAIN = "login"

#: Credential role -> the variable it is read from unless ``crms[].credentials`` names another.
#: ``domain`` and ``api_version`` are not secrets but are read the same way, per org.
CREDENTIAL_ROLES = {
    "client_id": "SALESFORCE_CLIENT_ID",
    "client_secret": "SALESFORCE_CLIENT_SECRET",
    "username": "SALESFORCE_USERNAME",
    "password": "SALESFORCE_PASSWORD",
    "security_token": "SALESFORCE_SECURITY_TOKEN",
    "jwt_key_file": "SALESFORCE_JWT_KEY_FILE",
    "refresh_token": "SALESFORCE_REFRESH_TOKEN",
    "domain": "SALESFORCE_DOMAIN",
    "api_version": "SALESFORCE_API_VERSION",
    # Where the change feed (Pub/Sub API) is; default api.pubsub.salesforce.com:7443 (see .cdc).
    "pubsub_url": "SALESFORCE_PUBSUB_URL",
}

Flow = t.Literal["jwt", "client_credentials", "refresh_token", "password"]

#: The roles a flow logs in with (optional ones included: they are named when set), then where.
FLOW_ROLES: dict[Flow, tuple[str, ...]] = {
    "jwt": ("client_id", "username", "jwt_key_file", "domain"),
    "client_credentials": ("client_id", "client_secret", "domain"),
    "refresh_token": ("client_id", "client_secret", "refresh_token", "domain"),
    "password": ("username", "password", "security_token", "domain"),
}
#: Roles named even when unset: the login needs them (``domain`` defaults to ``login``, and a wrong default is a common refusal).
_ALWAYS = {"client_id", "username", "jwt_key_file", "refresh_token", "password", "domain"}


class SalesforceSettings(BaseModel):
    """Where the org is and how to log in (what the adapter's client is built from)."""

    model_config = ConfigDict(frozen=True)

    flow: Flow
    domain: str = DEFAULT_DOMAIN
    api_version: str = DEFAULT_API_VERSION
    #: The org's instance URL, if known in advance; otherwise the token answer's ``instance_url``.
    instance_url: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    jwt_key_file: pathlib.Path | None = None
    refresh_token: SecretStr | None = None
    ca_bundle: pathlib.Path | None = None
    #: ``Check SF_ID, SF_USER, SF_KEY and SF_DOMAIN (crm 'eu')``: the variables the configuration
    #: names for this flow, ending every "login refused" message (see :func:`default_hint`).
    credentials_hint: str | None = None

    def __repr_args__(self) -> t.Iterator[tuple[str | None, t.Any]]:
        for key, value in super().__repr_args__():
            if key in ("flow", "domain", "api_version", "instance_url", "client_id", "username"):
                yield key, value


def _plain(secrets: t.Mapping[str, SecretStr], role: str) -> str | None:
    value = secrets.get(role)
    return value.get_secret_value() if value is not None else None


def salesforce_settings(settings: AdapterSettings) -> SalesforceSettings:
    """Salesforce's settings from the connector's; fail clearly without a complete login.

    Raises:
        CRMError: no flow is complete (the message names the variables of each flow, never a value),
            or the JWT key file does not exist.
    """
    s, names = settings.secrets, settings.variables
    has = {role: role in s for role in CREDENTIAL_ROLES}
    flow: Flow | None = None
    if has["client_id"] and has["username"] and has["jwt_key_file"]:
        flow = "jwt"
    elif has["client_id"] and has["client_secret"]:
        flow = "client_credentials"
    elif has["client_id"] and has["refresh_token"]:
        flow = "refresh_token"
    elif has["username"] and has["password"]:
        flow = "password"
    if flow is None:
        n = names
        raise CRMError(
            f"No Salesforce credentials for crm '{settings.crm}': set, in the environment or .env, one of: "
            f"{n['client_id']} + {n['username']} + {n['jwt_key_file']} (JWT bearer); "
            f"{n['client_id']} + {n['client_secret']} (client credentials); "
            f"{n['client_id']} + {n['refresh_token']} (refresh token); "
            f"{n['username']} + {n['password']} + {n['security_token']} (username and password)"
        )
    key_file = pathlib.Path(_plain(s, "jwt_key_file") or "") if flow == "jwt" else None
    if key_file is not None and not key_file.is_file():
        raise CRMError(f"Salesforce JWT bearer login: the key file named by {names['jwt_key_file']} does not exist")
    domain = (_plain(s, "domain") or DEFAULT_DOMAIN).strip().removeprefix("https://").removesuffix("/")
    domain = domain.removesuffix(".salesforce.com")
    return SalesforceSettings(
        flow=flow,
        domain=domain,
        api_version=(_plain(s, "api_version") or DEFAULT_API_VERSION).removeprefix("v"),
        instance_url=settings.base_url.rstrip("/") if settings.base_url else None,
        client_id=_plain(s, "client_id"),
        client_secret=s.get("client_secret"),
        username=_plain(s, "username"),
        password=s.get("password"),
        security_token=s.get("security_token"),
        jwt_key_file=key_file,
        refresh_token=s.get("refresh_token"),
        ca_bundle=settings.ca_bundle,
        credentials_hint=credentials_hint(settings, [r for r in FLOW_ROLES[flow] if r in _ALWAYS or r in s]),
    )


def default_hint(flow: Flow, present: t.Collection[str] = ()) -> str:
    """The hint of a flow by the default variable names (settings built in code, without a configuration)."""
    return check_variables([CREDENTIAL_ROLES[r] for r in FLOW_ROLES[flow] if r in _ALWAYS or r in present])
