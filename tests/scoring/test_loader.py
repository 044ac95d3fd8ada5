"""Loading models: broken YAML and wrong types name file, line and key; several models must not clash."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from connector.scoring.loader import load_model, load_models
from connector.yamlfile import YamlFileError

GOOD = """\
model: {name}
dimensions:
  fit: {{floor: 0, ceiling: 100}}
rules:
  - id: title
    dimension: fit
    points: 10
    when: {{property: job_title, op: contains, value: vp}}
"""


def write(tmp_path: pathlib.Path, name: str, text: str) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(excinfo: pytest.ExceptionInfo[YamlFileError]) -> list[str]:
    return [str(p) for p in excinfo.value.problems]


def test_good_model_loads(tmp_path: pathlib.Path) -> None:
    assert load_model(write(tmp_path, "m.yaml", GOOD.format(name="a"))).model == "a"


def test_yaml_syntax_error_names_the_line(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "m.yaml", "model: a\ndimensions:\n  fit: {floor: 0\nrules: []\n")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    (only,) = problems(exc)
    assert only.startswith(f"{path}:4: ") and "YAML syntax error" in only


def test_wrong_types_name_file_line_and_key(tmp_path: pathlib.Path) -> None:
    text = GOOD.format(name="a") + """\
  - id: views
    dimension: fit
    points: lots
    activity: {types: [page_view], max_times: 0}
"""
    path = write(tmp_path, "m.yaml", text)
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    found = problems(exc)
    assert any(p.startswith(f"{path}:11: rules[1].points:") and "number" in p for p in found), found
    assert any(p.startswith(f"{path}:12: rules[1].activity.max_times:") and "greater than 0" in p for p in found), found


def test_unknown_key_and_unknown_operator(tmp_path: pathlib.Path) -> None:
    text = GOOD.format(name="a").replace("op: contains", "op: like") + "colour: red\n"
    path = write(tmp_path, "m.yaml", text)
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    found = problems(exc)
    assert any(p.startswith(f"{path}:8: rules[0].when.op:") for p in found), found
    assert any(p.startswith(f"{path}:9: colour:") and "Extra inputs" in p for p in found), found


def test_cross_reference_errors_point_at_the_nested_key(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "m.yaml", GOOD.format(name="a").replace("dimension: fit", "dimension: fitt"))
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    (only,) = problems(exc)
    assert only.startswith(f"{path}:6: rules[0].dimension: ") and "unknown dimension 'fitt'" in only


def test_empty_file_and_missing_file(tmp_path: pathlib.Path) -> None:
    with pytest.raises(YamlFileError, match="must be a YAML mapping"):
        load_model(write(tmp_path, "empty.yaml", ""))
    with pytest.raises(YamlFileError, match="file not found"):
        load_model(tmp_path / "nope.yaml")


def test_outputs_of_one_model_must_differ(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "m.yaml", GOOD.format(name="a") + "outputs: {score: a_x, grade: a_x}\ngrade: {dimension: fit, bands: [{label: A}]}\n")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    assert problems(exc) == [f"{path}:9: outputs.grade: the grade writes output 'a_x', which the total score writes too; give it another name under outputs.grade"]


def test_a_dimension_named_like_the_total_is_pointed_at_with_how_to_rename_its_output(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "m.yaml", "model: m\ndimensions:\n  fit: {}\n  score: {}\n")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    assert problems(exc) == [
        f"{path}:4: dimensions.score: dimension 'score' writes output 'm_score', which the total score writes too; "
        "rename the dimension, or give its output another name: outputs: {dimensions: {score: m_score_dimension}}"
    ]
    fixed = write(tmp_path, "ok.yaml", "model: m\ndimensions:\n  fit: {}\n  score: {}\noutputs: {dimensions: {score: m_score_dimension}}\n")
    assert load_model(fixed).output_names()["dimension:score"] == "m_score_dimension"


def test_several_models_duplicate_names_and_output_clashes(tmp_path: pathlib.Path) -> None:
    a = write(tmp_path, "a.yaml", GOOD.format(name="a"))
    b = write(tmp_path, "b.yaml", GOOD.format(name="b"))
    assert [m.model for m in load_models([a, b])] == ["a", "b"]
    a2 = write(tmp_path, "a2.yaml", GOOD.format(name="a"))
    with pytest.raises(YamlFileError) as exc:
        load_models([a, a2])
    assert any(p.startswith(f"{a2}:1: model: ") and "also used by" in p for p in problems(exc))
    clash = write(tmp_path, "c.yaml", GOOD.format(name="c") + "outputs: {score: a_score}\n")
    with pytest.raises(YamlFileError) as exc:
        load_models([a, clash])
    assert problems(exc) == [f"{clash}:9: outputs.score: the total score writes output 'a_score', which model 'a' ({a}) writes too; give it another name under outputs.score"]


def test_all_problems_of_all_files_are_listed(tmp_path: pathlib.Path) -> None:
    bad1 = write(tmp_path, "x.yaml", "model: x\n")
    bad2 = write(tmp_path, "y.yaml", "model: [\n")
    with pytest.raises(YamlFileError) as exc:
        load_models([bad1, bad2])
    assert {p.file for p in exc.value.problems} == {str(bad1), str(bad2)}


def test_reset_on_enter_cannot_name_the_total(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "m.yaml", GOOD.format(name="a") + "stages:\n  order:\n    - name: lead\n      reset_on_enter: [total]\n")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    (only,) = problems(exc)
    assert only.startswith(f"{path}:12: stages.order[0].reset_on_enter:") and "cannot be reset" in only


def test_condition_values_checked_per_operator(tmp_path: pathlib.Path) -> None:
    text = GOOD.format(name="a").replace("op: contains, value: vp", "op: eq, value: [a, b]")
    with pytest.raises(YamlFileError, match="for a list use 'in'"):
        load_model(write(tmp_path, "a.yaml", text))
    text = GOOD.format(name="a").replace("op: contains, value: vp", "op: regex, value: [ok, '(broken']")
    with pytest.raises(YamlFileError, match="invalid regular expression '\\(broken'"):
        load_model(write(tmp_path, "b.yaml", text))
