"""The adapter's public surface, its declaration, and that it offers everything the contract asks for."""

from __future__ import annotations

import connector.adapters.hubspot as hubspot_adapter
from connector.adapters import REGISTRY, adapter_spec
from tests.adapters.contract import assert_covers_the_contract


def test_exported_names() -> None:
    assert sorted(hubspot_adapter.__all__) == ["ADAPTER", "HubSpotAdapter", "HubSpotMapping", "HubSpotSettings", "RetryPolicy", "load_mapping"]
    for name in hubspot_adapter.__all__:
        assert hasattr(hubspot_adapter, name)


def test_registered_by_one_line_and_declared() -> None:
    assert REGISTRY["hubspot"] == "connector.adapters.hubspot"
    spec = adapter_spec("hubspot")
    assert spec is hubspot_adapter.ADAPTER
    assert (spec.name, spec.max_batch_size, spec.max_text_length) == ("hubspot", 100, 500)
    assert (spec.rate_limits.requests, spec.rate_limits.per_seconds, spec.rate_limits.searches_per_second, spec.rate_limits.daily) == (190, 10.0, 5.0, None)
    assert set(spec.credential_roles) == {"access_token", "client_id", "client_secret", "refresh_token"}


def test_adapter_covers_the_contract() -> None:
    adapter_cls = hubspot_adapter.HubSpotAdapter
    assert adapter_cls.max_batch_size == 100
    assert_covers_the_contract(adapter_cls)
