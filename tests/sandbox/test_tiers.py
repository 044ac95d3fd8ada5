"""Portal tiers: private-app limits per plan, and no web-analytics events below Enterprise."""

from __future__ import annotations

import json

import pytest
import requests
from hubspot.events.exceptions import ApiException

from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.testing import sdk_client


def _session(sb: HubSpotSandbox) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {sb.token}"
    return session


@pytest.mark.parametrize(("tier", "per_10s", "daily"), [("free", 100, 250_000), ("starter", 100, 250_000),
                                                         ("professional", 190, 625_000), ("enterprise", 190, 1_000_000)])
def test_the_first_answer_names_the_tier_limits(tier: str, per_10s: int, daily: int) -> None:
    with HubSpotSandbox(tier=tier, search_rate=None) as sb, _session(sb) as http:
        first = http.get(sb.base_url + "/crm/v3/owners")
        assert first.headers["X-HubSpot-RateLimit-Max"] == str(per_10s)
        assert first.headers["X-HubSpot-RateLimit-Remaining"] == str(per_10s - 1)
        assert first.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert first.headers["X-HubSpot-RateLimit-Daily"] == str(daily)


def test_a_starter_portal_refuses_the_101st_request_in_ten_seconds() -> None:
    with HubSpotSandbox(tier="starter", search_rate=None) as sb, _session(sb) as http:
        statuses = [http.get(sb.base_url + "/crm/v3/owners").status_code for _ in range(101)]
        assert statuses[:100] == [200] * 100 and statuses[100] == 429
        assert http.get(sb.base_url + "/crm/v3/owners").json()["policyName"] == "TEN_SECONDLY_ROLLING"


def test_an_explicit_limit_overrides_the_tier() -> None:
    with HubSpotSandbox(tier="starter", rate_limit="7/10s") as sb, _session(sb) as http:
        assert http.get(sb.base_url + "/crm/v3/owners").headers["X-HubSpot-RateLimit-Max"] == "7"
        assert sb.app.limiter.limit is not None and sb.app.limiter.limit.max_requests == 7


@pytest.mark.parametrize("tier", ["free", "starter", "professional"])
def test_below_enterprise_events_answer_403_while_event_types_answer(tier: str) -> None:
    with HubSpotSandbox(tier=tier, rate_limit=None, search_rate=None) as sb:
        sdk = sdk_client(sb)
        assert "e_visited_page" in sdk.events.events_api.get_types().event_types
        with pytest.raises(ApiException) as refused:
            sdk.events.events_api.get_page(object_type="contact", event_type="e_visited_page")
        assert refused.value.status == 403
        body = json.loads(refused.value.body)
        assert body["category"] == "MISSING_SCOPES" and "web-analytics-api-access" in body["message"] and body["correlationId"]
        # everything else of the portal still answers: a connector can skip the one stream
        assert sdk.crm.owners.owners_api.get_page().results


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ValueError, match="starter"):
        HubSpotSandbox(tier="platinum")
