"""``connector score`` without activities (fit only) and with ``--state`` across runs."""

from __future__ import annotations

import json
import pathlib

from typer.testing import CliRunner

from connector.cli import app

REPO = pathlib.Path(__file__).resolve().parents[2]
EX = REPO / "mappings" / "examples"
B2B = REPO / "mappings" / "models" / "b2b-saas.yaml"
AS_OF = "2026-11-01T00:00:00Z"
LATER = "2026-11-02T00:00:00Z"


def score(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["score", "--model", str(B2B), "--contacts", str(EX / "contacts.jsonl"), *args])
    return result.exit_code, result.output.replace("\n", "")


def results(path: pathlib.Path) -> dict[str, dict[str, object]]:
    return {row["contact_id"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_fit_only_scoring_needs_no_activities_file(tmp_path: pathlib.Path) -> None:
    code, text = score("--as-of", AS_OF, "--output", str(tmp_path / "o.jsonl"))
    assert code == 0, text
    rows = results(tmp_path / "o.jsonl")
    assert len(rows) == 50
    assert all(r["dimensions"]["engagement"] == 0 for r in rows.values())  # type: ignore[index]
    assert any(r["dimensions"]["fit"] > 0 for r in rows.values())  # type: ignore[index]


def test_state_file_carries_stages_and_trigger_arming_between_runs(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.jsonl"
    with_acts = ["--activities", str(EX / "activities.jsonl"), "--identities", str(EX / "identities.jsonl")]
    code, text = score(*with_acts, "--as-of", AS_OF, "--state", str(state), "--output", str(tmp_path / "1.jsonl"))
    assert code == 0, text
    assert "state of 50 contact(s)" in text
    first = results(tmp_path / "1.jsonl")
    fired = {cid: [e["trigger"] for e in r["triggers"]] for cid, r in first.items() if r["triggers"]}  # type: ignore[attr-defined]
    assert fired, "the example data fires some triggers"
    lines = [json.loads(x) for x in state.read_text().splitlines()]
    assert set(lines[0]) == {"contact_id", "model", "as_of", "stage", "stage_entered_at", "armed"}
    assert {x["contact_id"] for x in lines} == set(first)

    # Same inputs, same state: nothing fires twice, stages stay.
    code, text = score(*with_acts, "--as-of", LATER, "--state", str(state), "--output", str(tmp_path / "2.jsonl"))
    assert code == 0, text
    second = results(tmp_path / "2.jsonl")
    assert not any(r["triggers"] for cid, r in second.items() if cid in fired)
    assert all(second[cid]["stage"] == first[cid]["stage"] for cid in first if first[cid]["stage"] in ("mql", "sql"))

    # Without the activities engagement falls: stages do not move back, engagement triggers re-arm.
    code, text = score("--as-of", "2026-11-03T00:00:00Z", "--state", str(state), "--output", str(tmp_path / "3.jsonl"))
    assert code == 0, text
    third = results(tmp_path / "3.jsonl")
    order = ["subscriber", "lead", "mql", "sql", "opportunity", "customer"]
    for cid, row in first.items():
        if row["stage"] is not None and third[cid]["stage"] is not None:
            assert order.index(third[cid]["stage"]) >= order.index(row["stage"]), cid  # type: ignore[arg-type]
    hot = [cid for cid, names in fired.items() if "hot_engagement" in names]
    assert hot and all(third[cid]["state"]["armed"]["hot_engagement"] is True for cid in hot)  # type: ignore[index]
    assert all(json.loads(x)["as_of"].startswith("2026-11-03") for x in state.read_text().splitlines())


def test_a_broken_or_newer_state_file_stops_the_run_before_scoring(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.jsonl"
    state.write_text(
        '{"contact_id": "c001", "model": "b2b-saas", "as_of": "2026-11-01T00:00:00Z", "stage": "mql", "stage_entered_at": null, "armed": {}}\n'
        '{"contact_id": "c002", "model": "b2b-saas", "as_of": "2026-11-01T00:00:00Z", "stage": 3, "armed": {}}\n'
        '{"contact_id": "c001", "model": "b2b-saas", "as_of": "2026-11-01T00:00:00Z", "armed": {"x": "yes"}}\n',
        encoding="utf-8",
    )
    before = state.read_text()
    code, text = score("--as-of", AS_OF, "--state", str(state), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1
    assert f"{state}:2: stage: expected text or null" in text and f"{state}:3: armed:" in text
    assert not (tmp_path / "o.jsonl").exists() and state.read_text() == before
    state.write_text('{"contact_id": "c001", "model": "b2b-saas", "as_of": "2026-12-01T00:00:00Z", "stage": "mql", "armed": {}}\n', encoding="utf-8")
    code, text = score("--as-of", AS_OF, "--state", str(state), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1 and "1 state(s) were written by a later scoring than --as-of" in text
    code, text = score("--as-of", AS_OF, "--state", str(tmp_path / "state.csv"), "--output", str(tmp_path / "o.jsonl"))
    assert code == 1 and "a state file is JSON Lines: name it .jsonl" in text and not (tmp_path / "state.csv").exists()


def test_validate_says_the_crm_was_not_consulted(tmp_path: pathlib.Path) -> None:
    mapping = tmp_path / "hubspot.yaml"
    text = (REPO / "mappings" / "hubspot.yaml").read_text(encoding="utf-8")
    mapping.write_text(text.replace("job_title: jobtitle", "job_title: no_such_property_in_any_portal"), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(mapping)])
    out = result.output.replace("\n", "")
    assert result.exit_code == 0, out
    assert "the CRM was not consulted" in out and "connector check --crm NAME" in out
    result = CliRunner().invoke(app, ["validate", str(B2B)])
    assert "not consulted" not in result.output
