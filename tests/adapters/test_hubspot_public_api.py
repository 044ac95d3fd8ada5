"""The adapter's public surface, and that it offers everything the CRMAdapter contract asks for."""

from __future__ import annotations

import inspect

import connector.adapters.hubspot as hubspot_adapter
from connector.adapters.base import CRMAdapter


def test_exported_names() -> None:
    assert sorted(hubspot_adapter.__all__) == [
        "EnvNames", "HubSpotAdapter", "HubSpotMapping", "HubSpotSettings", "RetryPolicy", "load_mapping", "settings_from_env",
    ]
    for name in hubspot_adapter.__all__:
        assert hasattr(hubspot_adapter, name)


def test_adapter_covers_the_contract() -> None:
    adapter_cls = hubspot_adapter.HubSpotAdapter
    assert adapter_cls.kind == "hubspot" and adapter_cls.max_batch_size == 100
    for name, member in inspect.getmembers(CRMAdapter, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = getattr(adapter_cls, name)
        wanted = list(inspect.signature(member).parameters)
        have = list(inspect.signature(ours).parameters)
        assert have[: len(wanted)] == wanted, f"{name}{inspect.signature(ours)} vs contract {inspect.signature(member)}"
