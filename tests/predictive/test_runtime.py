"""The JSON runtime reproduces scikit-learn exactly, explains itself, and rejects bad files clearly."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

import numpy as np
import pytest

from connector.learn.probability import BoostingParams, export_trees, fit_boosting
from connector.scoring.predictive import (
    FORMAT,
    Calibration,
    FeatureSpec,
    ModelFile,
    PredictiveModelError,
    Predictor,
    TreePredictor,
    load_predictor,
)
from connector.scoring.records import Activity, Contact

AS_OF = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)


def _spec(trees: int = 25) -> tuple[ModelFile, np.ndarray, object]:
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(size=400) * 100, rng.integers(0, 2, 400), rng.poisson(2, 400)]).astype(float)
    y = (x[:, 0] / 100 + x[:, 1] + 0.3 * x[:, 2] + rng.normal(size=400) > 1).astype(int)
    gb = fit_boosting(x, y, BoostingParams(trees=trees), seed=3)
    features = [
        FeatureSpec(kind="number", group="Minutes", property="Minutes", impute=0.0),
        FeatureSpec(kind="level", group="Source", property="Source", value="Referral"),
        FeatureSpec(kind="activity_count", group="activity: email_open", types=["email_open"]),
    ]
    spec = ModelFile(format=FORMAT, features=features, ensemble=export_trees(gb), calibration=Calibration(a=1.0, b=0.0), placeholders=["Select"])
    return spec, x, gb


def test_exported_trees_match_sklearn_decision_function() -> None:
    spec, x, gb = _spec()
    pred = TreePredictor(spec, "probability")
    assert np.allclose(pred.raw(x), gb.decision_function(x), rtol=0, atol=1e-12)  # type: ignore[attr-defined]
    assert np.allclose(pred.probabilities(x), gb.predict_proba(x)[:, 1], rtol=0, atol=1e-12)  # type: ignore[attr-defined]


def test_contributions_add_up_to_raw_minus_expected() -> None:
    spec, x, _ = _spec()
    pred = TreePredictor(spec, "probability")
    expected = spec.ensemble.bias + sum(tree.mean[0] for tree in spec.ensemble.trees)
    assert np.allclose(pred.contributions(x).sum(axis=1), pred.raw(x) - expected, atol=1e-9)


def test_predict_one_contact_from_records_with_reasons() -> None:
    spec, _, _ = _spec()
    pred = TreePredictor(spec, "likely")
    acts = [Activity(f"a{i}", "email_open", AS_OF - dt.timedelta(days=i), contact_id="c1") for i in range(4)]
    acts.append(Activity("future", "email_open", AS_OF + dt.timedelta(days=1), contact_id="c1"))
    contact = Contact("c1", properties={"Minutes": " 250 ", "Source": "referral"})
    p, reasons = pred.predict(contact, acts, AS_OF)
    row = np.array([[250.0, 1.0, 4.0]])  # the future activity does not count; 'referral' matches any case
    assert p == pytest.approx(float(pred.probabilities(row)[0]), abs=0)
    assert reasons and all(r.kind == "predictive" and r.dimension == "likely" for r in reasons)
    assert {r.rule for r in reasons} <= {"Minutes", "Source", "activity: email_open"}
    assert all(abs(r.points) >= 0.5 for r in reasons)
    top = max(reasons, key=lambda r: abs(r.points))
    assert ("raises" in top.label) == (top.points > 0)


def test_missing_and_placeholder_values_are_imputed() -> None:
    spec, _, _ = _spec()
    pred = TreePredictor(spec, "p")
    a = pred.encoding.row(Contact("a", properties={"Minutes": "Select", "Source": "SELECT"}), [], AS_OF)
    b = pred.encoding.row(Contact("b", properties={"Minutes": "n/a"}), [], AS_OF)
    assert a.tolist() == b.tolist() == [0.0, 0.0, 0.0]


def test_predict_many_equals_predict() -> None:
    spec, _, _ = _spec()
    pred = TreePredictor(spec, "p")
    contacts = [Contact(f"c{i}", properties={"Minutes": str(i * 37), "Source": "Referral" if i % 2 else "Ads"}) for i in range(20)]
    many = pred.predict_many(contacts, {}, AS_OF)
    assert many.tolist() == [pred.predict(c, [], AS_OF)[0] for c in contacts]


def _write(tmp_path: pathlib.Path, data: object) -> pathlib.Path:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_load_round_trip(tmp_path: pathlib.Path) -> None:
    spec, x, gb = _spec()
    pred = load_predictor(_write(tmp_path, spec.model_dump(mode="json")), "probability")
    assert isinstance(pred, Predictor)
    assert np.allclose(pred.raw(x), gb.decision_function(x), atol=1e-12)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other/9"), "format"),
        (lambda d: d["ensemble"]["trees"][0].update(left=[5, -1, -1]), "trees"),
        (lambda d: d["ensemble"]["trees"][0].update(feature=[99, *d["ensemble"]["trees"][0]["feature"][1:]]), "feature 99"),
        (lambda d: d["features"][0].pop("impute"), "impute"),
        (lambda d: d.pop("calibration"), "calibration"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: pathlib.Path, mutate: object, message: str) -> None:
    spec, _, _ = _spec(trees=2)
    data = spec.model_dump(mode="json")
    mutate(data)  # type: ignore[operator]
    path = _write(tmp_path, data)
    with pytest.raises(PredictiveModelError, match=message) as err:
        load_predictor(path, "probability")
    assert str(path) in str(err.value)


def test_not_json_and_missing_file(tmp_path: pathlib.Path) -> None:
    path = _write(tmp_path, '{"format": \n  oops}')
    with pytest.raises(PredictiveModelError, match=r"m\.json:2: not valid JSON"):
        load_predictor(path, "p")
    with pytest.raises(PredictiveModelError, match="not found"):
        load_predictor(tmp_path / "nope.json", "p")


def test_single_row_walk_equals_vectorised_path() -> None:
    spec, x, _ = _spec()
    pred = TreePredictor(spec, "p")
    contrib = pred.contributions(x)
    raw = pred.raw(x)
    for i in range(len(x)):
        r, c = pred.walk(x[i])
        assert r == raw[i]
        assert np.allclose(c, contrib[i], atol=1e-12)


def test_multi_select_value_is_one_level() -> None:
    features = [FeatureSpec(kind="level", group="Topics", property="Topics", value="AI;Data")]
    spec, _, _ = _spec(trees=2)
    pred = TreePredictor(spec.model_copy(update={"features": features + list(spec.features[1:])}), "p")
    assert pred.encoding.row(Contact("a", properties={"Topics": ["ai", " data"]}), [], AS_OF)[0] == 1.0
    assert pred.encoding.row(Contact("b", properties={"Topics": ["ai"]}), [], AS_OF)[0] == 0.0
