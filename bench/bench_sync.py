"""Throughput of a full HubSpot sync against the rate limit: is the sync limited by HubSpot, or by us?

    .venv/bin/python bench/bench_sync.py --contacts 100000

A sandbox portal (in a separate process -- the real HubSpot does not share our interpreter -- on a
free loopback port, HubSpot's default limits: 190 requests per 10 s rolling, 5 searches per second)
is filled with generated contacts (titles, industries, sizes,
countries, lifecycle stages, owners) and light activity for a share of them (page views, form
submissions, marketing e-mail events). The output properties and lists are created first (not timed),
then the rate window is let empty and ONE full sync runs through the real adapter, rate limiter,
scorers and state store (SQLite in a temporary folder), with the shipped mapping and models.

Printed: wall time of the sync, API calls (search and other, counted by the sandbox), the rate-limit
bound, the ratio wall / bound (target <= 1.1), the 429s received (target 0), the connector's CPU
time, and the time of each stage so the part not spent waiting for HubSpot is visible.

The bound is the least time HubSpot's limits allow for these calls: each kind of call divided by
the rate allowed for it -- searches / 5 per s and other calls / 19 per s -- and, since the two
limits are separate budgets that the pipeline uses at the same time (pull on the search budget,
push on the general one), the larger of the two. The sum of the two terms (what a pipeline
running its stages one after the other could reach) was the bound printed before; it is still
printed, as "sequential bound", with the ratio against it, so old figures stay comparable. A
ratio below 1 against it only shows that it is not a bound for an overlapping pipeline.

After the full sync the bench runs the incremental scenarios (``--no-scenarios`` skips them) and
prints them as one table: the first incremental run after the full sync (HubSpot moved
``lastmodifieddate`` of every contact the sync wrote), an incremental run with nothing changed, one
after ``--change-share`` (1%) of the contacts had a property changed and as many had new activity,
and the daily full rescore (``full=True``, one day later: decay moves some scores). Each row: wall
time, API calls (searches), contacts pulled / scored / changed / written, rows the run wrote to the
state database (INSERT/UPDATE/DELETE row counts of the run's own connection; the scoring worker
only reads), and the load average before and after (the machine is shared: compare figures taken
side by side in one session only).

``--database`` puts the state store in an SQLite file (must not exist yet) or on PostgreSQL
(``postgresql+psycopg://user@host:port/db``: a fresh schema is created there and dropped at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses as dc
import functools
import multiprocessing as mp
import os
import pathlib
import random
import sys
import tempfile
import time
import typing as t
import uuid

REPO = pathlib.Path(__file__).resolve().parents[1]
DAY_MS = 86_400_000

__all__ = ["main"]


@dc.dataclass
class StageTimes:
    """Progress sink that records how long each stage of the run took."""

    seconds: dict[str, float] = dc.field(default_factory=dict)
    items: dict[str, int] = dc.field(default_factory=dict)
    #: stage -> (start, end) in seconds since the progress sink was made (stages may overlap)
    windows: dict[str, tuple[float, float]] = dc.field(default_factory=dict)
    _started: dict[str, float] = dc.field(default_factory=dict)
    _origin: float = dc.field(default_factory=time.perf_counter)

    def start(self, stage: str, total: int | None = None) -> None:
        self._started[stage] = time.perf_counter()
        self.items[stage] = 0
        print(f"  {stage} ...", flush=True)

    def advance(self, stage: str, amount: int) -> None:
        self.items[stage] = self.items.get(stage, 0) + amount

    def finish(self, stage: str) -> None:
        end = time.perf_counter()
        self.seconds[stage] = end - self._started[stage]
        self.windows[stage] = (self._started[stage] - self._origin, end - self._origin)
        print(f"  {stage}: {self.items.get(stage, 0):,} in {self.seconds[stage]:.1f} s", flush=True)


def fill_portal(sandbox: t.Any, contacts: int, active_share: float, seed: int) -> tuple[int, int]:
    """Generated contacts, and light activity for ``active_share`` of them; returns (web, email) event counts."""
    from connector.sandbox.hubspot.seed import load_demo

    store = sandbox.store
    ids = load_demo(store, contacts=contacts, seed=seed, activity=False)
    rng = random.Random(seed)
    now = store.clock.now_ms()
    web: list[dict[str, t.Any]] = []
    mail: list[dict[str, t.Any]] = []
    pages = ("/", "/product", "/pricing", "/blog/lead-scoring-guide", "/careers", "/demo")
    with store.lock:
        emails = {cid: store.objects("contacts").records[cid].properties.get("email") for cid in ids}
    for cid in ids:
        if rng.random() >= active_share:
            continue
        for _ in range(rng.randrange(1, 6)):
            path = rng.choice(pages)
            web.append(
                {"objectId": cid, "eventType": "e_visited_page", "occurredAt": now - rng.randrange(90 * DAY_MS), "properties": {"hs_url": f"https://www.sandbox.example{path}", "hs_title": path}}
            )
        if rng.random() < 0.2:
            web.append(
                {
                    "objectId": cid,
                    "eventType": "e_submitted_form",
                    "occurredAt": now - rng.randrange(90 * DAY_MS),
                    "properties": {"hs_form_id": "f-demo", "hs_form_title": "Request a demo", "hs_url": "https://www.sandbox.example/demo"},
                }
            )
        sent = now - rng.randrange(90 * DAY_MS)
        mail.append({"recipient": emails[cid], "type": "SENT", "created": sent})
        if rng.random() < 0.4:
            mail.append({"recipient": emails[cid], "type": "OPEN", "created": sent + rng.randrange(1, DAY_MS)})
    store.add_events(web)
    store.add_email_events(mail)
    return len(web), len(mail)


def touch_portal(sandbox: t.Any, *, share: float, seed: int) -> tuple[int, int]:
    """A user's day: ``share`` of the contacts get a new job title, as many others a page view now.

    Returns (contacts changed, contacts with new activity).
    """
    store = sandbox.store
    rng = random.Random(seed)
    with store.lock:
        ids = sorted(store.objects("contacts").records, key=int)
    k = max(1, int(len(ids) * share))
    picked = rng.sample(ids, min(len(ids), 2 * k))
    edited, active = picked[:k], picked[k:]
    titles = ("VP Marketing", "Head of Growth", "CTO", "Student", "Sales Director", "Intern")
    for cid in edited:
        store.update_contact(cid, {"jobtitle": rng.choice(titles)})
    now = store.clock.now_ms()
    store.add_events(
        {"objectId": cid, "eventType": "e_visited_page", "occurredAt": now - rng.randrange(60_000), "properties": {"hs_url": "https://www.sandbox.example/pricing", "hs_title": "/pricing"}}
        for cid in active
    )
    return len(edited), len(active)


def _serve_portal(conn: t.Any, contacts: int, active_share: float, seed: int) -> None:
    """Child process: a filled sandbox portal, answering ``clear``/``log``/``stop`` on ``conn``.

    Runs the sandbox outside the connector's interpreter, as HubSpot is: its CPU (JSON, search,
    rate limiting) is not charged to the sync being measured.
    """
    from connector.sandbox.hubspot import HubSpotSandbox

    with HubSpotSandbox(seed="empty", rate_limit="190/10s", search_rate="5/s") as sandbox:
        started = time.perf_counter()
        web, mail = fill_portal(sandbox, contacts, active_share, seed)
        conn.send({"base_url": sandbox.base_url, "token": sandbox.token, "web": web, "mail": mail, "seconds": time.perf_counter() - started})
        while True:
            command = conn.recv()
            if command == "clear":
                sandbox.requests_clear()
                conn.send(True)
            elif command == "log":
                conn.send(sandbox.requests)
            elif isinstance(command, tuple) and command[0] == "touch":
                conn.send(touch_portal(sandbox, share=command[1], seed=command[2]))
            else:
                conn.send(True)
                return


class PortalProcess:
    """The sandbox portal in a child process (spawned: a clean interpreter of its own)."""

    def __init__(self, contacts: int, active_share: float, seed: int) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_serve_portal, args=(child, contacts, active_share, seed), name="hubspot-sandbox", daemon=True)
        self._process.start()
        child.close()
        self.info: dict[str, t.Any] = self._conn.recv()
        self.base_url: str = self.info["base_url"]
        self.token: str = self.info["token"]

    def _ask(self, command: str | tuple[t.Any, ...]) -> t.Any:
        self._conn.send(command)
        return self._conn.recv()

    def touch(self, share: float, seed: int) -> tuple[int, int]:
        """See :func:`touch_portal` (in the sandbox's process)."""
        return t.cast(tuple[int, int], self._ask(("touch", share, seed)))

    def requests_clear(self) -> None:
        """Forget the requests served so far (the untimed setup)."""
        self._ask("clear")

    @property
    def requests(self) -> list[t.Any]:
        """Every request served since the last clear (``RequestRecord`` objects)."""
        return t.cast(list[t.Any], self._ask("log"))

    def close(self) -> None:
        """Stop the sandbox and wait for its process."""
        try:
            self._ask("stop")
        except (EOFError, OSError):
            pass
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join()

    def __enter__(self) -> PortalProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def model_files(folder: pathlib.Path, with_triggers: bool) -> list[pathlib.Path]:
    """The shipped models; without triggers, copies with the ``triggers`` section removed.

    Trigger actions (a task, a list membership, a webhook per firing) are single API calls whose
    number depends on how many contacts reach a stage, not on the sync; excluding them measures
    the sync's own pull -> score -> push path.
    """
    import yaml

    shipped = sorted((REPO / "mappings" / "models").glob("*.yaml"))
    if with_triggers:
        return shipped
    out = []
    for path in shipped:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data.pop("triggers", None)
        copy = folder / path.name
        copy.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        out.append(copy)
    return out


def write_config(folder: pathlib.Path, with_triggers: bool, database_url: str) -> pathlib.Path:
    """connector.yaml for the bench: shipped mapping and models, HubSpot's default limits."""
    from connector.sync.config import crm_entry
    from connector.sync.config import write_config as write_connector_yaml

    entry = crm_entry(
        "bench",
        "hubspot",
        REPO / "mappings" / "hubspot.yaml",
        model_files(folder, with_triggers),
        credentials={"access_token": "BENCH_HS_TOKEN"},
        base_url_env="BENCH_HS_URL",
        rate_limit={"requests": 190, "per_seconds": 10, "searches_per_second": 5},
    )
    return write_connector_yaml(folder / "connector.yaml", [entry], database_url=database_url, log_level="WARNING")


def searches_of(log: t.Sequence[t.Any], object_type: str) -> int:
    """Search requests on one object type."""
    return sum(1 for r in log if r.path.rstrip("/").endswith(f"/objects/{object_type}/search"))


def _shape(path: str) -> str:
    """A request path with record ids replaced by ``{id}``, to group calls by endpoint."""
    return "/".join("{id}" if part.isdigit() else part for part in path.split("?")[0].split("/"))


def _profile_threads(path: str) -> t.Callable[[], None]:
    """cProfile the pusher's thread and the prefetch threads too (cProfile sees one thread only); returns the undo.

    They compete with the pull/score thread for the interpreter lock, so their CPU matters as much
    as the main thread's: the push thread's profile goes to ``path + ".push"``, the prefetch
    threads' (contact and activity pulls: JSON parsing, translation to canonical records) to
    ``path + ".pull"``. Every profiler counts the CPU time of its own thread (``time.thread_time``),
    so time spent waiting -- for the interpreter lock, SQLite's write lock, the rate limiter, the
    network -- is not charged to the function that waited.
    """
    import cProfile

    from connector.sync.prefetch import Prefetch
    from connector.sync.push import Pusher

    originals = (Pusher._loop, Prefetch._run)
    push, _pull = cProfile.Profile(time.thread_time), cProfile.Profile(time.thread_time)

    def profiled_push(self: t.Any) -> None:
        push.runcall(originals[0], self)

    def profiled_pull(self: t.Any) -> None:
        local = cProfile.Profile(time.thread_time)
        local.runcall(originals[1], self)
        local.create_stats()
        pulls.append(local)

    pulls: list[t.Any] = []
    Pusher._loop = profiled_push  # type: ignore[method-assign]
    Prefetch._run = profiled_pull  # type: ignore[method-assign]

    def undo() -> None:
        import pstats

        Pusher._loop, Prefetch._run = originals  # type: ignore[method-assign]
        push.dump_stats(path + ".push")
        if pulls:
            stats = pstats.Stats(pulls[0])
            for more in pulls[1:]:
                stats.add(more)
            stats.dump_stats(path + ".pull")

    return undo


def peak_rss_mb() -> tuple[float, float]:
    """Peak RSS in MB of this process and of its largest ended child (the scoring worker, joined when its run ends).

    Children still running (the sandbox, multiprocessing's resource tracker) are not counted:
    ``RUSAGE_CHILDREN`` covers waited-for children only.
    """
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _call(conn: t.Any, target: t.Callable[..., t.Any], args: tuple[t.Any, ...]) -> None:
    conn.send(target(*args))


def in_process(target: t.Callable[..., t.Any], *args: t.Any) -> t.Any:
    """``target(*args)`` in a spawned process (a clean interpreter: its peak memory is its own).

    Not a pool worker: those are daemonic and may not start the run's scoring worker.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    process = ctx.Process(target=_call, args=(child, target, args))
    process.start()
    child.close()
    try:
        return parent.recv()
    except EOFError:
        process.join()
        raise SystemExit(f"{target.__name__} failed in its process (exit code {process.exitcode})") from None
    finally:
        process.join()


def _children_cpu() -> float:
    """CPU seconds of ended child processes (the scoring worker, once shut down; the sandbox still runs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def state_database(target: str | None, folder: pathlib.Path) -> t.Iterator[str]:
    """The state store's URL: a new SQLite file, or a fresh schema on a PostgreSQL server (dropped after)."""
    if not target:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    if "://" not in target or target.startswith("sqlite"):
        path = pathlib.Path(target.split(":///", 1)[1] if target.startswith("sqlite") else target)
        if path.exists():
            raise SystemExit(f"--database {target}: the file exists; the bench needs an empty state store (remove it or name another)")
        yield f"sqlite:///{path}"
        return
    import sqlalchemy as sa

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(target)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{target}{'&' if '?' in target else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class RowsWritten:
    """Rows inserted, updated or deleted through an engine (the run's own connection; the scoring worker only reads)."""

    def __init__(self, engine: t.Any) -> None:
        import sqlalchemy as sa

        self.rows = 0
        sa.event.listen(engine, "after_cursor_execute", self._count)

    def _count(self, conn: t.Any, cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, executemany: bool) -> None:
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE") and (cursor.rowcount or 0) > 0:
            self.rows += cursor.rowcount


@dc.dataclass
class Scenario:
    """One row of the scenario table."""

    name: str
    wall: float
    calls: int
    searches: int
    pulled: int
    scored: int
    changed: int
    written: int
    rows: int
    load: tuple[float, float]
    status: str


def _load() -> float:
    return os.getloadavg()[0]


def print_table(rows: t.Sequence[Scenario], database: str) -> None:
    """The scenarios as one Markdown table."""
    print()
    print(f"scenarios ({database}; load = 1-minute load average before -> after):")
    print("| run | wall s | API calls (searches) | pulled | scored | changed | written | DB rows written | load | status |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.name} | {r.wall:.1f} | {r.calls:,} ({r.searches:,}) | {r.pulled:,} | {r.scored:,} | {r.changed:,} | {r.written:,} | {r.rows:,} | {r.load[0]:.2f} -> {r.load[1]:.2f} | {r.status} |"
        )


def main(argv: t.Sequence[str] | None = None) -> int:
    """Run the benchmark once and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--active-share", type=float, default=0.1, help="share of contacts with some activity (default 0.1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database", metavar="SQLITE_FILE|POSTGRES_URL", help="state store: a new SQLite file, or a PostgreSQL URL (a fresh schema, dropped after); default: SQLite in a temporary folder"
    )
    parser.add_argument("--no-scenarios", action="store_true", help="run the full sync only (no incremental runs, no daily rescore)")
    parser.add_argument("--change-share", type=float, default=0.01, help="share of contacts changed (and, as many others, active) before the '1%% changed' run (default 0.01)")
    parser.add_argument("--with-triggers", action="store_true", help="keep the models' trigger actions (one or two API calls per firing)")
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the CPU time of the sync (connector side only) into FILE, the pusher's thread into FILE.push, the pull threads into FILE.pull (pstats format)"
    )
    args = parser.parse_args(argv)

    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from connector.adapters.base import NoGate
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models
    from connector.sync.config import load_config
    from connector.sync.connect import connect
    from connector.sync.db import open_database
    from connector.sync.pipeline import run_sync

    general_rate, search_rate = 190 / 10, 5.0
    table: list[Scenario] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp,
        state_database(args.database, pathlib.Path(tmp)) as database_url,
        PortalProcess(args.contacts, args.active_share, args.seed) as sandbox,
    ):
        info = sandbox.info
        store_name = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
        print(f"models: shipped, {'with' if args.with_triggers else 'without'} trigger actions; state store: {store_name}")
        print(f"portal: {args.contacts:,} contacts, {info['web']:,} web events, {info['mail']:,} e-mail events generated in {info['seconds']:.1f} s (sandbox in its own process)")
        config = load_config(write_config(pathlib.Path(tmp), args.with_triggers, database_url))
        crm = config.crms[0]
        env = {"BENCH_HS_TOKEN": sandbox.token, "BENCH_HS_URL": sandbox.base_url}
        adapter = connect(crm, NoGate(), environ=env)
        adapter.setup(specs_from_models(load_models(crm.models)))
        adapter.close()
        engine = open_database(database_url)
        written_rows = RowsWritten(engine)
        time.sleep(10.5)  # let the 10-second rolling window of the setup calls empty
        sandbox.requests_clear()

        def timed(name: str, *, full: bool, progress: t.Any = None, clock: t.Callable[[], t.Any] | None = None) -> tuple[t.Any, float, list[t.Any]]:
            sandbox.requests_clear()
            before_rows, load0 = written_rows.rows, _load()
            t0 = time.perf_counter()
            summary = run_sync(config, "bench", full=full, progress=progress, clock=clock, engine=engine, adapter_factory=functools.partial(connect, environ=env))
            wall = time.perf_counter() - t0
            log = sandbox.requests
            searches = sum(1 for r in log if r.path.endswith("/search"))
            table.append(
                Scenario(name, wall, len(log), searches, summary.pulled_contacts, summary.scored, summary.changed, summary.written, written_rows.rows - before_rows, (load0, _load()), summary.status)
            )
            return summary, wall, log

        stages = StageTimes()
        print("full sync:")
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile(time.thread_time)
            profiler.enable()
            thread_profiles = _profile_threads(args.profile)
        cpu0, kids0 = time.process_time(), _children_cpu()
        rss0 = peak_rss_mb()[0]
        summary, wall, log = timed("full sync", full=True, progress=stages)
        cpu, worker_cpu = time.process_time() - cpu0, _children_cpu() - kids0
        run_peak, worker_peak = peak_rss_mb()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            thread_profiles()
        ok = summary.status == "ok"
        if not args.no_scenarios:
            import datetime as dt

            print("scenarios: first incremental, nothing changed, 1% changed, daily full rescore ...", flush=True)
            ok &= timed("first incremental after the full sync", full=False)[0].status == "ok"
            ok &= timed("incremental, nothing changed", full=False)[0].status == "ok"
            edited, active = sandbox.touch(args.change_share, args.seed)
            ok &= timed(f"incremental, {edited:,} properties + {active:,} activity changed", full=False)[0].status == "ok"
            ok &= timed("daily full rescore (one day later)", full=True, clock=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=1))[0].status == "ok"
        engine.dispose()

    searches = sum(1 for r in log if r.path.endswith("/search"))
    general = len(log) - searches
    limited = sum(1 for r in log if r.status == 429)
    sequential = searches / search_rate + general / general_rate
    bound = max(searches / search_rate, general / general_rate)
    print()
    print(f"full sync of {args.contacts:,} contacts, state store {store_name}, load average {table[0].load[0]:.2f} -> {table[0].load[1]:.2f}")
    print(
        f"run status         {summary.status}  (pulled {summary.pulled_contacts:,} contacts, {summary.pulled_activities:,} activities; scored {summary.scored:,}; written {summary.written:,}; actions {summary.actions:,})"
    )
    print(f"wall time          {wall:.1f} s  (connector CPU {cpu:.1f} s in the run's process, all its threads, + {worker_cpu:.1f} s in the scoring worker; the sandbox runs in its own process)")
    print(
        f"peak memory        run {run_peak:,.0f} MB, scoring worker {worker_peak:,.0f} MB  (peak RSS, target < 1 GB each; the run's process is the bench's: "
        f"{rss0:,.0f} MB before the run; the sandbox runs in its own process, not counted)"
    )
    print(f"API calls          {len(log):,}  ({searches:,} searches, {general:,} other; adapter counted {summary.api_calls:,}, retries {summary.retries})")
    print(f"rate-limit bound   {bound:.1f} s  (= max({searches:,} searches / {search_rate:g} per s, {general:,} other / {general_rate:g} per s): separate budgets, used at once)")
    print(f"ratio              {wall / bound:.3f}  (target <= 1.1)")
    print(f"sequential bound   {sequential:.1f} s  (= the sum of the two terms, the earlier figure); wall / sequential {wall / sequential:.3f}")
    print(f"429s received      {limited}  (target 0)")
    print("stage windows      " + ", ".join(f"{k} {a:.1f}-{b:.1f} s" for k, (a, b) in stages.windows.items()) + "  (from the start of the run; stages may overlap)")
    bounds = {"pull contacts": searches_of(log, "contacts") / search_rate, "push": sum(1 for r in log if r.path.endswith("/batch/update")) / general_rate}
    print("stage vs bound     " + ", ".join(f"{k} {stages.seconds.get(k, 0.0):.1f} s vs {v:.1f} s" for k, v in bounds.items()))
    by_path: dict[str, int] = {}
    for r in log:
        key = f"{r.method} {_shape(r.path)}"
        by_path[key] = by_path.get(key, 0) + 1
    served: dict[str, float] = {}
    for r in log:
        key = f"{r.method} {_shape(r.path)}"
        served[key] = served.get(key, 0.0) + r.duration_ms / 1000
    print("sandbox time       " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(served.items(), key=lambda kv: -kv[1])[:5]))
    print("calls by endpoint  " + ", ".join(f"{k} {v:,}" for k, v in sorted(by_path.items(), key=lambda kv: -kv[1])))
    print_table(table, f"{args.contacts:,} contacts, {store_name}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
