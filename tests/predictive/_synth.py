"""Small synthetic labelled data sets for the learner's tests: known signal, known noise, known leaks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import pathlib
import typing as t

import numpy as np

AS_OF = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
SOURCES = ["Google", "Referral", "Ads", "Select", ""]
SOURCE_EFFECT = {"Google": 0.3, "Referral": 1.6, "Ads": -1.2, "Select": -0.4, "": -0.4}


def make_rows(n: int = 600, seed: int = 1, *, leak: bool = False, labels: tuple[str, str] = ("1", "0")) -> list[dict[str, t.Any]]:
    """Contacts whose conversion depends on Source, Minutes and Visits; Country is noise.

    With ``leak``, ``Outcome Note`` spells out the label (as a sales note filled in afterwards would).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        source = SOURCES[int(rng.integers(len(SOURCES)))]
        minutes = float(rng.gamma(2.0, 300.0))
        visits = "" if rng.random() < 0.1 else str(int(rng.poisson(4)))
        country = ["India", "US", "UK"][int(rng.integers(3))]
        z = SOURCE_EFFECT[source] + 2.2 * (minutes / 600.0 - 1.0) + (0.15 * (float(visits) - 4) if visits else -0.3)
        label = int(rng.random() < 1 / (1 + math.exp(-z)))
        row: dict[str, t.Any] = {
            "id": f"c{i}",
            "Source": source,
            "Minutes": f"{minutes:.0f}",
            "Visits": visits,
            "Country": country,
            "Opt In": "Yes" if rng.random() < 0.5 else "No",
            "Converted": labels[0] if label else labels[1],
        }
        if leak:
            row["Outcome Note"] = ("won deal" if rng.random() < 0.97 else "lost") if label else ("lost" if rng.random() < 0.97 else "won deal")
        rows.append(row)
    return rows


def write_csv(path: pathlib.Path, rows: t.Sequence[dict[str, t.Any]]) -> pathlib.Path:
    """Write rows as CSV (header from the first row)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    return path


def write_activities(path: pathlib.Path, rows: t.Sequence[dict[str, t.Any]], seed: int = 2) -> pathlib.Path:
    """Activities: converters open more e-mails, recently; everyone views pages at random."""
    rng = np.random.default_rng(seed)
    k = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            converted = row["Converted"] in ("1", "yes", "true")
            opens = int(rng.poisson(1.6 if converted else 1.0))
            for _ in range(opens):
                age = float(rng.uniform(0, 60 if converted else 120))
                when = AS_OF - dt.timedelta(days=age)
                fh.write(json.dumps({"id": f"a{k}", "contact_id": row["id"], "type": "email_open", "occurred_at": when.isoformat()}) + "\n")
                k += 1
            for _ in range(int(rng.poisson(2))):
                when = AS_OF - dt.timedelta(days=float(rng.uniform(0, 90)))
                fh.write(json.dumps({"id": f"a{k}", "contact_id": row["id"], "type": "page_view", "occurred_at": when.isoformat(), "url": "/x"}) + "\n")
                k += 1
    return path
