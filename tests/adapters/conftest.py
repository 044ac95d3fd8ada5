"""Adapter tests against the HubSpot sandbox over real sockets, through hubspot-api-client."""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

import pytest

from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping, HubSpotSettings, RetryPolicy, load_mapping
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE_MAPPING = REPO / "mappings" / "hubspot.yaml"
MODEL = REPO / "mappings" / "models" / "b2b-saas.yaml"
#: A fixed sandbox instant: 2026-01-15T12:00:00Z.
T0 = 1_768_478_400_000


def at(ms: int) -> dt.datetime:
    """Epoch ms -> aware datetime."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


@pytest.fixture
def sandbox() -> t.Iterator[HubSpotSandbox]:
    """An empty portal, no rate limits or faults, frozen clock at ``T0``."""
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0, clock=SandboxClock(frozen_ms=T0)) as sb:
        yield sb


@pytest.fixture
def mapping() -> HubSpotMapping:
    """The documented example mapping."""
    return load_mapping(EXAMPLE_MAPPING)


class Sleeps(list):  # type: ignore[type-arg]
    """Records backoff sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_adapter(sb: HubSpotSandbox, mapping: HubSpotMapping, *, sleeps: Sleeps | None = None, **kwargs: t.Any) -> HubSpotAdapter:
    """An adapter on the sandbox with a fast retry policy (sleeps recorded, not slept)."""
    policy = RetryPolicy(attempts=6, initial=0.01, maximum=0.05, jitter=0.0, sleep=sleeps if sleeps is not None else Sleeps())
    return HubSpotAdapter(HubSpotSettings(access_token=sb.token, base_url=sb.base_url), mapping, policy=policy, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def adapter(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> t.Iterator[HubSpotAdapter]:
    """The adapter on the sandbox."""
    a = make_adapter(sandbox, mapping)
    yield a
    a.close()


def add_example_forms(sandbox: HubSpotSandbox) -> None:
    """The forms the example mapping names by name (the demo portal has them)."""
    for name in ("Contact us", "Request a demo", "Newsletter signup", "Download the e-book"):
        sandbox.store.forms.add(name, 0)
