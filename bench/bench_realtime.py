"""Benchmark: from a change in HubSpot to the new score in HubSpot, through webhooks and ``connector serve``.

The HubSpot sandbox runs in this process (tier rate limits: 190 requests/10 s, search 5/s) and
sends signed webhooks for ``jobtitle`` changes to ``connector serve``, which runs in its own process
(so it can be SIGKILLed). A load thread changes one contact's job title ``--rate`` times a second for
``--duration`` seconds, alternating "Head of Marketing" and "Engineer", which flips the contact's
grade between A and B; a contact is changed again only after ``--spacing`` seconds, so every change
has exactly one expected grade write. Latency: from the change to the sandbox storing the grade
the connector wrote. Counted: changes made, webhook events delivered, events stored by the server,
grade writes -- a change without its write is lost, a second write for one change is doubled.

With ``--kill-at S`` the server is SIGKILLed S seconds into the stream and restarted ``--down``
seconds later: the sandbox retries what the dead server did not answer; stored events are processed
after the restart.

    .venv/bin/python bench/bench_realtime.py [--rate 200] [--duration 60] [--kill-at 30] [--database-url URL]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests
import sqlalchemy as sa

from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.loader import load_models
from connector.sync.config import crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import open_database
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "sync" / "data"
CONNECTOR = os.path.join(os.path.dirname(sys.executable), "connector")
TITLES = ("Head of Marketing", "Engineer")
GRADE = {"Head of Marketing": "A", "Engineer": "B"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(folder: pathlib.Path, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    log = open(folder / "serve.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen([CONNECTOR, "serve", "--config", str(folder / "connector.yaml"), "--port", str(port)], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the server did not start; see {folder / 'serve.log'}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="changes per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of changes")
    parser.add_argument("--contacts", type=int, default=4000)
    parser.add_argument("--spacing", type=float, default=15.0, help="least seconds between two changes of one contact")
    parser.add_argument("--kill-at", type=float, default=0.0, help="SIGKILL the server this many seconds in (0: never)")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the killed server stays down")
    parser.add_argument("--drain", type=float, default=90.0, help="seconds to wait for the last writes")
    parser.add_argument("--database-url", default=None, help="state database (default: SQLite in a temp folder)")
    args = parser.parse_args()
    if args.rate * args.spacing > args.contacts:
        raise SystemExit(f"--contacts must be at least rate x spacing ({int(args.rate * args.spacing)})")

    folder = pathlib.Path(tempfile.mkdtemp(prefix="bench-realtime-"))
    shutil.copy(DATA / "model.yaml", folder / "model.yaml")
    shutil.copy(DATA / "hubspot.yaml", folder / "hubspot.yaml")
    url = args.database_url or f"sqlite:///{folder / 'state.db'}"
    entry = crm_entry("hubspot", "hubspot", "hubspot.yaml", ["model.yaml"])
    port = free_port()
    write_config(folder / "connector.yaml", [entry], database_url=url, log_level="WARNING", serve={"port": port})

    sandbox = HubSpotSandbox(seed="empty").start()
    env = {**os.environ, **sandbox.env()}
    env.pop("DATABASE_URL", None)
    os.environ.update(sandbox.env())
    config = load_config(folder / "connector.yaml")
    ids = sandbox.store.add_contacts([{"email": f"lead{i}@example.com", "jobtitle": TITLES[1]} for i in range(args.contacts)])
    adapter = connect(config.crms[0], RateLimiter.from_limits(config.crms[0].limits))
    adapter.setup(specs_from_models(load_models(config.crms[0].models)))
    adapter.close()
    engine = open_database(url)
    started = time.monotonic()
    first = run_sync(config, "hubspot", engine=engine)
    print(f"initial sync: {first.status}, {first.written} contacts written in {time.monotonic() - started:.1f} s")

    writes: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
    lock = threading.Lock()

    def on_change(subscription: str, cid: str, prop: str | None) -> None:
        if prop == "test_model_grade":
            record = sandbox.store.objects("contacts").records.get(cid)
            with lock:
                writes[cid].append((time.time(), str(record.properties.get(prop)) if record else ""))

    sandbox.store.listeners.append(on_change)
    server = start_server(folder, env, port)
    sender = sandbox.send_webhooks(f"http://127.0.0.1:{port}/webhooks/hubspot", properties={"jobtitle"}, concurrency=8)

    changes: list[tuple[str, float, str]] = []
    stop = threading.Event()

    def load() -> None:
        state = dict.fromkeys(ids, 1)
        ring = collections.deque(ids)
        begin = time.monotonic()
        n = 0
        while not stop.is_set() and time.monotonic() - begin < args.duration:
            due = begin + n / args.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            cid = ring.popleft()
            ring.append(cid)
            state[cid] ^= 1
            title = TITLES[state[cid]]
            at = time.time()
            sandbox.store.update_contact(cid, {"jobtitle": title})
            changes.append((cid, at, GRADE[title]))
            n += 1

    loader = threading.Thread(target=load, daemon=True)
    load_start = time.monotonic()
    loader.start()
    killed = False
    if args.kill_at > 0:
        time.sleep(args.kill_at)
        server.send_signal(signal.SIGKILL)
        server.wait()
        killed = True
        print(f"server SIGKILLed at {time.monotonic() - load_start:.1f} s; down for {args.down} s")
        time.sleep(args.down)
        server = start_server(folder, env, port)
        print(f"server restarted at {time.monotonic() - load_start:.1f} s")
    loader.join()
    load_seconds = time.monotonic() - load_start
    load_avg = os.getloadavg()

    def matched() -> tuple[list[float], int, int]:
        latencies: list[float] = []
        lost = doubled = 0
        per_contact: dict[str, list[tuple[float, str]]] = collections.defaultdict(list)
        for cid, at, grade in changes:
            per_contact[cid].append((at, grade))
        with lock:
            snapshot = {cid: list(w) for cid, w in writes.items()}
        for cid, made in per_contact.items():
            got = snapshot.get(cid, [])
            for i, (at, grade) in enumerate(made):
                until = made[i + 1][0] if i + 1 < len(made) else float("inf")
                mine = [w for w in got if at <= w[0] < until and w[1] == grade]
                if not mine:
                    lost += 1
                    continue
                latencies.append(mine[0][0] - at)
                doubled += len(mine) - 1
        return latencies, lost, doubled

    deadline = time.monotonic() + args.drain
    while time.monotonic() < deadline:
        _, lost, _ = matched()
        if lost == 0 and sender.pending() == 0:
            break
        time.sleep(0.5)
    latencies, lost, doubled = matched()
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT status, count(*) FROM realtime_events GROUP BY status")).all())
        run_rows = conn.execute(sa.text("SELECT count(*), coalesce(sum(api_calls), 0), coalesce(sum(rate_limited), 0) FROM runs")).one()
    delivered = sum(d.events for d in sender.deliveries if d.status is not None and 200 <= d.status < 300)
    failed_requests = sum(1 for d in sender.deliveries if d.status is None or not 200 <= d.status < 300)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    sandbox.stop()
    engine.dispose()

    print(f"load: {len(changes)} changes in {load_seconds:.1f} s ({len(changes) / load_seconds:.0f}/s) over {args.contacts} contacts"
          f"{'; server SIGKILLed and restarted mid-stream' if killed else ''}")
    print(f"webhooks: {len(sender.deliveries)} requests, {delivered} events delivered (2xx), {failed_requests} requests failed and retried, {sender.dropped} dropped")
    print(f"server: events stored {sum(stored.values())} ({', '.join(f'{k} {v}' for k, v in sorted(stored.items()))}); "
          f"{run_rows[0]} runs, {run_rows[1]} CRM calls, {run_rows[2]} 429s")
    print(f"grade writes matched to changes: {len(latencies)}; lost {lost}; doubled {doubled}")
    if latencies:
        print(f"latency change -> score in CRM: p50 {pct(latencies, 50):.2f} s, p95 {pct(latencies, 95):.2f} s, p99 {pct(latencies, 99):.2f} s, "
              f"max {max(latencies):.2f} s, mean {statistics.mean(latencies):.2f} s")
    print(f"load average during the stream (1/5/15 min): {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}; {os.cpu_count()} cores; "
          f"state {url.split(':')[0]}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
