"""connector setup: group, output properties with types/options, stage and band lists; idempotent."""

from __future__ import annotations

import pytest

from connector.adapters.base import CRMError, OutputSpec
from connector.adapters.hubspot import HubSpotAdapter
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_model
from tests.adapters.conftest import MODEL


def _writes(sandbox: HubSpotSandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]


def test_first_run_creates_everything_with_types_and_options(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    model = load_model(MODEL)
    changed = adapter.setup(specs_from_models([model]))
    assert "group lead_scoring" in changed and "property b2b_saas_score" in changed
    props = adapter.portal_properties(refresh=True)
    assert props["b2b_saas_score"].type == "number" and props["b2b_saas_fit"].type == "number"
    assert props["b2b_saas_grade"].type == "enumeration" and props["b2b_saas_grade"].options == tuple(b.label for b in model.grade.bands)  # type: ignore[union-attr]
    assert props["b2b_saas_stage"].options == tuple(s.name for s in model.stages.order)  # type: ignore[union-attr]
    assert props["b2b_saas_reasons"].type == "string" and props["b2b_saas_scored_at"].type == "datetime"
    assert all(props[n].group_name == "lead_scoring" for n in model.output_names().values())
    names = {lst.name for lst in sandbox.lists.all()} if hasattr(sandbox.lists, "all") else None
    for stage in model.stages.order:  # type: ignore[union-attr]
        assert adapter.lists.find(f"b2b-saas: {stage.name}") is not None
    if names is not None:
        assert "b2b-saas: hot (score 120+)" in names


def test_second_run_creates_nothing(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    model = load_model(MODEL)
    adapter.setup(specs_from_models([model]))
    sandbox.requests_clear()
    assert adapter.setup(specs_from_models([model])) == []
    assert _writes(sandbox) == []


def test_new_option_patches_only_that_property(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    model = load_model(MODEL)
    adapter.setup(specs_from_models([model]))
    bands = [*model.grade.bands[:-1], model.grade.bands[-1].model_copy(update={"min": 1}), model.grade.bands[-1].model_copy(update={"label": "F", "min": None})]  # type: ignore[union-attr]
    changed_model = model.model_copy(update={"grade": model.grade.model_copy(update={"bands": bands})})  # type: ignore[union-attr]
    sandbox.requests_clear()
    changed = adapter.setup(specs_from_models([changed_model]))
    assert changed == ["options of b2b_saas_grade (+F)"]
    assert _writes(sandbox) == ["PATCH /crm/v3/properties/contacts/b2b_saas_grade"]
    assert "F" in adapter.portal_properties(refresh=True)["b2b_saas_grade"].options


def test_a_property_of_the_wrong_type_is_reported_not_changed(sandbox: HubSpotSandbox, mapping: object) -> None:
    from connector.adapters.hubspot.mapping import HubSpotMapping
    from tests.adapters.conftest import make_adapter

    clash = HubSpotMapping.model_validate({"crm": "hubspot", "outputs": {"properties": {"b2b_saas_score": "jobtitle"}}, "lists": {"stage_lists": False}})
    adapter = make_adapter(sandbox, clash)
    with pytest.raises(CRMError, match="'jobtitle' exists with type string, the connector writes number"):
        adapter.setup(specs_from_models([load_model(MODEL)]))


SPECS = [OutputSpec("acme_score", "number"), OutputSpec("acme_stage", "enumeration", ("lead", "mql"), role="stage"), OutputSpec("acme_scored_at", "datetime", role="scored_at")]


def test_specs_of_any_kind_with_options(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    changed = adapter.setup(SPECS)
    assert "property acme_stage" in changed
    props = adapter.portal_properties(refresh=True)
    assert props["acme_score"].type == "number" and props["acme_stage"].options == ("lead", "mql") and props["acme_scored_at"].type == "datetime"
    assert adapter.setup(SPECS) == []


def test_band_lists_of_other_models_wait_for_their_outputs(sandbox: HubSpotSandbox, adapter: HubSpotAdapter) -> None:
    """The example mapping's score bands filter on b2b_saas_score: setting up another model makes no such list."""
    changed = adapter.setup([OutputSpec("acme_score", "number")])
    assert changed == ["group lead_scoring", "property acme_score", "task group lead_scoring", "task property connector_action_key"]
    assert adapter.lists.find("b2b-saas: hot (score 120+)") is None
