"""What-if benchmark: ``connector whatif`` over a state store of 100,000 contacts (target: under 10 s).

    .venv/bin/python bench/bench_whatif.py                                  # 100,000 contacts, 1,000,000 activities, SQLite
    .venv/bin/python bench/bench_whatif.py --contacts 20000 --activities 200000 --database-url postgresql+psycopg://...

Fills a fresh state database (a temporary SQLite file unless ``--database-url`` names an empty
one) with the realistic portal of ``_scoring_data.py`` for ``mappings/models/b2b-saas.yaml`` --
contacts with their properties, activities, 0.5 % of contacts with a manual adjustment, and each
contact's stored state (about 70 % already scored) -- then times what ``connector whatif --model
DRAFT`` does: reading the portal from the database and comparing the draft (the MQL thresholds
moved from fit 40 / engagement 40 to 35 / 45, the target industry worth 30 instead of 20) with the current model.

Prints ``key: value`` lines: ``fill_seconds`` (not part of what-if), ``load_seconds`` (reading the
state store), ``columns_seconds``, ``scoring_seconds`` (both models), ``compare_seconds``,
``whatif_seconds`` (everything the command does after opening the database; wall clock) and
``whatif_cpu_seconds`` (the CPU time this process used for it: steadier on a busy machine), the counts it
found, and ``load_average``/``cpus`` (the machine is shared; the figures say how busy it was).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _scoring_data import generate  # noqa: E402

from connector.scoring.batch import BatchScorer  # noqa: E402
from connector.scoring.columns import EPOCH, NO_TIME  # noqa: E402
from connector.scoring.loader import load_model  # noqa: E402
from connector.sync import whatif  # noqa: E402
from connector.sync.bulk import bulk_insert  # noqa: E402
from connector.sync.db import open_database  # noqa: E402
from connector.sync.tables import activities, adjustments, contacts, scores  # noqa: E402

MODEL = HERE.parent / "mappings" / "models" / "b2b-saas.yaml"
AS_OF = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
CRM = "bench"


def _time(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=int(us))


def fill(url: str, n: int, m: int, seed: int) -> None:
    """The generated portal, stored as the sync stores it."""
    model = load_model(MODEL)
    data = generate(model, n, m, seed, AS_OF)
    engine = open_database(url)
    props = data.contacts.properties
    rows = []
    for i, cid in enumerate(data.contacts.ids):
        values = {name: col.values[col.codes[i]] for name, col in props.items() if col.codes[i] >= 0}
        rows.append({"crm": CRM, "id": cid, "email": values.get("email"), "properties": values, "needs_score": False, "pulled_at": AS_OF})
    acts = data.activities
    url_col, form_col = acts.attributes["url"], acts.attributes["form_id"]
    act_rows = []
    for j in range(len(acts)):
        attrs = {}
        if url_col.codes[j] >= 0:
            attrs["url"] = url_col.values[url_col.codes[j]]
        if form_col.codes[j] >= 0:
            attrs["form_id"] = form_col.values[form_col.codes[j]]
        act_rows.append(
            {"crm": CRM, "id": f"a{j}", "type": acts.type.values[acts.type.codes[j]], "occurred_at": _time(acts.occurred[j]), "contact_id": data.contacts.ids[acts.contact[j]], "anonymous_id": None, "attributes": attrs, "pulled_at": AS_OF}
        )
    prev = data.previous
    score_rows = []
    for i, cid in enumerate(data.contacts.ids):
        if prev.stage[i] is None:
            continue
        state = {
            "stage": prev.stage[i],
            "stage_entered_at": _time(prev.entered[i]).isoformat() if prev.entered[i] != NO_TIME else None,
            "armed": {trig: bool(arr[i]) for trig, arr in prev.armed.items()},
        }
        score_rows.append({"crm": CRM, "contact_id": cid, "model": model.model, "score": 0.0, "stage": prev.stage[i], "state": state, "as_of": AS_OF - dt.timedelta(days=1)})
    adj = data.adjustments
    adj_rows = [
        {"crm": CRM, "contact_id": data.contacts.ids[adj.contact[k]], "model": model.model, "dimension": adj.dimension[k], "points": float(adj.points[k]),
         "reason": "bench", "by": "bench", "at": _time(adj.at[k]), "expires_at": None, "source": "bench"}
        for k in range(len(adj))
    ]
    with engine.begin() as conn:
        for table, chunk in ((contacts, rows), (activities, act_rows), (scores, score_rows)):
            for i in range(0, len(chunk), 20_000):
                bulk_insert(conn, table, chunk[i : i + 20_000])
        conn.execute(adjustments.insert(), adj_rows)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{pathlib.Path(folder.name) / 'state.db'}"
    started = time.perf_counter()
    fill(url, args.contacts, args.activities, args.seed)
    print(f"fill_seconds: {time.perf_counter() - started:.1f}")
    draft_path = pathlib.Path(folder.name) / "draft.yaml"
    text = MODEL.read_text().replace("thresholds: {fit: 40, engagement: 40}", "thresholds: {fit: 35, engagement: 45}")
    text = text.replace("    label: target industry\n    dimension: fit\n    points: 20", "    label: target industry\n    dimension: fit\n    points: 30")
    assert "points: 30" in text and "{fit: 35, engagement: 45}" in text, "the shipped model changed: update the draft's edits"
    draft_path.write_text(text)

    engine = open_database(url)
    started, cpu = time.perf_counter(), time.process_time()
    current, draft = load_model(MODEL), load_model(draft_path)
    portal = whatif.load_portal(engine, CRM, [current, draft])
    loaded = time.perf_counter()
    found = whatif.what_if(portal, BatchScorer(current), BatchScorer(draft), as_of=AS_OF)
    done = time.perf_counter()
    engine.dispose()
    print(f"contacts: {found.contacts}")
    print(f"activities_read: {len(portal.activities)}")
    print(f"load_seconds: {loaded - started:.2f}")
    for key, value in found.seconds.items():
        print(f"{key}_seconds: {value:.2f}")
    print(f"whatif_seconds: {done - started:.2f}")
    print(f"whatif_cpu_seconds: {time.process_time() - cpu:.2f}")
    print(f"changed_stage: {sum(c.count for c in found.crossings)}")
    print(f"movers_listed: {len(found.movers)}")
    print(f"load_average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"cpus: {os.cpu_count()}")
    _ = np  # numpy is imported for _scoring_data's columns
    folder.cleanup()


if __name__ == "__main__":
    main()
