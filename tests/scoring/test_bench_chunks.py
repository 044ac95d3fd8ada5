"""The chunk benchmark runs end to end on a small portal and its batch results equal the engine's.

Not a timed test: ``bench/bench_scoring_chunks.py`` prints the figures; this only keeps it working.
"""

from __future__ import annotations

import pathlib

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


def test_chunk_bench_prints_its_figures(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    import bench_scoring_chunks

    code = bench_scoring_chunks.main(["--contacts", "600", "--chunk", "150", "--activities-per-contact", "4", "--repeat", "1", "--check", "4"])
    figures = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines() if ": " in line)
    assert code == 0
    assert figures["identical"] == "true"
    assert figures["chunks"] == "4" and figures["contacts"] == "600"
    for key in ("b2b-saas.us_per_contact", "product-line-b.us_per_contact", "all_models.us_per_contact", "all_models.us_per_call"):
        assert float(figures[key]) > 0
