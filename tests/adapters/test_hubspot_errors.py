"""Over real sockets: faults retried (Retry-After honoured), every attempt gated, 401 explained, OAuth refresh."""

from __future__ import annotations

import typing as t

import pytest

from connector.adapters.base import CRMError, FieldUpdate, OutputSpec, RateLimitInfo
from connector.adapters.hubspot import HubSpotAdapter, HubSpotMapping, HubSpotSettings
from connector.sandbox.hubspot import HubSpotSandbox
from tests.adapters.conftest import T0, Sleeps, at, make_adapter


class RecordingGate:
    def __init__(self) -> None:
        self.before: list[str] = []
        self.after: list[int] = []

    def before_request(self, kind: str) -> None:
        self.before.append(kind)

    def after_response(self, status: int, info: RateLimitInfo) -> None:
        self.after.append(status)


def test_faults_are_retried_and_nothing_is_lost(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    ids = set(sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(1200)], modified_at_ms=T0))
    sleeps = Sleeps()
    gate = RecordingGate()
    adapter = make_adapter(sandbox, mapping, sleeps=sleeps, gate=gate)
    adapter.setup([OutputSpec("acme_score", "number")])
    sandbox.set_faults(rate=0.3, seed=11, kinds=("429", "500", "502", "503", "drop"))
    sandbox.requests_clear()
    gate.before.clear()
    gate.after.clear()
    calls_before = adapter.stats.calls
    pulled = {c.id for p in adapter.pull_contacts(None, at(T0)) for c in p.records}
    result = adapter.push([FieldUpdate(i, {"acme_score": 7}) for i in sorted(ids)][:100])
    sandbox.set_faults(rate=0.0)
    assert pulled == ids
    assert len(result.written) == 100 and result.failed == {}
    stats = adapter.stats
    assert stats.retries > 0 and stats.rate_limited > 0
    assert 1.0 in sleeps, "the sandbox's Retry-After: 1 on 429 was honoured"
    # every attempt, retries included, passed the gate; answered ones were reported back
    assert len(gate.before) == stats.calls - calls_before == len(sandbox.requests)
    dropped = sum(1 for r in sandbox.requests if r.fault == "drop")
    assert dropped > 0 and len(gate.after) == len(sandbox.requests) - dropped
    assert stats.by_endpoint["POST crm/objects/contacts/search"] >= 7


def test_search_requests_are_gated_as_search(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    gate = RecordingGate()
    adapter = make_adapter(sandbox, mapping, gate=gate)
    list(adapter.pull_contacts(None, at(T0)))
    adapter.portal_properties()
    assert gate.before == ["search", "default"]


def test_401_gives_a_clear_message_without_the_token(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    adapter = HubSpotAdapter(HubSpotSettings(access_token="pat-wrong-secret", base_url=sandbox.base_url), mapping)  # type: ignore[arg-type]
    with pytest.raises(CRMError) as info:
        list(adapter.pull_contacts(None, at(T0)))
    message = str(info.value)
    assert "token invalid or missing scope crm.objects.contacts.read" in message
    assert "pat-wrong-secret" not in message and info.value.status == 401 and not info.value.retryable


def test_exhausted_retries_become_a_retryable_crm_error(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    adapter = make_adapter(sandbox, mapping)
    sandbox.set_faults(rate=1.0, seed=1, kinds=("503",))
    with pytest.raises(CRMError) as info:
        adapter.portal_properties()
    assert info.value.retryable and info.value.status == 503
    assert adapter.stats.calls == 6 and adapter.stats.retries == 5


def test_oauth_refresh_token_flow_and_renewal_after_expiry(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    creds = sandbox.oauth
    settings = HubSpotSettings(client_id=creds.client_id, client_secret=creds.client_secret, refresh_token=creds.refresh_token, base_url=sandbox.base_url)  # type: ignore[arg-type]
    adapter = HubSpotAdapter(settings, mapping)
    sandbox.store.add_contacts([{"email": "a@x.io"}], modified_at_ms=T0)
    assert len([c for p in adapter.pull_contacts(None, at(T0)) for c in p.records]) == 1
    assert adapter.stats.by_endpoint.get("POST oauth/token") == 1
    sandbox.clock.advance(hours=2)  # the sandbox expires the access token on its clock
    assert len([c for p in adapter.pull_contacts(None, at(T0)) for c in p.records]) == 1
    assert adapter.stats.by_endpoint.get("POST oauth/token") == 2
    assert creds.client_secret not in repr(adapter.client.auth)


def test_bad_refresh_token_explains_what_to_check(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    settings = HubSpotSettings(client_id=sandbox.oauth.client_id, client_secret="wrong-secret", refresh_token="wrong-refresh", base_url=sandbox.base_url)  # type: ignore[arg-type]
    adapter = HubSpotAdapter(settings, mapping)
    with pytest.raises(CRMError, match="OAuth token refresh failed.*HUBSPOT_REFRESH_TOKEN") as info:
        adapter.portal_properties()
    assert "wrong-secret" not in str(info.value) and "wrong-refresh" not in str(info.value)


def test_slow_answers_time_out_and_are_retried(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    from connector.adapters.hubspot import RetryPolicy

    sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(30)], modified_at_ms=T0)
    sleeps = Sleeps()
    policy = RetryPolicy(attempts=8, initial=0.01, maximum=0.05, jitter=0.0, sleep=sleeps, timeout=(2.0, 0.3))
    adapter = HubSpotAdapter(HubSpotSettings(access_token=sandbox.token, base_url=sandbox.base_url), mapping, policy=policy)  # type: ignore[arg-type]
    sandbox.set_faults(rate=0.5, seed=5, kinds=("slow",), slow_seconds=0.6)
    pulled = [c for p in adapter.pull_contacts(None, at(T0)) for c in p.records]
    for _ in range(6):
        props = adapter.portal_properties(refresh=True)
    sandbox.set_faults(rate=0.0)
    assert len(pulled) == 30 and "email" in props
    assert adapter.stats.retries >= 1 and sleeps


def test_only_mapped_properties_are_requested(sandbox: HubSpotSandbox, mapping: HubSpotMapping) -> None:
    adapter = make_adapter(sandbox, mapping)
    sandbox.store.add_contacts([{"email": "a@x.io", "jobtitle": "CTO", "city": "Oslo"}], modified_at_ms=T0)
    seen = []
    real = adapter.client.contacts_search.do_search

    def spy(**kwargs: t.Any) -> t.Any:
        seen.append(kwargs["public_object_search_request"])
        return real(**kwargs)

    adapter.client.contacts_search.do_search = spy  # type: ignore[method-assign]
    (_contact,) = [c for p in adapter.pull_contacts(None, at(T0)) for c in p.records]
    request = seen[0]
    mapped = {spec.property for spec in mapping.contacts.properties.values()} | set(mapping.contacts.stage_dates.values())
    assert set(request.properties) == mapped | {"email", "hubspot_owner_id", "lastmodifieddate", "hs_object_id"}
    assert "city" not in request.properties and request.limit == 200
    assert request.sorts == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
