"""The daily full rescore of a large stored portal: wall time and peak memory, SQLite or PostgreSQL.

    .venv/bin/python bench/bench_rescore.py --contacts 1000000 --activities 10000000 --database postgresql+psycopg://postgres@127.0.0.1:5432/db

A portal shaped like a B2B SaaS company's (``bench/_scoring_data.py``: the data ``bench_scoring``
scores) is written straight into the state store (``--database``: a new SQLite file, or a fresh
schema on a PostgreSQL server, dropped after; default: SQLite in a temporary folder) by the
driver's bulk path (PostgreSQL ``COPY``; SQLite ``executemany`` in one transaction), then analyzed.
Loading is timed apart: a real portal arrives through the sync.

Then, each in a process of its own (so its peak memory is its own, not the generator's):

1. **first scoring**: ``run_sync`` scores every stored contact under the shipped models (trigger
   actions left out) and writes every score and every output (to a CRM that accepts everything
   and makes no request: the CRM's rate limit is not what is measured here);
2. **daily full rescore**: ``run_sync(full=True)`` one day later -- decay moves some scores;
3. with ``--then-hours H``, an **incremental run** H hours after it on the store it left (the
   contacts decay made due since: column-wise when they are many, see ``COLUMNAR_SHARE``).

On SQLite a rescore keeps its activity scan (``connector/sync/scankeep.py``): a run on a store a
rescore of this code left (``--scored`` with ``--day N``) reads it back and only the rows added
since; the first rescore of a freshly loaded store, or of one the older code scored, reads the
table whole and keeps it. Compare such runs with like.

With ``--model-change`` the full rescore (and the incremental run) score under a changed
``b2b-saas`` model (the marketing-title rule worth 30 points instead of 25): what a RevOps admin's
edit costs, every contact's fingerprint moved and every score row written again.

Printed per run: wall time, CPU time of the run's process and of its scoring worker (what the
run costs whatever else the shared machine does), contacts scored, real changes, DB rows written
by the run's connection (INSERT/UPDATE/DELETE row counts), peak RSS of the run's process and of
its scoring worker, load average before and after. Targets (issue 12): the rescore of 1,000,000 contacts with
10,000,000 activities in at most 60 s on either store, peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import resource
import shutil
import sys
import tempfile
import time
import typing as t

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from bench_sync import RowsWritten, in_process, model_files, peak_rss_mb, state_database  # noqa: E402

__all__ = ["main"]

CRM = "bench"
AS_OF = dt.datetime(2026, 11, 1, 3, 0, tzinfo=dt.UTC)


def load_portal(database_url: str, contacts: int, activities: int, seed: int) -> dict[str, float]:
    """Generate the portal and write it into the state store; returns the seconds of each step."""
    import numpy as np
    from _scoring_data import generate

    from connector.scoring.columns import from_micros
    from connector.scoring.loader import load_model
    from connector.sync.db import open_database
    from connector.sync.store import Store

    started = time.perf_counter()
    data = generate(load_model(REPO / "mappings" / "models" / "b2b-saas.yaml"), contacts, activities, seed, AS_OF)
    generated = time.perf_counter()
    engine = open_database(database_url)
    cols = data.contacts
    names = list(cols.properties)
    per_name = [(n, cols.properties[n].codes.tolist(), cols.properties[n].values) for n in names]
    emails = cols.properties["email"]

    def contact_rows() -> t.Iterator[tuple[t.Any, ...]]:
        for i, cid in enumerate(cols.ids):
            props = {n: values[codes[i]] for n, codes, values in per_name if codes[i] >= 0}
            email = emails.values[emails.codes[i]] if emails.codes[i] >= 0 else None
            yield (CRM, cid, email, json.dumps(props), AS_OF, AS_OF, True)

    acts = data.activities
    type_values = acts.type.values
    attr_names = list(acts.attributes)
    attr_codes = [acts.attributes[n].codes for n in attr_names]
    attr_values = [acts.attributes[n].values for n in attr_names]
    occurred = [from_micros(int(us)) for us in np.unique(acts.occurred)]
    when = dict(zip(np.unique(acts.occurred).tolist(), occurred, strict=True))

    def activity_rows() -> t.Iterator[tuple[t.Any, ...]]:
        contact_of, type_of, at = acts.contact.tolist(), acts.type.codes.tolist(), acts.occurred.tolist()
        per_attr = [c.tolist() for c in attr_codes]
        for j in range(len(contact_of)):
            attrs = {attr_names[k]: attr_values[k][per_attr[k][j]] for k in range(len(attr_names)) if per_attr[k][j] >= 0}
            yield (CRM, f"a{j}", type_values[type_of[j]], when[at[j]], f"c{contact_of[j]}", json.dumps(attrs), AS_OF)

    contact_cols = "crm, id, email, properties, updated_at, pulled_at, needs_score"
    activity_cols = "crm, id, type, occurred_at, contact_id, attributes, pulled_at"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            for table, columns, rows in (("contacts", contact_cols, contact_rows()), ("activities", activity_cols, activity_rows())):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
        else:
            # SQLite stores naive UTC text (what UTCDateTime binds there).
            def naive(value: dt.datetime) -> str:
                return value.replace(tzinfo=None).isoformat(" ")

            cur.executemany(f"INSERT INTO contacts ({contact_cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", ((*r[:4], naive(r[4]), naive(r[5]), r[6]) for r in contact_rows()))
            cur.executemany(f"INSERT INTO activities ({activity_cols}) VALUES (?, ?, ?, ?, ?, ?, ?)", ((*r[:3], naive(r[3]), r[4], r[5], naive(r[6])) for r in activity_rows()))
        raw.commit()
    finally:
        raw.close()
    loaded = time.perf_counter()
    Store(engine, CRM).statistics.analyze()
    engine.dispose()
    return {"generate": generated - started, "load": loaded - generated, "analyze": time.perf_counter() - loaded}


class NullCRM:
    """A CRM adapter that pulls nothing and accepts every write at once (no request, no rate limit)."""

    def __init__(self, gate: t.Any) -> None:
        from tests.fakecrm import FakeAdapter, FakeCRM

        self._fake = FakeAdapter(FakeCRM(), gate, page_size=200, max_batch_size=100)
        self.stats = self._fake.stats
        self.gate = gate

    def __getattr__(self, name: str) -> t.Any:
        return getattr(self._fake, name)

    def push(self, updates: t.Sequence[t.Any]) -> t.Any:
        from connector.adapters.base import PushResult

        return PushResult(written=[u.contact_id for u in updates])


def changed_model(path: pathlib.Path) -> None:
    """The model change of ``--model-change``: the marketing-title rule of ``b2b-saas`` worth 30 points instead of 25."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rule = next(r for r in data["rules"] if r["id"] == "title_marketing")
    rule["points"] = 30
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def run_once(database_url: str, folder: str, full: bool, as_of: dt.datetime, model_change: bool = False) -> dict[str, t.Any]:
    """One run in this (fresh) process: its figures and peak memory."""
    from connector.sync.config import crm_entry, load_config, write_config
    from connector.sync.db import open_database
    from connector.sync.pipeline import run_sync

    (pathlib.Path(folder) / "mapping.yaml").write_text((REPO / "tests" / "sync" / "data" / "mapping.yaml").read_text())
    models = model_files(pathlib.Path(folder), with_triggers=False)
    if model_change:
        changed_model(next(p for p in models if p.name == "b2b-saas.yaml"))
    entry = crm_entry(CRM, "tests.fakecrm", "mapping.yaml", [str(p) for p in models], credentials={"token": "BENCH_TOKEN"})
    config = load_config(write_config(pathlib.Path(folder) / "connector.yaml", [entry], database_url=database_url, log_level="WARNING"))
    engine = open_database(database_url)
    rows = RowsWritten(engine)
    load0 = os.getloadavg()[0]
    started = time.perf_counter()
    summary = run_sync(config, CRM, full=full, clock=lambda: as_of, adapter_factory=lambda crm, gate: NullCRM(gate), engine=engine)  # type: ignore[arg-type,return-value]
    wall = time.perf_counter() - started
    peak = peak_rss_mb()
    engine.dispose()
    own, worker = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "status": summary.status,
        "error": summary.error,
        "wall": wall,
        "scored": summary.scored,
        "changed": summary.changed,
        "written": summary.written,
        "rows": rows.rows,
        "peak_mb": peak[0],
        "worker_peak_mb": peak[1],
        # CPU of the run's process and of its scoring worker: what the run costs whatever else the machine does
        "cpu": (own.ru_utime + own.ru_stime, worker.ru_utime + worker.ru_stime),
        "load": (load0, os.getloadavg()[0]),
    }


