"""Building the official SDK (hubspot-api-client 12) against a chosen host, with our transport.

Why a custom ``api_factory``: the SDK builds a fresh ``ApiClient`` (and urllib3 pool) every time
an API attribute is read (``HubSpot().crm.contacts.search_api``). We build each API once, point it at
``base_url`` (``Configuration.host``, so the sandbox works by setting ``HUBSPOT_BASE_URL``), turn on
``client_side_validation`` and swap its pool manager for :class:`RetryingPool`, which adds the
bearer token, the rate gate, the counters and the retries to every attempt.

The SDK's ``HubSpot.api_request`` helper is not used: it calls ``requests`` directly (no pool,
no timeout, prints errors), which would bypass the gate. For the one endpoint without a typed API
(email events v1) we use the generated ``ApiClient.call_api`` of a typed API, which does go through
the pool.

Credentials come from the environment or ``.env`` (:func:`settings_from_env`), or are handed in
as a :class:`HubSpotSettings` so the sync engine can configure several portals with different
variable names.
"""

from __future__ import annotations

import dataclasses as dc
import os
import pathlib
import typing as t

import hubspot
from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, SecretStr

from connector.adapters.base import ApiStats, CRMError, NoGate, RequestGate
from connector.adapters.hubspot.auth import OAuthRefresh, StaticToken, TokenProvider
from connector.adapters.hubspot.retry import RetryingPool, RetryPolicy, crm_error

__all__ = ["DEFAULT_BASE_URL", "EnvNames", "HubSpotClient", "HubSpotSettings", "settings_from_env"]

DEFAULT_BASE_URL = "https://api.hubapi.com"
R = t.TypeVar("R")


class HubSpotSettings(BaseModel):
    """Where HubSpot is and how to authenticate. Secrets are ``SecretStr``: masked in every repr."""

    model_config = ConfigDict(frozen=True)

    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL


@dc.dataclass(frozen=True)
class EnvNames:
    """The environment variable NAMES to read (the sync config may rename them per portal)."""

    access_token: str = "HUBSPOT_ACCESS_TOKEN"
    client_id: str = "HUBSPOT_CLIENT_ID"
    client_secret: str = "HUBSPOT_CLIENT_SECRET"
    refresh_token: str = "HUBSPOT_REFRESH_TOKEN"
    base_url: str = "HUBSPOT_BASE_URL"


def settings_from_env(
    names: EnvNames | None = None,
    *,
    env_file: str | pathlib.Path | None = ".env",
    environ: t.Mapping[str, str] | None = None,
) -> HubSpotSettings:
    """Read settings from the environment (which wins) and ``.env``; fail clearly if no credentials.

    Raises:
        CRMError: neither a private-app token nor a complete OAuth triple is configured.
    """
    names = names or EnvNames()
    env = dict(environ if environ is not None else os.environ)
    file_values: dict[str, str | None] = {}
    if env_file is not None and pathlib.Path(env_file).is_file():
        file_values = dotenv_values(env_file)

    def get(name: str) -> str | None:
        value = env.get(name) or file_values.get(name)
        return value.strip() if value and value.strip() else None

    token = get(names.access_token)
    oauth = [get(names.client_id), get(names.client_secret), get(names.refresh_token)]
    if token is None and not all(oauth):
        missing = [n for n, v in zip((names.client_id, names.client_secret, names.refresh_token), oauth) if not v]
        raise CRMError(
            f"No HubSpot credentials: set {names.access_token} (private app access token) or all of "
            f"{names.client_id}, {names.client_secret}, {names.refresh_token} (OAuth) in the environment or .env"
            + (f" (missing: {', '.join(missing)})" if any(oauth) else "")
        )
    return HubSpotSettings(
        access_token=SecretStr(token) if token else None,
        client_id=oauth[0],
        client_secret=SecretStr(oauth[1]) if oauth[1] else None,
        refresh_token=SecretStr(oauth[2]) if oauth[2] else None,
        base_url=(get(names.base_url) or DEFAULT_BASE_URL).rstrip("/"),
    )


