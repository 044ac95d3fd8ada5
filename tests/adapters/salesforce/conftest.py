"""Salesforce adapter tests: one HTTPS sandbox per module (empty org, frozen clock), the adapter built from its variables."""

from __future__ import annotations

import pathlib
import typing as t

import pytest

from connector.adapters import adapter_spec
from connector.adapters.base import NoGate, RequestGate
from connector.adapters.salesforce import RetryPolicy, SalesforceAdapter, load_mapping, salesforce_settings
from connector.adapters.salesforce.settings import CREDENTIAL_ROLES
from connector.adapters.settings import read_settings
from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox

REPO = pathlib.Path(__file__).resolve().parents[3]
MAPPING = REPO / "tests" / "sync" / "data" / "salesforce.yaml"
MODEL = REPO / "mappings" / "models" / "b2b-saas.yaml"
#: 2026-01-15T12:00:00Z
T0 = 1_768_478_400_000


@pytest.fixture(scope="module")
def module_sandbox() -> t.Iterator[SalesforceSandbox]:
    with SalesforceSandbox(seed="empty", bulk_delay_s=0.02, clock=SandboxClock(frozen_ms=T0)) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(module_sandbox: SalesforceSandbox) -> SalesforceSandbox:
    """A fresh empty org (users only), no faults, no usage."""
    module_sandbox.reset()
    return module_sandbox


class Sleeps(list):  # type: ignore[type-arg]
    """Records backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_adapter(sb: SalesforceSandbox, *, gate: RequestGate | None = None, drop: t.Sequence[str] = (), mapping: pathlib.Path = MAPPING, **env: str) -> SalesforceAdapter:
    """The adapter on the sandbox, from the variables it prints (``drop``: leave some out), fast retries."""
    environ = {k: v for k, v in {**sb.env(), **env}.items() if k not in drop}
    settings = read_settings(adapter_spec("salesforce"), crm="sf", mapping=mapping, environ=environ)
    policy = RetryPolicy(attempts=6, initial=0.001, maximum=0.01, sleep=Sleeps())
    return SalesforceAdapter(salesforce_settings(settings), load_mapping(mapping), gate=gate or NoGate(), policy=policy)


@pytest.fixture
def adapter(sandbox: SalesforceSandbox) -> t.Iterator[SalesforceAdapter]:
    a = make_adapter(sandbox)
    yield a
    a.close()


__all__ = ["CREDENTIAL_ROLES", "MAPPING", "MODEL", "T0", "Sleeps", "make_adapter"]
