"""A push formats model outputs by the kinds the models declare (no ``describe``); other fields by the org's describe.

The sync builds the adapter with the models' output fields (``AdapterSettings.outputs``, filled by
``connect``); the values come out of the outbox as JSON (a ``scored_at`` is an ISO string) and must
land as the same values either way, through Collections and Bulk API 2.0.
"""

from __future__ import annotations

import pathlib

import pytest

from connector.adapters import adapter_spec
from connector.adapters.base import FieldUpdate, NoGate
from connector.adapters.salesforce import SalesforceAdapter, from_config
from connector.adapters.settings import read_settings
from connector.adapters.specs import specs_from_models
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.loader import load_models
from tests.adapters.salesforce.conftest import MAPPING, MODEL, make_adapter

SPECS = specs_from_models(load_models([MODEL]))
VALUES = {"b2b_saas_score": 12.0, "b2b_saas_grade": "B", "b2b_saas_stage": "mql", "b2b_saas_scored_at": "2026-01-15T12:00:00.250000+00:00"}


def _adapter(sandbox: SalesforceSandbox, mapping: pathlib.Path, *, outputs: bool) -> SalesforceAdapter:
    settings = read_settings(adapter_spec("salesforce"), crm="sf", mapping=mapping, environ=sandbox.env(), outputs=SPECS if outputs else ())
    adapter = from_config(settings, NoGate())
    assert isinstance(adapter, SalesforceAdapter)
    return adapter


@pytest.mark.parametrize("threshold", [2000, 1], ids=["collections", "bulk"])
def test_outputs_are_written_by_their_declared_kind_without_a_describe(sandbox: SalesforceSandbox, tmp_path: pathlib.Path, threshold: int) -> None:
    admin = make_adapter(sandbox)
    admin.setup(SPECS)
    admin.close()
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING.read_text().replace("bulk_threshold: 2000", f"bulk_threshold: {threshold}")
                       .replace('    b2b_saas_stage: "b2b-saas: {stage}"', "").replace("  stage_campaigns:\n", "  stage_campaigns: {}\n")
                       .replace("  score_bands:\n", "  score_bands: []\n").replace("    - {name: \"b2b-saas: hot (score 120+)\", output: b2b_saas_score, min: 120}\n", "")
                       .replace("    - {name: \"b2b-saas: warm (score 60-119)\", output: b2b_saas_score, min: 60, max: 120}\n", ""))
    typed, described = sandbox.insert("Lead", [{"LastName": "Typed", "Company": "A"}, {"LastName": "Described", "Company": "B"}])
    results = {}
    for lead, outputs in ((typed, True), (described, False)):
        adapter = _adapter(sandbox, mapping, outputs=outputs)
        try:
            result = adapter.push([FieldUpdate(lead, dict(VALUES))])
            assert result.written == [lead] and not result.failed, result.failed
            results[outputs] = adapter.stats.by_endpoint.get("GET sobjects/Lead/describe", 0)
        finally:
            adapter.close()
    assert results == {True: 0, False: 1}, "declared kinds spare the describe; without them the push asks"
    stored = [sandbox.get("Lead", lead) or {} for lead in (typed, described)]
    for record in stored:
        assert record["b2b_saas_score__c"] == 12.0 and record["b2b_saas_grade__c"] == "B" and record["b2b_saas_stage__c"] == "mql"
    assert stored[0]["b2b_saas_scored_at__c"] == stored[1]["b2b_saas_scored_at__c"] is not None
    assert {k: v for k, v in stored[0].items() if k.endswith("__c")} == {k: v for k, v in stored[1].items() if k.endswith("__c")}


def test_a_field_a_trigger_sets_is_still_typed_by_describe(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    sandbox.app.custom_fields.create("Lead.Hot__c", {"type": "Checkbox", "label": "Hot", "defaultValue": False})
    sandbox.app.grant_field("Lead.Hot__c")
    admin = make_adapter(sandbox)
    admin.setup(SPECS)
    admin.close()
    (lead,) = sandbox.insert("Lead", [{"LastName": "Hot", "Company": "A"}])
    adapter = _adapter(sandbox, MAPPING, outputs=True)
    try:
        result = adapter.push([FieldUpdate(lead, {"b2b_saas_score": 3.0, "Hot__c": "true"})])  # a set_property value, as the model wrote it
        assert result.written == [lead] and not result.failed, result.failed
        assert adapter.stats.by_endpoint.get("GET sobjects/Lead/describe") == 1
    finally:
        adapter.close()
    record = sandbox.get("Lead", lead) or {}
    assert record["Hot__c"] is True and record["b2b_saas_score__c"] == 3.0