class HubSpotClient:
    """The SDK's typed APIs, built once, all sharing one gate, one ``ApiStats`` and one token."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.base_url = settings.base_url.rstrip("/")
        self.gate = gate or NoGate()
        self.stats = stats if stats is not None else ApiStats()
        self.policy = policy or RetryPolicy()
        self._pools: list[RetryingPool] = []
        self.auth = self._token_provider(settings)
        sdk = hubspot.HubSpot(api_factory=self._factory(self.auth), host=self.base_url)
        crm = sdk.crm
        self.contacts_search = crm.contacts.search_api
        self.contacts_batch = crm.contacts.batch_api
        self.contacts_basic = crm.contacts.basic_api
        self.engagement_search = {
            "meetings": crm.objects.meetings.search_api,
            "calls": crm.objects.calls.search_api,
            "emails": crm.objects.emails.search_api,
        }
        self.tasks = crm.objects.tasks.basic_api
        self.properties = crm.properties.core_api
        self.groups = crm.properties.groups_api
        self.lists = crm.lists.lists_api
        self.memberships = crm.lists.memberships_api
        self.owners = crm.owners.owners_api
        self.associations = crm.associations.v4.batch_api
        self.events = sdk.events.events_api

    def _token_provider(self, settings: HubSpotSettings) -> TokenProvider:
        if settings.access_token is not None:
            return StaticToken(settings.access_token)
        if settings.client_id and settings.client_secret and settings.refresh_token:
            # The token endpoint itself is called without a bearer token, but still gated and counted.
            tokens_api = hubspot.HubSpot(api_factory=self._factory(None), host=self.base_url).oauth.tokens_api

            def fetch(client_id: str, client_secret: str, refresh_token: str) -> tuple[str, str | None, float]:
                answer = self.call(
                    "POST",
                    "/oauth/v1/token",
                    tokens_api.create,
                    grant_type="refresh_token",
                    client_id=client_id,
                    client_secret=client_secret,
                    refresh_token=refresh_token,
                )
                return answer.access_token, answer.refresh_token, float(answer.expires_in or 1800)

            return OAuthRefresh(settings.client_id, settings.client_secret, settings.refresh_token, fetch)
        raise CRMError("No HubSpot credentials: set HUBSPOT_ACCESS_TOKEN or HUBSPOT_CLIENT_ID/HUBSPOT_CLIENT_SECRET/HUBSPOT_REFRESH_TOKEN")

    def _factory(self, auth: TokenProvider | None) -> t.Callable[[t.Any, str, dict[str, t.Any]], t.Any]:
        def factory(package: t.Any, api_name: str, config: dict[str, t.Any]) -> t.Any:
            configuration = package.Configuration(host=config.get("host", self.base_url))
            configuration.client_side_validation = True
            api_client = package.ApiClient(configuration=configuration)
            api_client.user_agent = "lead-scoring-connector (hubspot-api-client)"
            pool = RetryingPool(api_client.rest_client.pool_manager, auth=auth, gate=self.gate, stats=self.stats, policy=self.policy)
            api_client.rest_client.pool_manager = pool
            self._pools.append(pool)
            return getattr(package, api_name)(api_client=api_client)

        return factory

    def call(self, method: str, path: str, fn: t.Callable[..., R], *args: t.Any, **kwargs: t.Any) -> R:
        """Run one SDK call; failures (after the transport's retries) become :class:`CRMError`.

        ``method``/``path`` only label the error message (and pick the scope a 401/403 names).
        """
        try:
            return fn(*args, **kwargs)
        except CRMError:
            raise
        except Exception as exc:  # SDK ApiException, urllib3 errors, client-side validation errors
            if type(exc).__name__ in ("ApiValueError", "ApiTypeError"):
                raise CRMError(f"HubSpot SDK refused the request {method} {path} before sending it: {exc}") from None
            if isinstance(exc, (TypeError, ValueError)) and not hasattr(exc, "status"):
                raise CRMError(f"HubSpot SDK could not read the answer to {method} {path}: {type(exc).__name__}: {exc}") from None
            raise crm_error(exc, method=method, path=path) from None

    def raw(self, method: str, path: str, query: t.Mapping[str, t.Any] | None = None) -> t.Any:
        """A GET/POST on an endpoint the SDK has no typed API for, parsed as JSON, through the same pool."""
        api_client = self.contacts_basic.api_client
        return self.call(
            method,
            path,
            api_client.call_api,
            path,
            method,
            query_params=list((query or {}).items()),
            header_params={"Accept": "application/json"},
            response_types_map={200: "object"},
            auth_settings=[],
            _return_http_data_only=True,
        )

    def close(self) -> None:
        """Release pooled connections."""
        for pool in self._pools:
            pool.clear()

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self.base_url!r})"
