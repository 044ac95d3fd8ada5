"""Property-based tests of the model loader: garbage YAML, and models with any value in any place,
give a model or a :class:`YamlFileError` naming file:line, never a traceback."""

from __future__ import annotations

import contextlib
import copy
import pathlib
import tempfile
import typing as t

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.loader import load_model
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Contact
from connector.yamlfile import YamlFileError
from tests.scoring._build import AS_OF

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

BASE: dict[str, t.Any] = {
    "model": "fuzz",
    "placeholders": ["Select"],
    "dimensions": {"fit": {"floor": 0, "ceiling": 100}, "engagement": {"weight": 1.5}},
    "total": {"floor": 0, "ceiling": 200},
    "rules": [
        {"id": "title", "dimension": "fit", "points": 20, "when": {"property": "job_title", "op": "contains", "value": "vp"}},
        {"id": "size", "dimension": "fit", "points": 10, "when": {"any": [{"property": "size", "op": "gte", "value": 50}, {"property": "size", "op": "between", "value": [5, 9]}]}},
        {"id": "views", "dimension": "engagement", "points": 5, "activity": {"types": ["page_view"], "where": [{"attribute": "url", "op": "regex", "value": "pric"}], "within_days": 30, "max_times": 3, "decay": {"half_life_days": 7}}},
    ],
    "exclusions": [{"id": "rival", "reason": "competitor", "when": {"property": "email", "op": "email_domain_in", "value": ["rival.io"]}}],
    "grade": {"dimension": "fit", "bands": [{"label": "A", "min": 50}, {"label": "B"}]},
    "stages": {"order": [{"name": "lead"}, {"name": "mql", "thresholds": {"fit": {"gt": 20}, "total": 30}}]},
    "triggers": [{"id": "hot", "watch": {"dimension": "engagement", "gte": 10}, "actions": [{"type": "add_to_list", "list": "Hot"}]}],
}

yaml_scalar = st.one_of(
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 10**400, -(10**30), 0, -1, 0.001, True]),  # numbers that break arithmetic
    st.sampled_from(["2024-13-45", "!!int x", "&a", "*a", "<<", "yes", "on", "~", "0x1F", "1e999", "-.inf", "total", "score", "(unclosed", ""]),
    st.none() | st.integers() | st.floats() | st.text(max_size=20),
)
yaml_value = st.recursive(yaml_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def _paths(node: t.Any, prefix: tuple[t.Any, ...] = ()) -> list[tuple[t.Any, ...]]:
    """Every place in a nested dict/list, to put a random value at."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


PATHS = _paths(BASE)


@contextlib.contextmanager
def _yaml_file(text: str) -> t.Iterator[pathlib.Path]:
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "model.yaml"
        path.write_text(text, encoding="utf-8")
        yield path


def _load(path: pathlib.Path) -> ScoringModel | None:
    """The model, or ``None`` after checking that every problem names this file and a line."""
    try:
        return load_model(path)
    except YamlFileError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file == str(path)
            assert problem.line is not None or "too deeply" in problem.message, problem
            assert str(problem).startswith(f"{path}:")
        return None


def _scores_in_both_engines(model: ScoringModel) -> None:
    contact = Contact("c1", email="ann@acme.com", properties={"job_title": "VP Sales", "size": "60"})
    acts = [Activity("a1", "page_view", AS_OF, contact_id="c1", attributes={"url": "/pricing"})]
    one = Scorer(model).score(contact, acts, [], AS_OF)
    (other,) = BatchScorer(model).score([contact], acts, [], AS_OF)
    assert one == other


@FAST
@given(st.text(st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_any_text_is_a_model_or_problems_with_lines(text: str) -> None:
    with _yaml_file(text) as path:
        _load(path)


YAML_BITS = ["model: x", "dimensions:", "  fit: {}", "rules:", "  - id: r", "    points: 5", "- ", ": ", "[", "]", "{", "}", "&a", "*a", "!!int x", "<<: *a", "'", '"', "\t", "  ", "a: 2024-13-45", "b: !!float y", "? ", "%YAML 1.1", "---", "...", "rules: []"]


@FAST
@given(st.lists(st.sampled_from(YAML_BITS), max_size=12), st.lists(st.sampled_from(["\n", " ", ""]), max_size=12))
def test_yaml_shaped_garbage_is_problems_with_lines(bits: list[str], joints: list[str]) -> None:
    text = "".join(b + (joints[i] if i < len(joints) else "\n") for i, b in enumerate(bits))
    with _yaml_file(text) as path:
        _load(path)


@FAST
@given(st.sampled_from(PATHS), yaml_value, st.booleans())
def test_any_value_anywhere_in_a_model(path_in_model: tuple[t.Any, ...], value: t.Any, duplicate: bool) -> None:
    data = copy.deepcopy(BASE)
    node = data
    for part in path_in_model[:-1]:
        node = node[part]
    node[path_in_model[-1]] = value
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if duplicate:
        text += "rules: []\n"  # a second block: must be an error, never the silent winner
    with _yaml_file(text) as path:
        model = _load(path)
    if duplicate:
        assert model is None
    elif model is not None:
        _scores_in_both_engines(model)


def test_the_base_model_is_valid() -> None:
    with _yaml_file(yaml.safe_dump(BASE, sort_keys=False)) as path:
        model = _load(path)
    assert model is not None
    _scores_in_both_engines(model)


def test_infinite_and_not_a_number_values_are_refused_where_numbers_are_needed(tmp_path: pathlib.Path) -> None:
    for place, value in ((("rules", 0, "points"), ".inf"), (("dimensions", "engagement", "weight"), ".nan"), (("total", "ceiling"), "1e999"), (("rules", 1, "when", "any", 0, "value"), ".inf")):
        data = copy.deepcopy(BASE)
        node = data
        for part in place[:-1]:
            node = node[part]
        node[place[-1]] = "VALUE"
        path = tmp_path / "m.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False).replace("VALUE", value), encoding="utf-8")
        assert _load(path) is None, place
