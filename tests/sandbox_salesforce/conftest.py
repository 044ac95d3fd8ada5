"""Fixtures: one HTTPS Salesforce sandbox per test module, reset to an empty org before each test."""

from __future__ import annotations

import typing as t

import pytest
import requests

from connector.sandbox.salesforce import SalesforceSandbox
from connector.sandbox.testing import salesforce_client, trusting_session


@pytest.fixture(scope="module")
def module_sandbox() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="empty", bulk_delay_s=0.05) as sandbox:
        yield sandbox


@pytest.fixture()
def sandbox(module_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    """A started sandbox with a fresh empty org (users only), no faults, no usage."""
    module_sandbox.reset()
    return module_sandbox


@pytest.fixture()
def sf(sandbox: SalesforceSandbox) -> t.Any:
    """simple-salesforce on the sandbox with an integration-user session, over HTTPS trusting the sandbox CA."""
    return salesforce_client(sandbox)


@pytest.fixture()
def http(sandbox: SalesforceSandbox) -> t.Iterator[requests.Session]:
    """A raw session with a Bearer token, for wire-level assertions (URLs are absolute)."""
    session = trusting_session(sandbox.ca_path)
    session.headers["Authorization"] = f"Bearer {sandbox.new_session()}"
    yield session
    session.close()
