"""``setup`` creates the properties trigger actions write (``hot_lead``), ``check`` reports them when missing."""

from __future__ import annotations

from connector.adapters.base import FieldUpdate
from connector.adapters.hubspot import HubSpotAdapter
from connector.adapters.specs import action_specs, specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_model, load_models
from tests.adapters.conftest import MODEL, add_example_forms


def test_action_specs_take_their_kind_from_the_values_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    model = load_model(MODEL)
    assert [(s.name, s.kind, s.options, s.role) for s in action_specs([model])] == [("hot_lead", "enumeration", ("true", "false"), "action")]
    text = tmp_path / "m.yaml"
    text.write_text(MODEL.read_text().replace('{type: set_property, property: hot_lead, value: "true"}', "{type: set_property, property: lead_temperature, value: hot}"))
    assert [(s.name, s.kind) for s in action_specs(load_models([text]))] == [("lead_temperature", "text")]


def test_setup_creates_what_set_property_writes_and_check_reports_it_missing(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    add_example_forms(sandbox)
    specs = specs_from_models([load_model(MODEL)])
    (cid,) = sandbox.store.add_contacts([{"email": "a@x.io"}])
    refused = adapter.push([FieldUpdate(cid, {"hot_lead": "true"})])
    assert refused.written == [] and "hot_lead" in refused.failed[cid][0], "HubSpot refuses a property that does not exist"
    missing = [p for p in adapter.check([s.name for s in specs]) if "hot_lead" in p.message]
    assert len(missing) == 1 and "does not exist (run `connector setup" in missing[0].message

    changed = adapter.setup(specs)
    assert "property hot_lead" in changed
    prop = sandbox.store.catalog.get("contacts", "hot_lead")
    assert prop is not None and (prop.type, prop.field_type) == ("bool", "booleancheckbox")
    assert adapter.check([s.name for s in specs]) == []
    assert adapter.push([FieldUpdate(cid, {"hot_lead": "true"})]).written == [cid]
    assert sandbox.store.get("contacts", cid).properties["hot_lead"] == "true"  # type: ignore[union-attr]
    assert "0 change(s)" not in changed and adapter.setup(specs) == [], "idempotent"
