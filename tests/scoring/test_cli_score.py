"""``connector score`` end to end on the shipped example data and models."""

from __future__ import annotations

import json
import pathlib

import pytest
from typer.testing import CliRunner

from connector.cli import app

REPO = pathlib.Path(__file__).resolve().parents[2]
EX = REPO / "mappings" / "examples"
B2B = REPO / "mappings" / "models" / "b2b-saas.yaml"
PLB = REPO / "mappings" / "models" / "product-line-b.yaml"
AS_OF = "2026-11-01T00:00:00Z"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_scores_every_contact_with_two_models(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "scores.jsonl"
    code, text = run(
        "score", "--model", str(B2B), "--model", str(PLB),
        "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"),
        "--adjustments", str(EX / "adjustments.jsonl"), "--identities", str(EX / "identities.jsonl"),
        "--as-of", AS_OF, "--output", str(out),
    )
    assert code == 0, text
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 100
    assert {r["model"] for r in rows} == {"b2b-saas", "product-line-b"}
    for key in ("contact_id", "model", "score", "dimensions", "grade", "stage", "triggers", "reasons"):
        assert all(key in r for r in rows), key
    by = {(r["contact_id"], r["model"]): r for r in rows}
    assert by[("c007", "b2b-saas")]["excluded"] == "competitor"
    assert by[("c013", "b2b-saas")]["excluded"] == "own company"
    assert by[("c013", "product-line-b")]["excluded"] is None
    assert set(by[("c001", "product-line-b")]["dimensions"]) == {"contact", "activity", "engagement"}
    adjusted = [x for x in by[("c002", "b2b-saas")]["reasons"] if x["kind"] == "adjustment"]
    assert adjusted and adjusted[0]["label"] == "Met at SaaStr, budget confirmed"
    assert "Scoring summary" in text and "wrote 100 result(s)" in text


def test_csv_contacts_with_id_column_score_like_jsonl(tmp_path: pathlib.Path) -> None:
    common = ["--model", str(B2B), "--activities", str(EX / "activities.jsonl"), "--identities", str(EX / "identities.jsonl"), "--as-of", AS_OF]
    code, text = run("score", *common, "--contacts", str(EX / "contacts.jsonl"), "--output", str(tmp_path / "a.jsonl"))
    assert code == 0, text
    code, text = run("score", *common, "--contacts", str(EX / "contacts.csv"), "--id-column", "Contact ID", "--output", str(tmp_path / "b.jsonl"))
    assert code == 0, text
    a = {json.loads(x)["contact_id"]: json.loads(x)["score"] for x in (tmp_path / "a.jsonl").read_text().splitlines()}
    b = {json.loads(x)["contact_id"]: json.loads(x)["score"] for x in (tmp_path / "b.jsonl").read_text().splitlines()}
    assert a == b


def test_anonymous_history_counts_through_identities(tmp_path: pathlib.Path) -> None:
    base = ["--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"), "--as-of", AS_OF]
    run("score", *base, "--output", str(tmp_path / "without.jsonl"))
    run("score", *base, "--identities", str(EX / "identities.jsonl"), "--output", str(tmp_path / "with.jsonl"))

    def engagement(name: str) -> float:
        rows = [json.loads(x) for x in (tmp_path / name).read_text().splitlines()]
        return next(r["dimensions"]["engagement"] for r in rows if r["contact_id"] == "c004")

    assert engagement("with.jsonl") > engagement("without.jsonl")


def test_bad_lines_are_listed_and_the_rest_scored(tmp_path: pathlib.Path) -> None:
    contacts = tmp_path / "c.jsonl"
    contacts.write_text('{"id": "x1", "properties": {"job_title": "VP Marketing"}}\n{oops\n{"id": "x2"}\n', encoding="utf-8")
    acts = tmp_path / "a.jsonl"
    acts.write_text('{"id": "a1", "contact_id": "x1", "type": "form_submit", "occurred_at": "2026-10-30", "attributes": {"form": "contact-us"}}\n{"id": "a2"}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    code, text = run("score", "--model", str(B2B), "--contacts", str(contacts), "--activities", str(acts), "--as-of", AS_OF, "--output", str(out))
    assert code == 0, text
    assert len(out.read_text().splitlines()) == 2
    assert "2 input problem(s)" in text
    assert f"{contacts}:2:" in text.replace("\n", "") and f"{acts}:2:" in text.replace("\n", "")
    code, text = run("score", "--model", str(B2B), "--contacts", str(contacts), "--activities", str(acts), "--as-of", AS_OF, "--output", str(tmp_path / "s.jsonl"), "--strict")
    assert code == 1 and f"{contacts}:2:" in text.replace("\n", "")
    assert not (tmp_path / "s.jsonl").exists()


def test_nothing_readable_exits_1(tmp_path: pathlib.Path) -> None:
    contacts = tmp_path / "c.jsonl"
    contacts.write_text("garbage\n", encoding="utf-8")
    code, text = run("score", "--model", str(B2B), "--contacts", str(contacts), "--activities", str(EX / "activities.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1
    assert f"nothing could be read from {contacts}" in text.replace("\n", "")
    code, text = run("score", "--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1
    assert "file not found" in text and "nothing could be read" in text
    code, text = run("score", "--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"), "--output", str(tmp_path / "no" / "dir" / "o.jsonl"))
    assert code == 1 and "cannot write" in text


def test_many_problems_are_counted_not_all_listed(tmp_path: pathlib.Path) -> None:
    contacts = tmp_path / "c.jsonl"
    contacts.write_text('{"id": "ok"}\n' + "bad\n" * 120, encoding="utf-8")
    code, text = run("score", "--model", str(B2B), "--contacts", str(contacts), "--activities", str(EX / "activities.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert code == 0
    assert "120 input problem(s)" in text and "... and 70 more" in text


def test_broken_model_and_bad_as_of(tmp_path: pathlib.Path) -> None:
    model = tmp_path / "m.yaml"
    model.write_text("model: m\ndimensions: {fit: {floor: 10, ceiling: 5}}\n", encoding="utf-8")
    code, text = run("score", "--model", str(model), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1 and f"{model}:2: dimensions.fit:" in text.replace("\n", "")
    code, text = run("score", "--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"), "--as-of", "soon", "--output", str(tmp_path / "o.jsonl"))
    assert code == 2 and "ISO 8601" in text


def test_stdout_output_and_progress_bar_on_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from connector.cli import score as score_cli

    monkeypatch.setattr(score_cli, "PROGRESS_FROM", 1)  # every run counts as long
    result = CliRunner().invoke(
        app,
        ["score", "--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), "--activities", str(EX / "activities.jsonl"), "--as-of", AS_OF, "--output", "-"],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 50
