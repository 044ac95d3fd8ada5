"""Where the bearer token of every HubSpot request comes from: a private-app token or OAuth.

The token lives only inside these objects (as ``SecretStr``) and in the ``Authorization`` header
the transport sets on each request; it is never put into the SDK's configuration, a log line,
an exception message or a ``repr``.

OAuth refresh: https://developers.hubspot.com/docs/api/oauth/tokens -- ``POST /oauth/v1/token``
(form-encoded ``grant_type=refresh_token, client_id, client_secret, refresh_token``) answers
``{access_token, refresh_token, expires_in, token_type}``.
"""

from __future__ import annotations

import threading
import time
import typing as t

from pydantic import SecretStr

from connector.adapters.base import CRMError

__all__ = ["OAuthRefresh", "StaticToken", "TokenProvider"]


class TokenProvider(t.Protocol):
    """Hands out the current bearer token; may refresh it after a 401."""

    def token(self) -> str:
        """The access token to send now."""

    def invalidate(self) -> bool:
        """Forget the current token after a 401; True if a fresh one can be fetched (retry once)."""


class StaticToken:
    """A private-app access token: fixed, nothing to refresh."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def token(self) -> str:  # noqa: D102
        return self._token.get_secret_value()

    def invalidate(self) -> bool:  # noqa: D102
        return False

    def __repr__(self) -> str:
        return "StaticToken(**********)"


#: Fetches a new token: ``(client_id, client_secret, refresh_token) -> (access_token, refresh_token, expires_in)``.
Fetcher = t.Callable[[str, str, str], tuple[str, str | None, float]]


class OAuthRefresh:
    """OAuth 2 access token obtained (and renewed before expiry) from a refresh token.

    ``fetch`` performs the token call (built by :mod:`connector.adapters.hubspot.client` on the
    SDK's OAuth API, through the same gated transport as every other call); ``clock`` is
    injectable so tests can expire tokens without sleeping.
    """

    #: Renew this many seconds before HubSpot's stated expiry.
    MARGIN = 60.0

    def __init__(
        self,
        client_id: str,
        client_secret: SecretStr,
        refresh_token: SecretStr,
        fetch: Fetcher,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        hint: str = "Check HUBSPOT_CLIENT_ID, HUBSPOT_CLIENT_SECRET and HUBSPOT_REFRESH_TOKEN",
    ) -> None:
        self._hint = hint
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._fetch = fetch
        self._clock = clock
        self._access: SecretStr | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:  # noqa: D102
        with self._lock:
            if self._access is None or self._clock() >= self._expires_at:
                self._renew()
            assert self._access is not None
            return self._access.get_secret_value()

    def invalidate(self) -> bool:  # noqa: D102
        with self._lock:
            had = self._access is not None
            self._access = None
            return had

    def _renew(self) -> None:
        try:
            access, refresh, expires_in = self._fetch(
                self._client_id, self._client_secret.get_secret_value(), self._refresh_token.get_secret_value()
            )
        except CRMError as exc:
            raise CRMError(
                f"HubSpot OAuth token refresh failed ({exc}); {self._hint}",
                status=exc.status,
                retryable=exc.retryable,
            ) from None
        if not access:
            raise CRMError("HubSpot OAuth token refresh answered without an access_token")
        self._access = SecretStr(access)
        if refresh:
            # HubSpot may rotate refresh tokens; keep the newest one in memory.
            self._refresh_token = SecretStr(refresh)
        self._expires_at = self._clock() + max(float(expires_in) - self.MARGIN, 0.0)

    def __repr__(self) -> str:
        return f"OAuthRefresh(client_id={self._client_id!r}, secrets=**********)"
