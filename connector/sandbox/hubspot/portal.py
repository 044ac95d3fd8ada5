"""Everything one sandbox portal holds, passed explicitly to every route module (no globals)."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import typing as t

from connector.sandbox.hubspot.clock import SandboxClock
from connector.sandbox.hubspot.errors import AUTH_MESSAGE, ApiError
from connector.sandbox.hubspot.lists import ListStore
from connector.sandbox.hubspot.search import SearchCache
from connector.sandbox.hubspot.store import Store
from connector.sandbox.hubspot.tiers import DEFAULT_TIER, PortalTier, tier_named

__all__ = ["OAuthCredentials", "Portal", "paging_link"]

ACCESS_TOKEN_TTL_S = 1800


@dataclasses.dataclass(frozen=True)
class OAuthCredentials:
    """The OAuth app and refresh token the sandbox accepts on ``POST /oauth/v1/token``."""

    client_id: str
    client_secret: str
    refresh_token: str

    @classmethod
    def generate(cls) -> OAuthCredentials:
        """Fresh random credentials."""
        return cls(f"sandbox-client-{secrets.token_hex(6)}", secrets.token_hex(16), f"sandbox-refresh-{secrets.token_hex(12)}")


class Portal:
    """Store, lists, search cache, credentials and plan of one sandbox.

    ``events_per_record_only`` makes ``GET /events/v3/events`` refuse a query without
    ``objectId``/``objectProperty.*``, as older HubSpot documentation describes the API ("returns
    events for one CRM record at a time"); the current reference accepts it (see routes_activity).
    """

    def __init__(self, store: Store, token: str, oauth: OAuthCredentials, *, tier: str | PortalTier = DEFAULT_TIER,
                 events_per_record_only: bool = False) -> None:
        self.store = store
        self.clock: SandboxClock = store.clock
        self.lists = ListStore(store)
        self.search_cache = SearchCache()
        self.token = token
        self.oauth = oauth
        self.tier = tier_named(tier)
        self.events_per_record_only = events_per_record_only
        self._issued: dict[str, int] = {}
        self._lock = threading.Lock()

    def issue_access_token(self) -> tuple[str, int]:
        """A new OAuth access token valid for 30 minutes of sandbox time."""
        token = f"sandbox-oauth-{secrets.token_hex(16)}"
        with self._lock:
            self._issued[token] = self.clock.now_ms() + ACCESS_TOKEN_TTL_S * 1000
        return token, ACCESS_TOKEN_TTL_S

    def authenticate(self, header: str) -> None:
        """401 as HubSpot answers unless the bearer token is the private-app or a live OAuth token."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if secrets.compare_digest(token, self.token):
            return
        with self._lock:
            expires = self._issued.get(token)
        if expires is None:
            raise ApiError(401, "Authentication credentials not found. The access token is invalid or has been revoked.", "INVALID_AUTHENTICATION")
        now = self.clock.now_ms()
        if now >= expires:
            minutes = max(1, (now - expires) // 60_000)
            raise ApiError(401, f"The OAuth token used to make this call expired {minutes} minute(s) ago.", "EXPIRED_AUTHENTICATION")


def paging_link(host: str, path: str, after: t.Any, extra: str = "") -> dict[str, t.Any]:
    """HubSpot's ``paging.next`` object."""
    sep = "&" if "?" in path else "?"
    return {"next": {"after": str(after), "link": f"http://{host}{path}{sep}after={after}{extra}"}}
