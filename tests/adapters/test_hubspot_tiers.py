"""Portals below Enterprise: ``check`` says the web-events stream is not offered and what that means."""

from __future__ import annotations

import typing as t

import pytest

from connector.adapters.hubspot import HubSpotMapping
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock
from tests.adapters.conftest import T0, add_example_forms, make_adapter


@pytest.fixture(params=["professional", "enterprise"])
def tiered(request: pytest.FixtureRequest) -> t.Iterator[HubSpotSandbox]:
    with HubSpotSandbox(rate_limit=None, search_rate=None, clock=SandboxClock(frozen_ms=T0), tier=request.param) as sb:
        yield sb


def test_check_reports_web_events_the_portal_does_not_offer(tiered: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    add_example_forms(tiered)
    adapter = make_adapter(tiered, mapping)
    problems = [p for p in adapter.check([]) if p.key.startswith("activities.web_events")]
    if tiered.portal.tier.web_analytics:
        assert problems == []
        return
    (problem,) = problems
    assert problem.key == "activities.web_events.enabled" and problem.line > 0
    assert "Enterprise" in problem.message and "web_events.enabled: false" in problem.message


@pytest.mark.parametrize(("tier", "limit"), [("starter", 100), ("professional", 190)])
def test_the_limiter_keeps_to_the_smallest_plan_until_the_first_answer_names_the_portals(tier: str, limit: int, mapping: HubSpotMapping) -> None:
    from connector.adapters.hubspot import ADAPTER
    from connector.sync.ratelimit import RateLimiter

    gate = RateLimiter.from_limits(ADAPTER.rate_limits)
    assert gate.default.limit == 100, "before any answer: a Starter portal's 100 per 10 s"
    with HubSpotSandbox(clock=SandboxClock(frozen_ms=T0), tier=tier, search_rate=None) as sb:
        adapter = make_adapter(sb, mapping, gate=gate)
        adapter.portal_properties()  # one ordinary call: its answer carries X-HubSpot-RateLimit-Max
        adapter.close()
        assert [r.status for r in sb.requests] == [200]
    assert (gate.default.limit, gate.default.interval) == (limit, 10.0)
