"""``connector learn`` from the command line: files written, figures printed, clear errors."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest
from typer.testing import CliRunner

from connector.cli import app
from tests.predictive._synth import make_rows, write_csv


def test_learn_writes_model_json_and_report(synth_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "models" / "learned.yaml"
    result = CliRunner().invoke(
        app,
        ["learn", "--contacts", str(synth_dir / "contacts.csv"), "--activities", str(synth_dir / "activities.jsonl"), "--label", "Converted",
         "--id-column", "id", "--exclude", "Country", "--trees", "30", "--as-of", "2026-03-01T00:00:00Z", "--output", str(out), "--report", str(tmp_path / "rep")],
    )
    assert result.exit_code == 0, result.output
    for text in ("out-of-fold ROC AUC (nested 5-fold CV", "): probability", "points model", "out-of-fold calibration error", "precision", "recall",
                 "written hot threshold", "in-sample for that choice"):
        assert text in result.output
    assert out.exists() and (out.parent / "learned.probability.json").exists()
    assert 'probability: {floor: 0, ceiling: 100, weight: 1, predictive: {model_file: "learned.probability.json"}}' in out.read_text()
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "lift_gain.png" in report and "`Country`: excluded by --exclude" in report
    assert (tmp_path / "rep" / "lift_gain.png").read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "rep" / "thresholds.csv").read_text().splitlines()[0]
    assert header == "score,threshold,contacts_above,share_of_contacts,conversion_rate,share_of_conversions"


def test_learned_model_scores_with_connector_score(synth_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "m.yaml"
    runner = CliRunner()
    learned = runner.invoke(app, ["learn", "--contacts", str(synth_dir / "contacts.csv"), "--label", "Converted", "--id-column", "id", "--trees", "20", "--output", str(out)])
    assert learned.exit_code == 0, learned.output
    scored = runner.invoke(
        app,
        ["score", "--model", str(out), "--contacts", str(synth_dir / "contacts.csv"), "--activities", str(synth_dir / "activities.jsonl"),
         "--id-column", "id", "--output", str(tmp_path / "s.jsonl"), "--as-of", "2026-03-01T00:00:00Z"],
    )
    assert scored.exit_code == 0, scored.output
    lines = (tmp_path / "s.jsonl").read_text().splitlines()
    assert len(lines) == 600 and '"kind": "predictive"' in lines[0]


def test_bad_input_exits_2_with_message(tmp_path: pathlib.Path) -> None:
    path = write_csv(tmp_path / "c.csv", make_rows(50))
    result = CliRunner().invoke(app, ["learn", "--contacts", str(path), "--label", "Converted", "--output", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2
    assert "too little data: 50 labelled contacts" in result.output
    assert not (tmp_path / "m.yaml").exists()


def test_without_scikit_learn_says_how_to_install(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    result = CliRunner().invoke(app, ["learn", "--contacts", "x.csv", "--label", "y", "--output", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2
    assert "pip install 'connector[learn]'" in result.output


def test_bad_as_of_is_refused(tmp_path: pathlib.Path) -> None:
    result = CliRunner().invoke(app, ["learn", "--contacts", "x.csv", "--label", "y", "--as-of", "last week", "--output", str(tmp_path / "m.yaml")])
    assert result.exit_code == 2 and "not an ISO 8601" in result.output
