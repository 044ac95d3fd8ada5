"""HubSpot sandbox: a local server speaking HubSpot's wire protocol for the endpoints the connector uses.

See docs/sandbox.md. Independent of ``connector.adapters`` by design (two readings of the docs).
"""

from __future__ import annotations

from connector.sandbox.hubspot.clock import SandboxClock, iso_ms, parse_time_ms
from connector.sandbox.hubspot.faults import ALL_KINDS, FaultPlan
from connector.sandbox.hubspot.portal import OAuthCredentials
from connector.sandbox.hubspot.ratelimit import RateLimit, parse_rate
from connector.sandbox.hubspot.sandbox import HubSpotSandbox
from connector.sandbox.hubspot.store import Record, Store
from connector.sandbox.hubspot.tiers import TIERS, PortalTier
from connector.sandbox.requestlog import RequestRecord

__all__ = [
    "ALL_KINDS",
    "TIERS",
    "FaultPlan",
    "HubSpotSandbox",
    "OAuthCredentials",
    "PortalTier",
    "RateLimit",
    "Record",
    "RequestRecord",
    "SandboxClock",
    "Store",
    "iso_ms",
    "parse_rate",
    "parse_time_ms",
]
