"""The YAML writer survives awkward column names and values (quotes, colons, YAML words, unicode)."""

from __future__ import annotations

import pathlib

from connector.learn.pipeline import learn
from connector.learn.writer import write_model
from connector.scoring.loader import load_model
from tests.predictive._synth import make_rows, write_csv
from tests.predictive.conftest import options

AWKWARD = ["yes", "No", "null", "1e5", 'Größe: "x" #1', "on"]


def test_awkward_names_and_values_round_trip(tmp_path: pathlib.Path) -> None:
    rows = make_rows(400)
    for i, row in enumerate(rows):
        row["Source: where #from"] = AWKWARD[i % len(AWKWARD)] if row["Converted"] == "1" or i % 3 else AWKWARD[0]
    written = write_model(learn(options(write_csv(tmp_path / "c.csv", rows), folds=3)), tmp_path / "9 odd name.yaml")
    model = load_model(written.yaml)  # write_model also re-reads and compares with what it validated
    assert model.model == "learned-9-odd-name"
    values = {getattr(r.when, "value", None) for r in model.rules if r.when is not None and getattr(r.when, "property", None) == "Source: where #from"}
    assert values and values <= set(AWKWARD)
