"""mappings/hubspot.yaml: the documented example loads; errors name file:line:key; values get their types."""

from __future__ import annotations

import datetime as dt
import pathlib
import types

import pytest

from connector.adapters import load_mapping as load_any_mapping
from connector.adapters.base import Reject
from connector.adapters.hubspot.contacts import translate_contact
from connector.adapters.hubspot.mapping import ConversionError, HubSpotMapping, PropertyMap, convert, load_mapping
from connector.yamlfile import YamlFileError

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "mappings" / "hubspot.yaml"


def test_documented_example_loads_through_the_dispatcher() -> None:
    mapping = load_any_mapping(EXAMPLE)
    assert isinstance(mapping, HubSpotMapping)
    assert mapping.contacts.properties["job_title"].property == "jobtitle"
    assert "jobtitle" in mapping.contact_properties() and "lastmodifieddate" in mapping.contact_properties()


def test_errors_name_file_line_and_key(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("crm: hubspot\ncontacts:\n  properties:\n    size: {property: numemployees, type: numbr}\n  emial_property: x\n")
    with pytest.raises(YamlFileError) as info:
        load_mapping(bad)
    text = str(info.value)
    assert f"{bad}:4: contacts.properties.size.type" in text
    assert f"{bad}:5: contacts.emial_property" in text


def test_two_canonical_names_for_one_property_is_an_error(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("crm: hubspot\ncontacts:\n  properties:\n    a: jobtitle\n    b: jobtitle\n")
    with pytest.raises(YamlFileError, match=r":5: contacts.properties.b.property: HubSpot property 'jobtitle' is already mapped"):
        load_mapping(bad)


def test_dispatcher_rejects_unknown_crm(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("# x\ncrm: pipedrive\n")
    with pytest.raises(YamlFileError, match=r"m.yaml:2: crm: unknown adapter 'pipedrive' \(registered: hubspot"):
        load_any_mapping(bad)


def test_dispatcher_takes_the_dotted_path_of_an_adapter_package(tmp_path: pathlib.Path) -> None:
    mapping = tmp_path / "m.yaml"
    mapping.write_text("crm: tests.fakecrm\n")
    assert load_any_mapping(mapping).crm == "tests.fakecrm"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "spec", "expected"),
    [
        ("42", PropertyMap(property="x", type="number"), 42.0),
        ("7", PropertyMap(property="x", type="integer"), 7),
        ("true", PropertyMap(property="x", type="bool"), True),
        ("1700000000000", PropertyMap(property="x", type="datetime"), dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)),
        ("2024-05-01T10:00:00.123Z", PropertyMap(property="x", type="datetime"), dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)),
        ("2024-05-01", PropertyMap(property="x", type="date"), dt.date(2024, 5, 1)),
        ("a;b", PropertyMap(property="x", type="enumeration", multiple=True), ["a", "b"]),
        ("100-500", PropertyMap(property="x", type="range"), 100.0),
        ("", PropertyMap(property="x", type="number"), None),
    ],
)
def test_typed_conversion(raw: str, spec: PropertyMap, expected: object) -> None:
    assert convert(raw, spec) == expected


def test_bad_values_raise_a_readable_reason() -> None:
    with pytest.raises(ConversionError, match="cannot read 'lots' as a number"):
        convert("lots", PropertyMap(property="x", type="number"))


def _record(props: dict[str, str], rid: str = "17") -> types.SimpleNamespace:
    return types.SimpleNamespace(id=rid, properties=props, updated_at=None)


def test_untranslatable_contact_becomes_a_reject_with_reason_and_raw_record() -> None:
    mapping = HubSpotMapping.model_validate({"crm": "hubspot", "contacts": {"properties": {"revenue": {"property": "annualrevenue", "type": "number"}}}})
    good = translate_contact(_record({"email": "A@x.io", "annualrevenue": "1000", "lastmodifieddate": "2024-01-01T00:00:00Z"}), mapping)
    assert not isinstance(good, Reject)
    assert good.properties == {"revenue": 1000.0} and good.email == "A@x.io"
    bad = translate_contact(_record({"annualrevenue": "a lot"}, "18"), mapping)
    assert isinstance(bad, Reject)
    assert bad.record_id == "18" and "annualrevenue" in bad.reason and "revenue" in bad.reason
    assert bad.raw["properties"]["annualrevenue"] == "a lot"

