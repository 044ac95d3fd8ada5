"""Learning from JSONL contacts in `connector score`'s shape, with typed and multi-select values."""

from __future__ import annotations

import json
import pathlib

from connector.learn.pipeline import learn
from tests.predictive._synth import make_rows
from tests.predictive.conftest import options


def test_learns_from_jsonl_with_numbers_booleans_and_lists(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "c.jsonl"
    with path.open("w") as fh:
        for i, row in enumerate(make_rows(300)):
            props = {k: v for k, v in row.items() if k != "id"}
            props["Minutes"] = float(props["Minutes"])  # a real number, not text
            props["Opt In"] = props["Opt In"] == "Yes"  # a real boolean
            props["Topics"] = ["AI", "Data"] if i % 2 else ["AI"]
            props["Converted"] = props["Converted"] == "1"
            fh.write(json.dumps({"id": row["id"], "properties": props}) + "\n")
    learned = learn(options(path, folds=3))  # the runtime-parity check inside learn() must pass
    assert {"Minutes", "Opt In", "Topics"} <= set(learned.used)
    assert any(f.property == "Topics" and f.value == "AI;Data" for f in learned.model_file.features)
    assert learned.evaluation.auc_probability > 0.7
    # Rule conditions match list items one by one, so a multi-select feeds the probability model only.
    assert not any(r.bucket is not None and r.bucket.column == "Topics" for r in learned.points.rules)
