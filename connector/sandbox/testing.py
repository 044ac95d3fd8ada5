"""Pytest helpers: a fixture factory that runs a HubSpot sandbox for a test.

from connector.sandbox.testing import hubspot_sandbox_fixture
hubspot_sandbox = hubspot_sandbox_fixture(seed="empty", rate_limit=None)

def test_pull(hubspot_sandbox): ...   # a started HubSpotSandbox, stopped after the test
"""

from __future__ import annotations

import typing as t

from connector.sandbox.hubspot import HubSpotSandbox

__all__ = ["hubspot_sandbox_fixture", "sdk_client"]


def hubspot_sandbox_fixture(scope: str = "function", **options: t.Any) -> t.Any:
    """A pytest fixture yielding a started ``HubSpotSandbox(**options)`` (defaults: empty, no limits)."""
    import pytest

    settings: dict[str, t.Any] = {"seed": "empty", "rate_limit": None, "search_rate": None, "faults": 0.0}
    settings.update(options)

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fixture() -> t.Iterator[HubSpotSandbox]:
        with HubSpotSandbox(**settings) as sandbox:
            yield sandbox

    return _fixture


def sdk_client(sandbox: HubSpotSandbox, access_token: str | None = None) -> t.Any:
    """A ``hubspot.HubSpot`` client pointed at the sandbox (typed APIs and ``api_request``), client-side validation on."""
    from hubspot import HubSpot

    return HubSpot(access_token=access_token or sandbox.token, host=sandbox.base_url, base_url=sandbox.base_url, client_side_validation=True)
