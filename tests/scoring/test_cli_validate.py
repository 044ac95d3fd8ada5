"""``connector validate``: every problem of every file, as file:line: key: message."""

from __future__ import annotations

import pathlib

from typer.testing import CliRunner

from connector.cli import app

MODELS = pathlib.Path(__file__).resolve().parents[2] / "mappings" / "models"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output.replace("\n", "")


def test_shipped_models_are_valid() -> None:
    code, text = run("validate", str(MODELS))
    assert code == 0, text
    assert "b2b-saas" in text and "product-line-b" in text


def test_all_problems_of_all_files_listed(tmp_path: pathlib.Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("model: a\ndimensions: {fit: {}}\nrules:\n  - {id: r, dimension: fit, points: 0, when: {property: x, op: exists}}\n", encoding="utf-8")
    b = tmp_path / "b.yaml"
    b.write_text("model: b\ndimensions: {fit: {}}\ngrade: {dimension: fit, bands: [{label: A, min: 1}, {label: B, min: 5}]}\n", encoding="utf-8")
    code, text = run("validate", str(a), str(b), str(MODELS / "b2b-saas.yaml"))
    assert code == 1
    assert f"{a}:4: rules[0]: a rule with 0 points does nothing" in text
    assert f"{b}:3: grade: bands must be listed" in text
    assert "ok " in text and "2 problem(s) in 2 file(s)" in text


def test_models_clashing_with_each_other(tmp_path: pathlib.Path) -> None:
    dup = tmp_path / "dup.yaml"
    dup.write_text((MODELS / "product-line-b.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    code, text = run("validate", str(MODELS / "product-line-b.yaml"), str(dup))
    assert code == 1 and "model name 'product-line-b' is also used by" in text


def test_other_kinds_go_to_their_own_loaders(tmp_path: pathlib.Path) -> None:
    crm = tmp_path / "crm.yaml"
    crm.write_text("crm: nosuchcrm\n", encoding="utf-8")
    odd = tmp_path / "odd.yaml"
    odd.write_text("hello: world\n", encoding="utf-8")
    code, text = run("validate", str(crm), str(odd))
    assert code == 1
    assert f"{crm}:1: crm: unknown adapter 'nosuchcrm'" in text
    assert f"{odd}:1: unknown kind of file" in text
    config = tmp_path / "connector.yaml"
    config.write_text("crms:\n  - name: hs\n    adapter: hubspot\n    mapping: missing.yaml\n    models: [m.yaml]\n", encoding="utf-8")
    code, text = run("validate", str(config))
    assert code == 1 and f"{config}:4: crms[0].mapping" in text


def test_broken_yaml(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: x\n  dimensions: [\n", encoding="utf-8")
    code, text = run("validate", str(bad))
    assert code == 1 and f"{bad}:2: YAML syntax error" in text
