"""KPI report benchmark: reading the figures and drawing the report for N stored contacts.

    .venv/bin/python bench/bench_report.py --contacts 100000

Fills an SQLite state store with ``--contacts`` scored contacts (reasons, stage history, outcomes,
firings, runs: the generator of ``tests/report/seed.py``), then prints ``key: value`` lines:
``seed_seconds`` (not part of the report), ``figures_seconds`` (``report_data``: every query and
count), ``draw_seconds`` (matplotlib charts, the HTML page and the PNG files), ``html_kb`` and
``load_average`` (the machine is shared: read the figures with it).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from connector.report.html import write_report
from connector.sync.db import open_database
from connector.sync.reportdata import report_data
from tests.report.seed import CRM, seed


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{pathlib.Path(tmp) / 'state.db'}"
        started = time.perf_counter()
        seeded = seed(url, n=args.contacts)
        print(f"contacts: {args.contacts}")
        print(f"seed_seconds: {time.perf_counter() - started:.1f}")
        engine = open_database(url)
        started = time.perf_counter()
        data = report_data(engine, CRM, [seeded.model])
        print(f"figures_seconds: {time.perf_counter() - started:.2f}")
        started = time.perf_counter()
        page = write_report(data, pathlib.Path(tmp) / "out")
        print(f"draw_seconds: {time.perf_counter() - started:.2f}")
        print(f"html_kb: {page.stat().st_size // 1024}")
        engine.dispose()
    print(f"load_average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
