"""Guards: too little data, constant labels, leaking and useless columns."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from connector.learn.dataset import DataError
from connector.learn.guards import MIN_CONTACTS, MIN_PER_OUTCOME, check_labels
from connector.learn.pipeline import learn
from tests.predictive._synth import AS_OF, make_rows, write_activities, write_csv
from tests.predictive.conftest import options


def test_too_little_data_says_what_is_needed() -> None:
    with pytest.raises(DataError, match=rf"40 labelled contacts \(10 converted, 30 not\).*at least {MIN_CONTACTS}.*{MIN_PER_OUTCOME} of each"):
        check_labels(np.array([1] * 10 + [0] * 30), "Converted")


def test_constant_label_is_refused() -> None:
    with pytest.raises(DataError, match="'won' is 0 .* for all 500"):
        check_labels(np.zeros(500, dtype=int), "won")


def test_small_but_usable_data_warns() -> None:
    warnings = check_labels(np.array([1] * 100 + [0] * 300), "won")
    assert warnings and "recommended" in warnings[0]


def test_leaky_column_is_excluded_unless_allowed(tmp_path: pathlib.Path) -> None:
    path = write_csv(tmp_path / "c.csv", make_rows(400, leak=True, labels=("yes", "no")))
    learned = learn(options(path, folds=3))
    reasons = {e.column: e.reason for e in learned.excluded}
    assert "leaks the outcome" in reasons["Outcome Note"] and "--allow-leaky" in reasons["Outcome Note"]
    assert "Outcome Note" not in learned.used
    assert [leak.column for leak in learned.leaks] == ["Outcome Note"]
    allowed = learn(options(path, folds=3, allow_leaky=("Outcome Note",)))
    assert "Outcome Note" in allowed.used
    assert any("kept because of --allow-leaky" in w for w in allowed.warnings)
    assert allowed.evaluation.auc_probability > learned.evaluation.auc_probability


def test_excluded_identifier_and_constant_columns(tmp_path: pathlib.Path) -> None:
    rows = make_rows(300)
    for i, row in enumerate(rows):
        row["Lead Number"] = str(100000 + i)
        row["Always"] = "No"
    learned = learn(options(write_csv(tmp_path / "c.csv", rows), folds=3, exclude=("Country", "Nope")))
    reasons = {e.column: e.reason for e in learned.excluded}
    assert "identifier" in reasons["Lead Number"]
    assert "same value" in reasons["Always"]
    assert reasons["Country"] == "excluded by --exclude"
    assert any("--exclude Nope: no such column" in w for w in learned.warnings)
    assert set(learned.used) == {"Source", "Minutes", "Visits", "Opt In"}


def test_placeholders_count_as_missing(tmp_path: pathlib.Path) -> None:
    learned = learn(options(write_csv(tmp_path / "c.csv", make_rows(300)), folds=3))
    source_levels = {f.value for f in learned.model_file.features if f.property == "Source" and f.kind == "level"}
    assert "Select" not in source_levels and "Google" in source_levels
    assert any(f.kind == "missing" and f.property == "Source" for f in learned.model_file.features)


def test_activity_type_that_leaks_or_is_excluded_is_left_out(tmp_path: pathlib.Path) -> None:
    rows = make_rows(300)
    path = write_csv(tmp_path / "c.csv", rows)
    acts = tmp_path / "a.jsonl"
    write_activities(acts, rows)
    with acts.open("a") as fh:
        for row in rows:
            if row["Converted"] == "1":  # logged when the deal closed: after the outcome
                fh.write(json.dumps({"id": f"p-{row['id']}", "contact_id": row["id"], "type": "purchase", "occurred_at": "2026-02-27T00:00:00Z"}) + "\n")
    learned = learn(options(path, folds=3, activities=acts, as_of=AS_OF, exclude=("activity:page_view",)))
    reasons = {e.column: e.reason for e in learned.excluded}
    assert "leaks the outcome" in reasons["activity:purchase"]
    assert reasons["activity:page_view"] == "excluded by --exclude"
    assert {f.types[0] for f in learned.model_file.features if f.types} == {"email_open"}
    assert not any("no such column" in w for w in learned.warnings)


def test_activities_that_match_no_contact_are_refused_or_reported(tmp_path: pathlib.Path) -> None:
    rows = make_rows(200)
    path = write_csv(tmp_path / "c.csv", rows)
    acts = tmp_path / "a.jsonl"
    acts.write_text(json.dumps({"id": "x1", "contact_id": "someone-else", "type": "email_open", "occurred_at": "2026-01-01T00:00:00Z"}) + "\n")
    with pytest.raises(DataError, match="none of its 1 activities belongs to a labelled contact"):
        learn(options(path, folds=3, activities=acts))
    write_activities(acts, rows)
    with acts.open("a") as fh:
        fh.write(json.dumps({"id": "x1", "contact_id": "someone-else", "type": "email_open", "occurred_at": "2026-01-01T00:00:00Z"}) + "\n")
    learned = learn(options(path, folds=3, activities=acts))
    assert any("1 of" in w and "belong to no labelled contact" in w for w in learned.warnings)
