"""connector.example.yaml loads, validates deeply, and documents every key of the schema."""

from __future__ import annotations

import pathlib
import typing as t

from pydantic import BaseModel

from connector.sync.config import ConnectorConfig, load_config, validate_config

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "connector.example.yaml"


def test_example_loads_and_validates() -> None:
    config = load_config(EXAMPLE)
    assert [c.adapter for c in config.crms] == ["hubspot", "salesforce"]
    assert config.crms[0].models == config.crms[1].models, "one model scores both CRMs"
    assert "2 CRM(s)" in validate_config(EXAMPLE)


def _keys(model: type[BaseModel]) -> set[str]:
    out: set[str] = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        out.add(name)
        for arg in (field.annotation, *t.get_args(field.annotation)):
            for inner in (arg, *t.get_args(arg)):
                if isinstance(inner, type) and issubclass(inner, BaseModel):
                    out |= _keys(inner)
    return out


def test_every_key_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text()
    missing = sorted(k for k in _keys(ConnectorConfig) if f"{k}:" not in text)
    assert missing == []
