"""Predictive dimensions: the value is round2(100 * p) from a predictor; a missing one is a clear error."""

from __future__ import annotations

import datetime as dt
import pathlib
import sys
import types
import typing as t

import pytest

from connector.scoring.engine import Scorer
from connector.scoring.records import Activity, Contact
from connector.scoring.result import Reason
from connector.yamlfile import YamlFileError
from tests.scoring._build import AS_OF, adj, model

TEXT = """\
model: p
dimensions:
  fit: {}
  likely:
    predictive: {model_file: likely.json}
rules: [{id: t, dimension: fit, points: 10, when: {property: x, op: exists}}]
"""


class Fixed:
    def __init__(self, p: float) -> None:
        self.p = p
        self.calls: list[tuple[str, int, dt.datetime]] = []

    def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
        self.calls.append((contact.id, len(activities), as_of))
        return self.p, [Reason("pred_visits", "likely", 12.5, "many visits", kind="predictive")]


def test_value_is_rounded_percentage_with_predictor_reasons_and_adjustments() -> None:
    m = model(TEXT)
    predictor = Fixed(0.83456)
    result = Scorer(m, {"likely": predictor}).score(Contact("c1", properties={"x": 1}), [], [adj("likely", 30)], AS_OF)
    assert predictor.calls == [("c1", 0, AS_OF)]
    assert result.dimensions == {"fit": 10, "likely": 100}  # 83.46 + 30, held at the ceiling
    kinds = {r.rule: r.kind for r in result.reasons}
    assert kinds["pred_visits"] == "predictive" and kinds["clamp"] == "clamp"


def test_probability_out_of_range_is_an_error() -> None:
    with pytest.raises(ValueError, match="not a probability"):
        Scorer(model(TEXT), {"likely": Fixed(1.5)}).score(Contact("c1"), [], [], AS_OF)


def test_scorer_without_predictor_says_what_to_do() -> None:
    with pytest.raises(ValueError, match="dimension 'likely' is predictive"):
        Scorer(model(TEXT))


def test_from_file_loads_predictor_relative_to_the_yaml(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(TEXT, encoding="utf-8")
    seen: list[tuple[pathlib.Path, str]] = []

    def load_predictor(target: pathlib.Path, dimension: str) -> Fixed:
        seen.append((pathlib.Path(target), dimension))
        if not pathlib.Path(target).exists():
            raise FileNotFoundError(f"no such file: {target}")
        return Fixed(0.5)

    fake = types.ModuleType("connector.scoring.predictive")
    fake.load_predictor = load_predictor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "connector.scoring.predictive", fake)
    with pytest.raises(YamlFileError, match="cannot load predictive model"):
        Scorer.from_file(path)
    (tmp_path / "likely.json").write_text("{}", encoding="utf-8")
    scorer = Scorer.from_file(path)
    assert seen[-1] == (tmp_path / "likely.json", "likely")
    assert scorer.score(Contact("c1"), [], [], AS_OF).dimensions["likely"] == 50
