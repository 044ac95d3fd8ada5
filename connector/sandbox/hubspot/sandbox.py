"""``HubSpotSandbox``: a portal served on a free 127.0.0.1 port, for tests, benchmarks and the CLI.

with HubSpotSandbox(seed="empty", rate_limit=None, faults=0.0) as sb:
sb.base_url, sb.token, sb.store.add_contacts([...]), sb.clock.advance(days=1), sb.requests
"""

from __future__ import annotations

import secrets
import typing as t

from connector.sandbox.hubspot.app import HubSpotApp
from connector.sandbox.hubspot.clock import SandboxClock
from connector.sandbox.hubspot.faults import ALL_KINDS, FaultPlan
from connector.sandbox.hubspot.lists import ListStore
from connector.sandbox.hubspot.portal import OAuthCredentials, Portal
from connector.sandbox.hubspot.ratelimit import RateLimit, parse_rate
from connector.sandbox.hubspot.seed import load_demo, load_owners
from connector.sandbox.hubspot.store import Store
from connector.sandbox.hubspot.tiers import DEFAULT_TIER, PortalTier, tier_named
from connector.sandbox.hubspot.webhooks import WebhookSender
from connector.sandbox.serving import Served

__all__ = ["TIER_LIMIT", "HubSpotSandbox"]

#: ``rate_limit`` value meaning "the limit of the portal's tier" (190/10s for Enterprise).
TIER_LIMIT = "tier"


def _rate(value: str | RateLimit | None, tier: PortalTier) -> RateLimit | None:
    if value == TIER_LIMIT:
        return tier.rate_limit
    return value if isinstance(value, RateLimit) or value is None else parse_rate(value)


class HubSpotSandbox(Served):
    """A running (after :meth:`start` or ``with``) HubSpot sandbox (lifecycle from :class:`connector.sandbox.serving.Served`)."""

    app: HubSpotApp

    def __init__(
        self,
        *,
        seed: str = "empty",
        seed_contacts: int = 5000,
        random_seed: int = 42,
        token: str | None = None,
        port: int = 0,
        rate_limit: str | RateLimit | None = TIER_LIMIT,
        search_rate: str | RateLimit | None = "5/s",
        faults: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: t.Sequence[str] = ALL_KINDS,
        fault_writes: str = "skip",
        slow_seconds: float = 1.0,
        clock: SandboxClock | None = None,
        oauth: OAuthCredentials | None = None,
        tier: str | PortalTier = DEFAULT_TIER,
        events_per_record_only: bool = False,
    ) -> None:
        if seed not in ("empty", "demo"):
            raise ValueError(f"seed must be 'empty' or 'demo', got {seed!r}")
        plan_tier = tier_named(tier)
        self.clock = clock or SandboxClock()
        self.store = Store(self.clock)
        self.token = token or f"sandbox-pat-{secrets.token_hex(16)}"
        self.oauth = oauth or OAuthCredentials.generate()
        self.portal = Portal(self.store, self.token, self.oauth, tier=plan_tier, events_per_record_only=events_per_record_only)
        plan = FaultPlan(rate=faults, seed=fault_seed, kinds=tuple(fault_kinds), writes=fault_writes, slow_seconds=slow_seconds)
        self.app = HubSpotApp(self.portal, _rate(rate_limit, plan_tier), _rate(search_rate, plan_tier), plan)
        load_owners(self.store)
        if seed == "demo":
            load_demo(self.store, contacts=seed_contacts, seed=random_seed)
        self.request_log = self.app.log
        self._port = port
        self.webhooks: WebhookSender | None = None

    # ---- what tests use ------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, the value for ``HUBSPOT_BASE_URL``."""
        return self.url

    @property
    def lists(self) -> ListStore:
        """The portal's lists."""
        return self.portal.lists

    def set_faults(self, rate: float, seed: int = 0, kinds: t.Sequence[str] = ALL_KINDS, writes: str = "skip", slow_seconds: float = 1.0) -> None:
        """Change fault injection while running."""
        self.app.configure_faults(FaultPlan(rate=rate, seed=seed, kinds=tuple(kinds), writes=writes, slow_seconds=slow_seconds))

    def send_webhooks(self, target_url: str, *, properties: t.Collection[str] | None = None, **options: t.Any) -> WebhookSender:
        """Send contact changes from now on to ``target_url``, signed with the app's client secret (see :mod:`.webhooks`)."""
        if self.webhooks is not None:
            self.webhooks.stop()
        self.webhooks = WebhookSender(self.store, target_url, self.oauth.client_secret, properties=properties, **options).start()
        return self.webhooks

    def _stopped(self) -> None:
        if self.webhooks is not None:
            self.webhooks.stop()
            self.webhooks = None

    def env(self) -> dict[str, str]:
        """The settings a connector needs, as environment variables."""
        return {
            "HUBSPOT_BASE_URL": self.base_url,
            "HUBSPOT_ACCESS_TOKEN": self.token,
            "HUBSPOT_CLIENT_ID": self.oauth.client_id,
            "HUBSPOT_CLIENT_SECRET": self.oauth.client_secret,
            "HUBSPOT_REFRESH_TOKEN": self.oauth.refresh_token,
        }
