"""HubSpot's fault kinds on top of the shared seeded injector (:mod:`connector.sandbox.faults`).

HubSpot on a bad day answers 429s, 5xx JSON errors, an edge proxy's HTML 502, drops sockets or
answers slowly; the app renders each kind (``HubSpotApp._fault``).
"""

from __future__ import annotations

import typing as t

from connector.sandbox import faults

__all__ = ["ALL_KINDS", "FaultInjector", "FaultPlan"]

ALL_KINDS = ("429", "500", "502", "503", "drop", "slow")

FaultInjector = faults.FaultInjector


class FaultPlan(faults.FaultPlan):
    """A fault plan whose kinds are HubSpot's (default: all of them)."""

    known_kinds: t.ClassVar[tuple[str, ...]] = ALL_KINDS
