"""Honest model selection: the reported figures come from folds that no fitting, screening or tuning saw."""

from __future__ import annotations

import pathlib
import typing as t

import numpy as np
import pytest

from connector.learn import selection
from connector.learn.columns import profile_columns
from connector.learn.features import ActivityTable
from connector.learn.pipeline import learn
from connector.learn.probability import BoostingParams
from connector.learn.report import summary_lines
from connector.learn.screen import screen
from connector.learn.selection import Context, Fitted, nested_evaluation
from connector.scoring.records import Contact
from tests.predictive._synth import make_rows, write_csv
from tests.predictive.conftest import options


def _context(rows: list[dict[str, t.Any]], *, folds: int = 3, trees: int = 20, seed: int = 0) -> Context:
    contacts = [Contact(r["id"], properties={k: v for k, v in r.items() if k not in ("id", "Converted")}) for r in rows]
    names = [k for k in rows[0] if k not in ("id", "Converted")]
    y = np.array([1 if r["Converted"] == "1" else 0 for r in rows])
    return Context(profile_columns(contacts, names, ("Select",)), ActivityTable({}, {}), y, (), (), BoostingParams(trees=trees), 0.8, folds, seed)


def test_outer_fold_models_never_see_their_test_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context(make_rows(300))
    real = selection.fit_procedure
    seen: list[np.ndarray] = []

    def spy(c: Context, rows: np.ndarray) -> Fitted:
        seen.append(np.sort(rows))
        return real(c, rows)

    monkeypatch.setattr(selection, "fit_procedure", spy)
    scored: list[np.ndarray] = []
    real_prob = Fitted.probability

    def spy_prob(self: Fitted, x: np.ndarray) -> np.ndarray:
        scored.append(x)
        return real_prob(self, x)

    monkeypatch.setattr(Fitted, "probability", spy_prob)
    ev = nested_evaluation(ctx, repeats=2)
    assert len(seen) == 6 and ev.folds == 3 and ev.repeats == 2 and len(ev.fold_auc) == 6
    for r in range(2):
        fits = seen[3 * r : 3 * r + 3]
        tests = [np.setdiff1d(np.arange(300), rows) for rows in fits]
        # each outer fold's model was fitted without exactly its test rows, and the test rows partition the leads
        assert sorted(np.concatenate(tests).tolist()) == list(range(300))
        assert all(len(te) == 100 for te in tests)
    assert all(len(x) == 100 for x in scored)


def test_inner_folds_split_only_the_training_rows() -> None:
    y = np.array([0, 1] * 50)
    rows = np.arange(0, 100, 2)[:40].tolist() + np.arange(1, 100, 2)[:40].tolist()
    folds = selection.stratified_folds(y, np.array(rows), 4, seed=3)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == sorted(rows)
    for train, test in folds:
        assert not set(train) & set(test) and set(train) | set(test) == set(rows)


def test_leak_screen_reads_only_the_training_rows() -> None:
    rows = make_rows(400)
    rng = np.random.default_rng(5)
    training = np.arange(60)
    for i, row in enumerate(rows):  # a perfect leak among the other 340 leads, noise among the 60 training ones
        row["Note"] = ("won" if row["Converted"] == "1" else "lost") if i >= 60 else ("won" if rng.random() < 0.5 else "lost")
    ctx = _context(rows)
    everyone = np.arange(400)
    kwargs: dict[str, t.Any] = {"min_size": 10, "exclude": (), "allow_leaky": ()}
    on_all = screen(ctx.columns, ctx.table, ctx.y, everyone, selection.stratified_folds(ctx.y, everyone, 3, 0), **kwargs)
    on_train = screen(ctx.columns, ctx.table, ctx.y, training, selection.stratified_folds(ctx.y, training, 3, 0), **kwargs)
    assert "Note" not in {c.name for c in on_all.used}
    assert "Note" in {c.name for c in on_train.used}


def test_on_noise_nothing_is_reported_found(tmp_path: pathlib.Path) -> None:
    rows = make_rows(500, seed=9)
    rng = np.random.default_rng(11)
    for row in rows:
        row["Converted"] = "1" if rng.random() < 0.4 else "0"
    learned = learn(options(write_csv(tmp_path / "noise.csv", rows), folds=3, boosting=BoostingParams(trees=30)))
    ev = learned.evaluation
    assert abs(ev.auc_probability - 0.5) < 0.08 and abs(ev.auc_points - 0.5) < 0.08  # no signal to find, none reported
    assert ev.hot.conversion < 0.6 and not learned.thresholds.reached
    assert any("target 80% NOT reached" in line for line in summary_lines(learned))


def test_the_blend_exports_to_trees_the_runtime_walks_exactly(tmp_path: pathlib.Path) -> None:
    learned = learn(options(write_csv(tmp_path / "c.csv", make_rows(400)), folds=3))
    final = learned.final
    assert final.choice.trees <= 40 and final.choice.blend in selection.BLEND_WEIGHTS
    x = final.x
    assert np.allclose(learned.predictor.raw(x), final.raw(x), rtol=0, atol=1e-9)
    assert np.allclose(learned.predictor.probabilities(x), final.probability(x), rtol=0, atol=1e-9)
    assert learned.model_file.trained["out_of_fold_roc_auc"] == round(learned.evaluation.auc_probability, 4)
