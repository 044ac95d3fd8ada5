"""Writing outputs back: 100 per call, values formatted per property type, partial failures kept apart."""

from __future__ import annotations

import datetime as dt

from connector.adapters.base import FieldUpdate
from connector.adapters.hubspot import HubSpotAdapter
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_model
from tests.adapters.conftest import MODEL, T0


def _setup(adapter: HubSpotAdapter) -> None:
    adapter.setup(specs_from_models([load_model(MODEL)]))


def test_push_nothing_makes_no_call(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    sandbox.requests_clear()
    result = adapter.push([])
    assert result.written == [] and result.failed == {}
    assert sandbox.requests == [] and adapter.stats.calls == 0


def test_values_are_written_as_hubspot_expects(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    _setup(adapter)
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    scored_at = dt.datetime(2026, 1, 15, 12, 0, 0, 250000, tzinfo=dt.UTC)
    result = adapter.push([FieldUpdate(cid, {"b2b_saas_score": 87.0, "b2b_saas_fit": 42.5, "b2b_saas_grade": "A", "b2b_saas_scored_at": scored_at, "b2b_saas_reasons": "job title +25"})])
    assert result.written == [cid] and result.failed == {}
    stored = sandbox.store.get("contacts", cid).properties  # type: ignore[union-attr]
    assert stored["b2b_saas_score"] == "87"
    assert stored["b2b_saas_fit"] == "42.5"
    assert stored["b2b_saas_grade"] == "A"
    assert stored["b2b_saas_scored_at"] in (str(int(scored_at.timestamp() * 1000)), "2026-01-15T12:00:00.250Z")
    assert stored["b2b_saas_reasons"] == "job title +25"


def test_batches_of_100(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    _setup(adapter)
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(250)])
    sandbox.requests_clear()
    result = adapter.push([FieldUpdate(i, {"b2b_saas_score": n}) for n, i in enumerate(ids)])
    assert sorted(result.written) == sorted(ids)
    updates = [r for r in sandbox.requests if r.path.endswith("/batch/update")]
    assert len(updates) == 3


def test_partial_failure_keeps_the_successes_and_says_why(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    _setup(adapter)
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(5)])
    result = adapter.push([FieldUpdate(i, {"b2b_saas_score": 10}) for i in ids] + [FieldUpdate("999999", {"b2b_saas_score": 10})])
    assert sorted(result.written) == sorted(ids)
    reason, retry = result.failed["999999"]
    assert "OBJECT_NOT_FOUND" in reason and retry is False
    assert all(sandbox.store.get("contacts", i).properties["b2b_saas_score"] == "10" for i in ids)  # type: ignore[union-attr]


def test_one_invalid_value_does_not_sink_its_batch(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    """HubSpot rejects the whole batch (400) for one bad option; the writer isolates that record."""
    _setup(adapter)
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(8)])
    updates = [FieldUpdate(i, {"b2b_saas_grade": "B"}) for i in ids]
    updates[5] = FieldUpdate(ids[5], {"b2b_saas_grade": "Z"})
    result = adapter.push(updates)
    assert sorted(result.written) == sorted(ids[:5] + ids[6:])
    reason, retry = result.failed[ids[5]]
    assert "INVALID_OPTION" in reason or "not valid" in reason
    assert retry is False


def test_unknown_and_read_only_properties_fail_clearly(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    result = adapter.push([FieldUpdate(cid, {"no_such_output": 1})])
    assert result.written == [] and "PROPERTY_DOESNT_EXIST" in result.failed[cid][0] and result.failed[cid][1] is False
    result = adapter.push([FieldUpdate(cid, {"hs_object_id": 5})])
    assert "READ_ONLY" in result.failed[cid][0]


def test_outputs_are_renamed_by_the_mapping(sandbox: HubSpotSandbox, mapping: object) -> None:
    from connector.adapters.hubspot.mapping import HubSpotMapping
    from tests.adapters.conftest import make_adapter

    renamed = HubSpotMapping.model_validate({"crm": "hubspot", "outputs": {"properties": {"b2b_saas_score": "firstname"}}})
    adapter = make_adapter(sandbox, renamed)
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}], modified_at_ms=T0)
    assert adapter.push([FieldUpdate(cid, {"b2b_saas_score": 12})]).written == [cid]
    assert sandbox.store.get("contacts", cid).properties["firstname"] == "12"  # type: ignore[union-attr]


def test_an_unknown_property_fails_its_records_in_one_call_not_by_halving(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    _setup(adapter)
    ids = sandbox.store.add_contacts([{"email": f"c{i}@x.io"} for i in range(100)])
    updates = [FieldUpdate(i, {"b2b_saas_score": 5, "no_such_output": 1} if n % 2 else {"b2b_saas_score": 5}) for n, i in enumerate(ids)]
    sandbox.requests_clear()
    result = adapter.push(updates)
    assert sorted(result.written) == sorted(ids[0::2])
    assert set(result.failed) == set(ids[1::2])
    assert all(reason.startswith("PROPERTY_DOESNT_EXIST") and not retry for reason, retry in result.failed.values())
    assert len([r for r in sandbox.requests if r.path.endswith("/batch/update")]) == 2


def test_two_updates_of_one_contact_are_merged(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    _setup(adapter)
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    result = adapter.push([FieldUpdate(cid, {"b2b_saas_score": 1, "b2b_saas_grade": "C"}), FieldUpdate(cid, {"b2b_saas_score": 2})])
    assert result.written == [cid]
    stored = sandbox.store.get("contacts", cid).properties  # type: ignore[union-attr]
    assert stored["b2b_saas_score"] == "2" and stored["b2b_saas_grade"] == "C"
