"""The adapter's public surface, its declaration, and that it offers everything the contract asks for."""

from __future__ import annotations

import connector.adapters.salesforce as salesforce_adapter
from connector.adapters import REGISTRY, adapter_spec
from tests.adapters.contract import assert_covers_the_contract


def test_exported_names() -> None:
    assert sorted(salesforce_adapter.__all__) == ["ADAPTER", "RetryPolicy", "SalesforceAdapter", "SalesforceMapping", "SalesforceSettings", "load_mapping", "salesforce_settings"]
    for name in salesforce_adapter.__all__:
        assert hasattr(salesforce_adapter, name)


def test_registered_by_one_line_and_declared() -> None:
    assert REGISTRY["salesforce"] == "connector.adapters.salesforce"
    spec = adapter_spec("salesforce")
    assert spec is salesforce_adapter.ADAPTER
    assert (spec.name, spec.max_batch_size, spec.max_text_length, spec.base_url_env, spec.ca_bundle_env) == ("salesforce", 200, 1000, "SALESFORCE_INSTANCE_URL", "SALESFORCE_CA_BUNDLE")
    assert (spec.rate_limits.requests, spec.rate_limits.per_seconds, spec.rate_limits.daily) == (25, 1.0, 100_000)
    assert set(spec.credential_roles) == {"client_id", "client_secret", "username", "password", "security_token", "jwt_key_file", "refresh_token", "domain", "api_version", "pubsub_url"}


def test_adapter_covers_the_contract() -> None:
    adapter_cls = salesforce_adapter.SalesforceAdapter
    assert adapter_cls.max_batch_size == 200
    assert_covers_the_contract(adapter_cls)
