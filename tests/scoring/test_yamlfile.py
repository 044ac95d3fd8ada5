"""``connector.yamlfile``: every YAML the project loads; problems as file:line, never a traceback."""

from __future__ import annotations

import pathlib

import pytest

from connector.scoring.loader import load_model
from connector.yamlfile import YamlFileError, load_yaml

MODEL = """\
model: m
dimensions:
  fit: {weight: 1}
rules:
  - {id: a, dimension: fit, points: 5, when: {property: x, op: exists}}
  - {id: b, dimension: fit, points: 5, when: {property: y, op: exists}}
"""


def problems(path: pathlib.Path) -> list[str]:
    with pytest.raises(YamlFileError) as exc:
        load_yaml(path)
    return [str(p) for p in exc.value.problems]


def test_a_second_rules_block_is_an_error_not_a_silent_loss(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(MODEL + "rules:\n  - {id: c, dimension: fit, points: 5, when: {property: z, op: exists}}\n", encoding="utf-8")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    (only,) = [str(p) for p in exc.value.problems]
    assert only.startswith(f"{path}:7: rules: key 'rules' appears twice") and "first on line 4" in only


def test_duplicates_in_flow_style_nested_and_in_lists_are_all_listed(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "database_url: sqlite:///a.db\n"
        "dimensions: {fit: {weight: 0.5, weight: 5}}\n"
        "crms:\n  - name: a\n    name: b\n"
        "database_url: sqlite:///b.db\n",
        encoding="utf-8",
    )
    found = problems(path)
    assert [p.split(": ")[0:2] for p in found] == [
        [f"{path}:2", "dimensions.fit.weight"],
        [f"{path}:5", "crms[0].name"],
        [f"{path}:6", "database_url"],
    ]


def test_same_text_with_another_type_and_merge_keys_are_not_duplicates(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("1: a\n'1': b\nbase: &b {x: 1, y: 2}\nmine:\n  <<: *b\n  x: 3\n", encoding="utf-8")
    data, _ = load_yaml(path)
    assert data == {1: "a", "1": "b", "base": {"x": 1, "y": 2}, "mine": {"x": 3, "y": 2}}


def test_encodings_bom_utf16_and_a_bad_byte_named_by_line(tmp_path: pathlib.Path) -> None:
    for name, raw in (("bom.yaml", "\ufeffa: café\n".encode()), ("u16.yaml", "a: café\n".encode("utf-16")), ("be.yaml", "\ufeffa: café\n".encode("utf-16-be"))):
        (tmp_path / name).write_bytes(raw)
        assert load_yaml(tmp_path / name)[0] == {"a": "café"}, name
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"a: 1\nb: caf\xe9\n")
    assert problems(latin) == [f"{latin}:2: byte 0xE9 at column 7 is not UTF-8; save the file as UTF-8"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("a: 1\nb: 2024-13-45\n", 2, "cannot read '2024-13-45' as timestamp"),
        ("a: 1\n\nb: !!int x\n", 3, "cannot read 'x' as int"),
        ("a: !!timestamp soon\n", 1, "cannot read 'soon' as timestamp"),
        ("a: 1\nb: \x07\n", 2, "character U+0007 is not allowed"),
        ("a: [1\n", 2, "YAML syntax error"),
        ("{[a]: 1}\n", 1, "unhashable key"),
    ],
)
def test_values_and_characters_pyyaml_chokes_on_name_their_line(tmp_path: pathlib.Path, text: str, line: int, words: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    (only,) = problems(path)
    assert only.startswith(f"{path}:{line}: ") and words in only, only


def test_deep_nesting_and_self_reference(tmp_path: pathlib.Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 700 + "]" * 700 + "\n", encoding="utf-8")
    assert problems(deep) == [f"{deep}: the document nests lists or mappings too deeply to read"]
    loop = tmp_path / "loop.yaml"
    loop.write_text("model: &m [*m]\n", encoding="utf-8")
    with pytest.raises(YamlFileError) as exc:
        load_model(loop)
    assert str(exc.value).startswith(f"{loop}:")
