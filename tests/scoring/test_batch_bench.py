"""The scoring benchmark runs end to end on a small portal and its batch results equal the loop's.

Not a timed test: figures are printed by ``bench/bench_scoring.py``; this only keeps it working.
"""

from __future__ import annotations

import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def test_bench_prints_its_figures(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_scoring

    code = bench_scoring.main(["--contacts", "3000", "--activities", "30000", "--loop-sample", "300", "--seed", "3"])
    figures = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    assert code == 0
    assert figures["sample_identical"] == "true"
    for key in ("contacts_per_s", "activities_per_s", "seconds", "peak_rss_mb", "speedup_vs_loop", "loop_mode"):
        assert key in figures
    assert figures["contacts"] == "3000" and figures["activities"] == "30000"
    assert "sampled 300 of 3000 contacts" in figures["loop_mode"]


def test_bench_refuses_a_missing_model(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_scoring

    assert bench_scoring.main(["--model", str(tmp_path / "absent.yaml"), "--contacts", "10", "--activities", "10"]) == 2
    assert "absent.yaml" in capsys.readouterr().err
