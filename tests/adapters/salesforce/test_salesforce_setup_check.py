"""``connector check`` against describe (unknown fields, wrong types, FLS, file:line) and ``connector setup`` (Tooling, permission set, idempotent)."""

from __future__ import annotations

import pathlib

import pytest

from connector.adapters.base import CRMError
from connector.adapters.salesforce.setup import PERMISSION_SET
from connector.adapters.specs import specs_from_models
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.loader import load_models
from tests.adapters.salesforce.conftest import MAPPING, MODEL, make_adapter

SPECS = specs_from_models(load_models([MODEL]))
OUTPUTS = [s.name for s in SPECS]


def _line(path: pathlib.Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_check_names_unknown_fields_wrong_types_and_missing_fls_with_file_and_line(sandbox: SalesforceSandbox, tmp_path: pathlib.Path) -> None:
    mapping = tmp_path / "sf.yaml"
    text = MAPPING.read_text().replace("job_title: Title", "job_title: Titel", 1).replace("phone: Phone", "phone: {field: Phone, type: number}", 1)
    mapping.write_text(text.replace("company_size: {field: NumberOfEmployees, type: integer}", "company_size: {field: Headcount__c, type: integer}", 1))
    # A field that exists but the integration user has no field-level security on: invisible to describe.
    sandbox.app.custom_fields.create("Lead.Headcount__c", {"type": "Number", "label": "Headcount", "precision": 18, "scale": 0})
    adapter = make_adapter(sandbox, mapping=mapping)
    try:
        problems = adapter.check(OUTPUTS)
    finally:
        adapter.close()
    title = next(p for p in problems if p.key == "people.lead.fields.job_title")
    assert (title.file, title.line) == (str(mapping), _line(mapping, "job_title: Titel")) and "did you mean Title" in title.message
    phone = next(p for p in problems if p.key == "people.lead.fields.phone")
    assert "phone" in phone.message and "cannot read it as number" in phone.message
    hidden = next(p for p in problems if p.key == "people.lead.fields.company_size")
    assert "field-level security" in hidden.message and hidden.line == _line(mapping, "Headcount__c")
    assert any(p.key == "outputs.fields.b2b_saas_score" and "connector setup" in p.message for p in problems)
    assert any(p.key == "tasks.key_field" for p in problems)


def test_setup_creates_grants_and_confirms_then_changes_nothing(sandbox: SalesforceSandbox) -> None:
    adapter = make_adapter(sandbox)
    try:
        changed = adapter.setup(SPECS)
        assert f"permission set {PERMISSION_SET}" in changed and "field Lead.b2b_saas_score__c" in changed and "field Activity.Connector_Action_Key__c" in changed
        assert any(c.startswith("campaign 'b2b-saas: mql'") for c in changed)
        assert adapter.setup(SPECS) == []
        assert adapter.check(OUTPUTS) == []
        fields = adapter.client.fields("Contact", refresh=True)
        assert fields["b2b_saas_grade__c"]["type"] == "picklist" and fields["b2b_saas_reasons__c"]["type"] == "textarea"
        assert fields["b2b_saas_scored_at__c"]["type"] == "datetime" and fields["b2b_saas_score__c"]["updateable"]
    finally:
        adapter.close()


def test_setup_refuses_a_field_of_another_type(sandbox: SalesforceSandbox) -> None:
    sandbox.app.custom_fields.create("Lead.b2b_saas_score__c", {"type": "Text", "label": "Score", "length": 20})
    adapter = make_adapter(sandbox)
    try:
        with pytest.raises(CRMError, match=r"Lead.b2b_saas_score__c exists with type string"):
            adapter.setup(SPECS)
    finally:
        adapter.close()