def copy_sqlite(source: pathlib.Path, target: pathlib.Path) -> None:
    """Copy an SQLite database that no connection holds open, with its write-ahead log if one was left.

    The copy is flushed to disk before anything is timed: gigabytes of it left for the kernel to
    write back competed with the run that followed (the same code measured 104 to 124 s in one session).
    """
    for suffix in ("-wal", "-shm"):
        pathlib.Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    wal = pathlib.Path(f"{source}-wal")
    if wal.exists():
        shutil.copyfile(wal, f"{target}-wal")
    os.sync()


def main(argv: t.Sequence[str] | None = None) -> int:
    """Load a portal, run the first scoring and the daily full rescore, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database", metavar="SQLITE_FILE|POSTGRES_URL", help="a new SQLite file, or a PostgreSQL URL (a fresh schema, dropped after); default: SQLite in a temporary folder")
    parser.add_argument(
        "--portal", metavar="SQLITE_FILE", type=pathlib.Path,
        help="SQLite only: keep the loaded (unscored) portal in this file, or start from a copy of it if it exists (loading a million contacts into SQLite takes minutes)",
    )  # fmt: skip
    parser.add_argument(
        "--scored", metavar="SQLITE_FILE", type=pathlib.Path,
        help="SQLite only: keep the portal as the first scoring left it in this file, or, if it exists, start from a copy of it "
        "and run only the daily rescore (to compare two versions of the code on the same state; the first scoring of a million contacts takes 8-12 minutes)",
    )  # fmt: skip
    parser.add_argument("--day", type=int, default=1, help="the daily rescore runs this many days after the first scoring (default 1; a --scored portal already rescored on day 1 is rescored on day 2)")
    parser.add_argument(
        "--model-change", action="store_true",
        help="the full rescore runs after a change of the b2b-saas model (one rule's points): every contact's fingerprint moves and every score row is written again",
    )  # fmt: skip
    parser.add_argument(
        "--then-hours", type=float, metavar="H",
        help="then an incremental run this many hours after the daily rescore, on the store it left (decay makes the most active contacts due)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-rescore-") as tmp, state_database(args.database, pathlib.Path(tmp)) as url:
        store = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"portal: {args.contacts:,} contacts, {args.activities:,} activities, state store {store}; load average {os.getloadavg()[0]:.2f}", flush=True)
        target = pathlib.Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
        if (args.portal is not None or args.scored is not None) and target is None:
            raise SystemExit("--portal and --scored keep an SQLite portal; leave them out with a PostgreSQL --database")
        reuse = args.scored is not None and args.scored.exists()
        if reuse:
            copy_sqlite(t.cast(pathlib.Path, args.scored), t.cast(pathlib.Path, target))
            print(f"loaded: a copy of {args.scored} (scored already)", flush=True)
        elif args.portal is not None and args.portal.exists():
            copy_sqlite(args.portal, t.cast(pathlib.Path, target))
            print(f"loaded: a copy of {args.portal}", flush=True)
        else:
            steps = in_process(load_portal, url, args.contacts, args.activities, args.seed)
            print(f"loaded: generated in {steps['generate']:.1f} s, written in {steps['load']:.1f} s (bulk path), analyzed in {steps['analyze']:.1f} s", flush=True)
            if args.portal is not None:
                copy_sqlite(t.cast(pathlib.Path, target), args.portal)
        table = []
        later = f"{args.day} day{'s' if args.day != 1 else ''} later"
        rescore = f"full rescore after a model change ({later})" if args.model_change else f"daily full rescore ({later})"
        runs = [("first scoring (every contact new)", False, AS_OF, False), (rescore, True, AS_OF + dt.timedelta(days=args.day), args.model_change)]
        if args.then_hours is not None:
            runs.append((f"incremental run {args.then_hours:g} h after it", False, AS_OF + dt.timedelta(days=args.day, hours=args.then_hours), args.model_change))
        for name, full, as_of, model_change in runs[1:] if reuse else runs:
            out = in_process(run_once, url, tmp, full, as_of, model_change)
            table.append((name, out))
            print(f"{name}: {out['wall']:.1f} s, status {out['status']}{' (' + str(out['error']) + ')' if out['error'] else ''}", flush=True)
            if as_of == AS_OF and args.scored is not None and not reuse:
                copy_sqlite(t.cast(pathlib.Path, target), args.scored)
    print()
    print(f"| run ({args.contacts:,} contacts, {args.activities:,} activities, {store}) | wall s | CPU s run + worker | scored | changed | DB rows written | peak RSS run / worker | load |")
    print("|---|---|---|---|---|---|---|---|")
    for name, o in table:
        cpu = f"{o['cpu'][0]:.1f} + {o['cpu'][1]:.1f}"
        print(f"| {name} | {o['wall']:.1f} | {cpu} | {o['scored']:,} | {o['changed']:,} | {o['rows']:,} | {o['peak_mb']:,.0f} / {o['worker_peak_mb']:,.0f} MB | {o['load'][0]:.2f} -> {o['load'][1]:.2f} |")
    return 0 if all(o["status"] == "ok" for _, o in table) else 1


if __name__ == "__main__":
    sys.exit(main())
