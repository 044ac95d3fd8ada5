"""Letter grade from one dimension and the A1..C3 matrix from two."""

from __future__ import annotations

import pytest

from connector.scoring.grades import grade, matrix
from connector.scoring.model import GradeSpec, MatrixSpec
from tests.scoring._build import model, score

FIT = GradeSpec.model_validate({"dimension": "fit", "bands": [{"label": "A", "min": 75}, {"label": "B", "min": 50}, {"label": "C", "min": 25}, {"label": "D"}]})


@pytest.mark.parametrize(("value", "label"), [(100, "A"), (75, "A"), (74.99, "B"), (50, "B"), (25, "C"), (0, "D"), (-5, "D")])
def test_grade_bands_highest_first_min_inclusive(value: float, label: str) -> None:
    assert grade(FIT, {"fit": value}) == label


def test_no_catch_all_band_gives_none() -> None:
    spec = GradeSpec.model_validate({"dimension": "fit", "bands": [{"label": "A", "min": 50}]})
    assert grade(spec, {"fit": 49}) is None
    assert grade(None, {"fit": 49}) is None


def test_matrix_combines_row_and_column_labels() -> None:
    spec = MatrixSpec.model_validate(
        {
            "rows": {"dimension": "fit", "bands": [{"label": "A", "min": 60}, {"label": "B", "min": 30}, {"label": "C"}]},
            "columns": {"dimension": "engagement", "bands": [{"label": "1", "min": 60}, {"label": "2", "min": 30}, {"label": "3"}]},
        }
    )
    assert matrix(spec, {"fit": 80, "engagement": 10}) == "A3"
    assert matrix(spec, {"fit": 30, "engagement": 60}) == "B1"
    assert matrix(spec, {"fit": 0, "engagement": 45}) == "C2"


def test_grade_and_matrix_in_a_result_and_on_total() -> None:
    m = model(
        """
        model: m
        dimensions: {fit: {}, engagement: {}}
        rules: [{id: t, dimension: fit, points: 70, when: {property: x, op: exists}}]
        grade: {dimension: total, bands: [{label: hot, min: 60}, {label: cold}]}
        matrix:
          rows: {dimension: fit, bands: [{label: A, min: 60}, {label: B}]}
          columns: {dimension: engagement, bands: [{label: "1", min: 60}, {label: "2"}]}
        """
    )
    result = score(m, {"x": 1})
    assert (result.grade, result.matrix) == ("hot", "A2")
