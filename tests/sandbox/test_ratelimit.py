"""Rolling-window limits: headers on normal answers, 429 + Retry-After past the limit."""

from __future__ import annotations

import pytest
import requests

from connector.sandbox.hubspot import HubSpotSandbox, RateLimit, parse_rate
from connector.sandbox.hubspot.ratelimit import RateLimiter


def test_parse_rate() -> None:
    assert parse_rate("190/10s") == RateLimit(190, 10.0)
    assert parse_rate("5/s") == RateLimit(5, 1.0)
    assert parse_rate("none") is None
    with pytest.raises(ValueError, match="190/10s"):
        parse_rate("fast")


def test_window_rolls_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(RateLimit(2, 10), now=lambda: now[0])
    assert limiter.admit().allowed and limiter.admit().remaining == 0
    refused = limiter.admit()
    assert not refused.allowed and refused.retry_after_s == 10
    now[0] = 10.5
    assert limiter.admit().allowed


def test_general_limit_over_http() -> None:
    with HubSpotSandbox(rate_limit="3/10s", search_rate="1/s") as sb:
        headers = {"Authorization": f"Bearer {sb.token}"}
        answers = [requests.get(sb.base_url + "/crm/v3/owners", headers=headers) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-HubSpot-RateLimit-Max"] == "3"
        assert answers[0].headers["X-HubSpot-RateLimit-Remaining"] == "2"
        assert answers[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
        assert "X-HubSpot-RateLimit-Daily-Remaining" in answers[0].headers
        limited = answers[3]
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["errorType"] == "RATE_LIMIT" and limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
        # search has its own per-second limit, untouched by the general window
        search = [requests.post(sb.base_url + "/crm/v3/objects/contacts/search", json={}, headers=headers) for _ in range(2)]
        assert [a.status_code for a in search] == [200, 429]
        assert sum(1 for r in sb.requests if r.status == 429) == 2


def test_error_answers_carry_limit_headers_too() -> None:
    with HubSpotSandbox(rate_limit="10/10s") as sb:
        answer = requests.get(sb.base_url + "/crm/v3/objects/contacts/424242", headers={"Authorization": f"Bearer {sb.token}"})
        assert answer.status_code == 404 and answer.headers["X-HubSpot-RateLimit-Remaining"] == "9"
