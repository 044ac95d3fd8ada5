"""Salesforce's fault kinds on top of the shared seeded injector (:mod:`connector.sandbox.faults`).

What an org does on a bad day: a 500 ``UNKNOWN_EXCEPTION`` with an ErrorId, a 503
``SERVER_UNAVAILABLE``, an edge proxy's HTML 502, a dropped socket, a slow answer (which also counts
toward the concurrent long-request limit while it runs). Salesforce never answers 429 on the REST API
(its limits answer 403 ``REQUEST_LIMIT_EXCEEDED``), so there is no 429 kind.
"""

from __future__ import annotations

import typing as t

from connector.sandbox import faults

__all__ = ["ALL_KINDS", "SalesforceFaultPlan"]

ALL_KINDS = ("500", "502", "503", "drop", "slow")


class SalesforceFaultPlan(faults.FaultPlan):
    """A fault plan whose kinds are Salesforce's (default: all of them)."""

    known_kinds: t.ClassVar[tuple[str, ...]] = ALL_KINDS
