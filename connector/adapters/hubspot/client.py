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

Credentials and the base URL are handed in as :class:`HubSpotSettings` (built by
:func:`~connector.adapters.hubspot.settings.hubspot_settings` from the variables the connector read),
so several portals can be configured with different variable names.
"""

from __future__ import annotations

import json
import typing as t

import hubspot

from connector.adapters.base import ApiStats, CRMError, NoGate, RequestGate
from connector.adapters.hubspot.auth import OAuthRefresh, StaticToken, TokenProvider
from connector.adapters.hubspot.retry import RetryingPool, RetryPolicy, crm_error
from connector.adapters.hubspot.settings import CREDENTIAL_ROLES, HubSpotSettings
from connector.adapters.settings import check_variables

__all__ = ["HubSpotClient", "PlainJSON", "call_json"]

R = t.TypeVar("R")


class PlainJSON(dict[str, t.Any]):
    """A request body that is already plain JSON data in HubSpot's shape: sent as is.

    The SDK otherwise walks every body through ``sanitize_for_serialization`` (built for its model
    objects), which cost about a tenth of the push's CPU for batch updates of plain dicts.
    """


def _default_hint(settings: HubSpotSettings) -> str:
    """What to check when settings were built by hand: the default variables of the credentials given."""
    roles = ["access_token"] if settings.access_token is not None else ["client_id", "client_secret", "refresh_token"]
    return check_variables([CREDENTIAL_ROLES[r] for r in roles])


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
        self.ca_bundle = settings.ca_bundle
        self.gate = gate or NoGate()
        self.stats = stats if stats is not None else ApiStats()
        self.policy = policy or RetryPolicy()
        self.credentials_hint = settings.credentials_hint or _default_hint(settings)
        self._pools: list[RetryingPool] = []
        self.auth = self._token_provider(settings)
        sdk = hubspot.HubSpot(api_factory=self._factory(self.auth), host=self.base_url)
        crm = sdk.crm
        self.contacts_search = crm.contacts.search_api
        self.contacts_batch = crm.contacts.batch_api
        self.contacts_basic = crm.contacts.basic_api
        self.deals_search = crm.deals.search_api
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
        self.forms = sdk.marketing.forms.forms_api

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

            return OAuthRefresh(settings.client_id, settings.client_secret, settings.refresh_token, fetch, hint=self.credentials_hint)
        raise CRMError("No HubSpot credentials: set HUBSPOT_ACCESS_TOKEN or HUBSPOT_CLIENT_ID/HUBSPOT_CLIENT_SECRET/HUBSPOT_REFRESH_TOKEN")

    def _factory(self, auth: TokenProvider | None) -> t.Callable[[t.Any, str, dict[str, t.Any]], t.Any]:
        def factory(package: t.Any, api_name: str, config: dict[str, t.Any]) -> t.Any:
            return self.api(package, api_name, auth=auth, host=config.get("host"))

        return factory

    def api(self, package: t.Any, api_name: str, *, auth: TokenProvider | None, host: str | None = None, policy: RetryPolicy | None = None) -> t.Any:
        """An SDK API of ``package`` on our transport: gated, counted, authenticated, retried by ``policy``."""
        configuration = package.Configuration(host=host or self.base_url)
        configuration.client_side_validation = True
        if self.ca_bundle is not None:
            configuration.ssl_ca_cert = str(self.ca_bundle)
        api_client = package.ApiClient(configuration=configuration)
        api_client.user_agent = "lead-scoring-connector (hubspot-api-client)"
        sanitize = api_client.sanitize_for_serialization
        api_client.sanitize_for_serialization = lambda obj: obj if type(obj) is PlainJSON else sanitize(obj)
        pool = RetryingPool(api_client.rest_client.pool_manager, auth=auth, gate=self.gate, stats=self.stats, policy=policy or self.policy)
        api_client.rest_client.pool_manager = pool
        self._pools.append(pool)
        return getattr(package, api_name)(api_client=api_client)

    def call(self, method: str, path: str, fn: t.Callable[..., R], *args: t.Any, **kwargs: t.Any) -> R:
        """Run one SDK call; failures (after the transport's retries) become :class:`CRMError`.

        ``method``/``path`` only label the error message (and pick the scope a 401/403 names).
        """
        try:
            return fn(*args, **kwargs)
        except CRMError:
            raise
        except Exception as exc:  # noqa: BLE001 - SDK ApiException, urllib3 errors, client-side validation errors
            if type(exc).__name__ in ("ApiValueError", "ApiTypeError"):
                raise CRMError(f"HubSpot SDK refused the request {method} {path} before sending it: {exc}") from None
            if isinstance(exc, (TypeError, ValueError)) and not hasattr(exc, "status"):
                raise CRMError(f"HubSpot SDK could not read the answer to {method} {path}: {type(exc).__name__}: {exc}") from None
            raise crm_error(exc, method=method, path=path, hint=self.credentials_hint) from None

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


def call_json(client: HubSpotClient, method: str, path: str, fn: t.Callable[..., t.Any], *args: t.Any, **kwargs: t.Any) -> dict[str, t.Any]:
    """One SDK call whose answer is read as a plain JSON object, not turned into the SDK's models.

    Why: the models cost CPU (dateutil on every timestamp) or cannot parse real answers at all
    (SDK 12's form fields with client-side validation on); the caller checks the fields it uses.

    Raises:
        CRMError: the call failed (see :meth:`HubSpotClient.call`), or the answer is not a JSON object.
    """
    answer = client.call(method, path, fn, *args, _preload_content=False, **kwargs)
    try:
        data = answer.data
    finally:
        answer.release_conn()
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CRMError(f"HubSpot answered {method} {path} with something that is not JSON ({exc}): {str(data[:200])!r}") from None
    if not isinstance(body, dict):
        raise CRMError(f"HubSpot answered {method} {path} with something that is not a JSON object: {str(body)[:200]}")
    return body
