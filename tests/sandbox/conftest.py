"""Fixtures for the sandbox tests: an empty sandbox without limits, and an SDK client on it."""

from __future__ import annotations

import typing as t

import pytest
import requests

from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.testing import hubspot_sandbox_fixture, sdk_client

sandbox = hubspot_sandbox_fixture()


@pytest.fixture()
def sdk(sandbox: HubSpotSandbox) -> t.Any:
    """hubspot-api-client 12 pointed at the sandbox, client-side validation on (the default)."""
    return sdk_client(sandbox)


@pytest.fixture()
def http(sandbox: HubSpotSandbox) -> t.Iterator[requests.Session]:
    """A raw HTTP session with the sandbox token, for wire-level assertions."""
    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {sandbox.token}"
    yield session
    session.close()
