"""Pytest helpers: fixture factories that run a HubSpot or Salesforce sandbox for a test.

from connector.sandbox.testing import hubspot_sandbox_fixture
hubspot_sandbox = hubspot_sandbox_fixture(seed="empty", rate_limit=None)

def test_pull(hubspot_sandbox): ...   # a started HubSpotSandbox, stopped after the test

salesforce_sandbox = salesforce_sandbox_fixture(seed="empty")
def test_query(salesforce_sandbox): sf = salesforce_client(salesforce_sandbox)   # simple-salesforce over HTTPS, trusting the sandbox CA
"""

from __future__ import annotations

import typing as t

from connector.sandbox.hubspot import HubSpotSandbox

if t.TYPE_CHECKING:
    import requests

    from connector.sandbox.salesforce import SalesforceSandbox
    from connector.sandbox.serving import Served

__all__ = ["hubspot_sandbox_fixture", "salesforce_client", "salesforce_sandbox_fixture", "sdk_client", "trusting_session"]


def _fixture_of(cls: type[Served], defaults: dict[str, t.Any], scope: str, options: dict[str, t.Any]) -> t.Any:
    """A pytest fixture yielding a started ``cls(**defaults, **options)``, stopped after use."""
    import pytest

    settings = {**defaults, **options}

    @pytest.fixture(scope=scope)  # type: ignore[call-overload]
    def _fixture() -> t.Iterator[Served]:
        with cls(**settings) as sandbox:
            yield sandbox

    return _fixture


def hubspot_sandbox_fixture(scope: str = "function", **options: t.Any) -> t.Any:
    """A pytest fixture yielding a started ``HubSpotSandbox(**options)`` (defaults: empty, no limits)."""
    return _fixture_of(HubSpotSandbox, {"seed": "empty", "rate_limit": None, "search_rate": None, "faults": 0.0}, scope, options)


def sdk_client(sandbox: HubSpotSandbox, access_token: str | None = None) -> t.Any:
    """A ``hubspot.HubSpot`` client pointed at the sandbox (typed APIs and ``api_request``), client-side validation on."""
    from hubspot import HubSpot

    return HubSpot(access_token=access_token or sandbox.token, host=sandbox.base_url, base_url=sandbox.base_url, client_side_validation=True)


def salesforce_sandbox_fixture(scope: str = "function", **options: t.Any) -> t.Any:
    """A pytest fixture yielding a started ``SalesforceSandbox(**options)`` (defaults: empty org, no faults, quick Bulk jobs)."""
    from connector.sandbox.salesforce import SalesforceSandbox

    return _fixture_of(SalesforceSandbox, {"seed": "empty", "faults": 0.0, "bulk_delay_s": 0.05}, scope, options)


def trusting_session(ca_path: str) -> requests.Session:
    """A ``requests.Session`` that verifies TLS with ``ca_path`` only.

    ``trust_env=False`` matters: with ``REQUESTS_CA_BUNDLE`` set in the environment, requests would
    otherwise verify against that bundle and ignore ``Session.verify``.
    """
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = ca_path
    return session


def salesforce_client(sandbox: SalesforceSandbox, session_id: str | None = None) -> t.Any:
    """A ``simple_salesforce.Salesforce`` on the sandbox with a fresh integration-user session (or ``session_id``)."""
    from simple_salesforce import Salesforce

    return Salesforce(instance_url=sandbox.instance_url, session_id=session_id or sandbox.new_session(), session=trusting_session(sandbox.ca_path))
