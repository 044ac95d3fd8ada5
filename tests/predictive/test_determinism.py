"""Same data and seed, same files; another seed may differ."""

from __future__ import annotations

import pathlib

from connector.learn.pipeline import learn
from connector.learn.writer import write_model
from tests.predictive._synth import make_rows, write_csv
from tests.predictive.conftest import options


def test_same_seed_same_bytes(tmp_path: pathlib.Path) -> None:
    path = write_csv(tmp_path / "c.csv", make_rows(300))
    first = write_model(learn(options(path, folds=3, seed=7)), tmp_path / "a" / "m.yaml")
    second = write_model(learn(options(path, folds=3, seed=7)), tmp_path / "b" / "m.yaml")
    assert first.yaml.read_bytes() == second.yaml.read_bytes()
    assert first.json.read_bytes() == second.json.read_bytes()
    other = write_model(learn(options(path, folds=3, seed=8)), tmp_path / "c" / "m.yaml")
    assert other.json.read_bytes() != first.json.read_bytes()
