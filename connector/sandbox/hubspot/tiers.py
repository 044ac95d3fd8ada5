"""Subscription tiers: what a portal's plan changes in the API (rate limits, web-analytics events).

A connector written against an Enterprise portal meets two surprises on smaller plans, so the
sandbox can play either:

- Private-app limits per tier (https://developers.hubspot.com/docs/apps/legacy-apps/private-apps/overview,
  "Product Tier | Per 10 Seconds | Per Day"): Free and Starter 100 / 10 s and 250,000 / day,
  Professional 190 / 10 s and 625,000 / day, Enterprise 190 / 10 s and 1,000,000 / day. The CRM
  search API keeps its own 5 requests / s per account on every tier (the usage guidelines).
- Web-analytics events (``GET /events/v3/events``) need an Enterprise hub ("Requires one of the
  following products or higher: Marketing Hub Enterprise, Sales Hub Enterprise, Service Hub
  Enterprise, Content Hub Enterprise, Data Hub Enterprise",
  https://developers.hubspot.com/docs/guides/api/analytics-and-events/event-analytics), while the
  event-types list answers on every tier ("an event type only available to Enterprise
  subscriptions is returned for an account with a Professional subscription", same page).
"""

from __future__ import annotations

import dataclasses

from connector.sandbox.hubspot.errors import ApiError
from connector.sandbox.hubspot.ratelimit import RateLimit

__all__ = ["DEFAULT_TIER", "TIERS", "PortalTier", "tier_named"]


@dataclasses.dataclass(frozen=True)
class PortalTier:
    """What one subscription tier allows a private app."""

    name: str
    rate_limit: RateLimit
    daily_limit: int
    web_analytics: bool

    def require_web_analytics(self) -> None:
        """403 as a portal without an Enterprise hub answers ``GET /events/v3/events``.

        The message is HubSpot's own, typo included, as a free portal answered it
        (reported in https://github.com/PipedreamHQ/pipedream/issues/11810). Status 403 and
        category ``MISSING_SCOPES`` are HubSpot's answer for "the authentication provided does not
        have the proper permissions" (https://developers.hubspot.com/docs/api-reference/error-handling);
        the exact status of this very answer is not documented.
        """
        if not self.web_analytics:
            raise ApiError(
                403,
                "Your app doesn't the have scopes needed to make this call. Do you have access to the "
                "'business-intelligence' scope?  Missing auth details: event-detail-read,web-analytics-api-access",
                "MISSING_SCOPES",
            )


TIERS: dict[str, PortalTier] = {
    "free": PortalTier("free", RateLimit(100, 10.0), 250_000, web_analytics=False),
    "starter": PortalTier("starter", RateLimit(100, 10.0), 250_000, web_analytics=False),
    "professional": PortalTier("professional", RateLimit(190, 10.0), 625_000, web_analytics=False),
    "enterprise": PortalTier("enterprise", RateLimit(190, 10.0), 1_000_000, web_analytics=True),
}
DEFAULT_TIER = "enterprise"


def tier_named(name: str | PortalTier) -> PortalTier:
    """The tier of a name (case-insensitive); ``ValueError`` naming the choices otherwise."""
    if isinstance(name, PortalTier):
        return name
    found = TIERS.get(str(name).strip().lower())
    if found is None:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}, got {name!r}")
    return found
