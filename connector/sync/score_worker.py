"""Scoring on a second CPU core: where a run scores its chunks, in its own process or in a worker.

Why: a large run is bound by the CRM's search limit (HubSpot: 1,000 contacts per second) only if
storing, scoring and pushing a contact cost less than about a millisecond of CPU. In one
interpreter the pull, the scoring and the push share one core; measured at 100,000 contacts on a
busy 2-core machine, a run then took 1.4-1.5 x its rate-limit bound. Scoring is pure -- ids in,
plain results out (:func:`connector.sync.scorers.score_chunk`) -- so it can move to another process
without anything else moving with it: no lease, no rate budget, no CRM connection, no write.

Why the worker reads its chunk's inputs from the state database instead of being handed them:
pickling a chunk's contacts, activities and previous states to another process was measured at
more CPU than scoring them (420-950 us against 370-400 us per contact on the demo portal), which
would have spent the main process's time instead of saving it. The worker only reads, with a
connection of its own, what the run committed before handing it the chunk (SQLite in WAL mode
lets it read while the run writes; PostgreSQL likewise); the run writes the results.

The worker dies with its run: it watches its parent and ends when the run is gone (SIGKILL
included; tested). Small runs never start a worker (spawning one, importing the scoring core and loading the models
take a second or two): the run scores in its own process and hands over to a worker once it has
scored ``batch.score_worker_after`` contacts. A run on an in-memory database keeps scoring in its
own process. Either way the results are the same (tested) and are committed by the run, in order.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import dataclasses as dc
import datetime as dt
import multiprocessing as mp
import os
import threading
import time
import typing as t

import sqlalchemy as sa

if t.TYPE_CHECKING:
    from multiprocessing.connection import Connection

from connector.sync.activityscan import ActivityScan
from connector.sync.idset import IdSet
from connector.sync.rescore import RescoreEnd, Rescoring
from connector.sync.scorers import ChunkOptions, ScoredChunk, ScorerSet, score_chunk
from connector.sync.scoresscan import ModelScores
from connector.sync.store import Store

__all__ = ["InProcess", "Scoring", "ScoringWorker", "compare_here", "worker_blocker"]

_T = t.TypeVar("_T")
_M = t.TypeVar("_M")
#: A portal's stored scores as the run reads them for the worker (:func:`connector.sync.scoresscan.read_scores`).
Scores = t.Mapping[str, ModelScores]


@dc.dataclass(frozen=True)
class _StartRescore:
    """The message that starts a full rescore in the worker (``scores_sent``: the run's stored scores follow it; else the worker reads them)."""

    as_of: dt.datetime
    skip: IdSet
    only: IdSet | None
    scores_sent: bool


#: The message asking the worker for the full rescore's next chunk.
_NEXT_RESCORED = "next-rescored"


class Scoring(t.Protocol):
    """Where chunks are scored: :meth:`submit` answers with a future of the chunk's results."""

    def submit(self, ids: t.Sequence[str], as_of: dt.datetime) -> cf.Future[ScoredChunk]:
        """Score ``ids`` as of ``as_of``."""

    def start_rescore(
        self, as_of: dt.datetime, skip: IdSet, scan: t.Callable[[], ActivityScan], scores: t.Callable[[], Scores] | None, only: IdSet | None = None
    ) -> cf.Future[None]:
        """Read the portal for a column-wise rescore (:class:`connector.sync.rescore.Rescoring`).

        ``skip``: contacts scored already; ``scan``: the portal's activity scan
        (:func:`connector.sync.scankeep.kept_scan`) and ``scores``: its stored scores
        (:func:`connector.sync.scoresscan.read_scores`; ``None``: read where the portal is read),
        both called in the run's process; ``only``: the contacts to rescore (``None``: everyone).
        """

    def next_rescored(self) -> cf.Future[ScoredChunk | RescoreEnd]:
        """The full rescore's next chunk to commit, or its end (after the end: the end again)."""

    def close(self) -> None:
        """Stop scoring (a chunk being scored is finished or abandoned; nothing is written either way)."""


class InProcess:
    """Scores each chunk at once, in the run's own process (the future is done when returned)."""

    def __init__(self, store: Store, scorers: ScorerSet, options: ChunkOptions) -> None:
        self._store = store
        self._scorers = scorers
        self._options = options
        self._rescoring: Rescoring | None = None

    def submit(self, ids: t.Sequence[str], as_of: dt.datetime) -> cf.Future[ScoredChunk]:  # noqa: D102
        return self._now(lambda: score_chunk(self._store, self._scorers, ids, as_of=as_of, options=self._options))

    def start_rescore(  # noqa: D102
        self, as_of: dt.datetime, skip: IdSet, scan: t.Callable[[], ActivityScan], scores: t.Callable[[], Scores] | None, only: IdSet | None = None
    ) -> cf.Future[None]:
        def start() -> None:
            self._rescoring = Rescoring(self._store.engine, self._store.crm, self._scorers, self._options, as_of, skip, scan, only, scores)

        return self._now(start)

    def next_rescored(self) -> cf.Future[ScoredChunk | RescoreEnd]:
        """The next chunk, its outputs compared at its commit (in one process, comparing here would cost the same)."""
        return self._now(lambda: _next(self._rescoring, compare=False))

    @staticmethod
    def _now(work: t.Callable[[], _T]) -> cf.Future[_T]:
        future: cf.Future[_T] = cf.Future()
        try:
            future.set_result(work())
        except Exception as exc:  # noqa: BLE001 - raised where the run takes the result, as a worker's would be
            future.set_exception(exc)
        return future

    def close(self) -> None:  # noqa: D102
        return None


class ScoringWorker:
    """Scores chunks in one spawned process that reads them from the state database.

    The run and the worker talk over one pipe: chunk ids (or a full rescore's requests) go out, results (or the error) come back
    in order and resolve the futures :meth:`submit` returned. A pipe is two file descriptors;
    ``ProcessPoolExecutor`` (used before) needs named POSIX semaphores for its queues, which a run
    killed with SIGKILL cannot unlink: Python's resource tracker then warned "leaked semaphore
    objects" on the terminal of every killed sync (tested: none now).

    Args:
        database_url: the state database (the worker opens its own connection; it only reads).
        crm: the CRM's name.
        models: the model files (the worker loads them itself).
        options: how chunks are scored.
    """

    def __init__(self, database_url: str, crm: str, models: t.Sequence[str], options: ChunkOptions) -> None:
        context = mp.get_context("spawn")
        self._conn, child = context.Pipe(duplex=True)
        self._process = context.Process(
            target=_serve,
            args=(child, os.getpid(), database_url, crm, list(models), options),
            name=f"score-{crm}",
            daemon=True,
        )
        self._process.start()
        child.close()
        self._pending: collections.deque[cf.Future[t.Any]] = collections.deque()
        #: Guards ``_pending`` and ``_closed`` only: never held while the pipe may block.
        self._lock = threading.Lock()
        #: Keeps messages whole and in the order of ``_pending``. Not ``_lock``: a large message
        #: (a chunk's ids) blocks until the worker reads it, the worker may be blocked sending its
        #: previous answer (a rescored chunk: megabytes), and the reader thread must be able to take that answer.
        self._sending = threading.Lock()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name=f"score-{crm}-results", daemon=True)
        self._reader.start()

    def submit(self, ids: t.Sequence[str], as_of: dt.datetime) -> cf.Future[ScoredChunk]:  # noqa: D102
        return self._send((list(ids), as_of))

    def start_rescore(
        self, as_of: dt.datetime, skip: IdSet, scan: t.Callable[[], ActivityScan], scores: t.Callable[[], Scores] | None, only: IdSet | None = None
    ) -> cf.Future[None]:
        """Start the worker reading the portal's contacts; read its stored scores, then its activity, here meanwhile, and send each after.

        Why here: until the worker has read the whole portal this process has nothing to commit --
        its core would idle. So the worker reads the contacts, and this process the rest, in the
        order the worker needs it (the scores once it has the contacts, the activity last). Without
        ``scores`` (PostgreSQL: :func:`connector.sync.scoresscan.read_by_run`) the worker reads
        them itself, after the contacts. Measured at a million contacts: see
        docs/operations.md. A read that fails is sent as its error (the worker raises it as the
        answer to the start, so the run fails with the cause).
        """
        started = self._send(_StartRescore(as_of, skip, only, scores is not None))
        for read in (scores, scan) if scores is not None else (scan,):
            got: Scores | ActivityScan | Exception
            try:
                got = read()
            except Exception as exc:  # noqa: BLE001 - raised in the worker, and so where the run takes the start's answer
                got = exc
            with self._sending, contextlib.suppress(OSError):  # gone: the start's future fails in the reader
                self._conn.send(got)
            del got  # hundreds of megabytes at a million contacts: gone before the next read
        return started

    def next_rescored(self) -> cf.Future[ScoredChunk | RescoreEnd]:  # noqa: D102
        return self._send(_NEXT_RESCORED)

    def _send(self, message: tuple[list[str], dt.datetime] | _StartRescore | str) -> cf.Future[t.Any]:
        future: cf.Future[t.Any] = cf.Future()
        with self._sending:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the scoring worker is closed")
                self._pending.append(future)
            try:
                self._conn.send(message)
            except OSError as exc:
                with self._lock:
                    if future in self._pending:
                        self._pending.remove(future)
                future.set_exception(RuntimeError(f"the scoring worker is gone: {exc}"))
        return future

    def _read(self) -> None:
        """Resolve the futures in order as the results come back; fail the rest if the worker dies."""
        while True:
            try:
                ok, value = self._conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = self._pending.popleft() if self._pending else None
            if future is not None and future.set_running_or_notify_cancel():
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        with self._lock:
            left, self._pending = list(self._pending), collections.deque()
        for future in left:
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the scoring worker ended before it answered"))

    def close(self) -> None:  # noqa: D102
        with self._lock:
            self._closed = True
            for future in self._pending:
                future.cancel()
        with self._sending, contextlib.suppress(OSError):
            self._conn.send(None)  # the worker ends after the chunk in hand
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.terminate()  # it only reads: ending it anywhere loses nothing
            self._process.join(timeout=5)
        self._conn.close()
        self._reader.join(timeout=5)


def worker_blocker(engine: sa.Engine) -> str | None:
    """Why this run cannot score in a worker (``None``: it can): the worker must reach the same database."""
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return "the state database is in memory"
    return None


# -- the worker process -------------------------------------------------------------------------------

#: What the worker process scores with, set once by :func:`_start` (in the worker process only).
_WORKER: dict[str, t.Any] = {}


def _serve(conn: Connection, parent: int, database_url: str, crm: str, models: list[str], options: ChunkOptions) -> None:
    """The worker: score each chunk the run sends, answer ``(True, result)`` or ``(False, error)``, in order."""
    try:
        _start(parent, database_url, crm, models, options)
        failed: BaseException | None = None
    except Exception as exc:  # noqa: BLE001 - told to the run with each answer, raised where it takes the result
        failed = exc
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        try:
            if isinstance(message, _StartRescore):  # followed by the run's activity scan, taken here whatever happens
                _start_rescore(message, conn.recv, failed)
                answer: tuple[bool, t.Any] = (True, None)
            elif failed is not None:
                raise failed
            else:
                answer = (True, _answer(message, lambda: compare_here(conn, _WORKER["store"].engine.dialect.name)))
        except Exception as exc:  # noqa: BLE001 - every error goes back to the run
            answer = (False, exc)
        try:
            conn.send(answer)
        except (OSError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - an error that cannot be pickled goes back as text
            conn.send((False, RuntimeError(f"scoring worker: {type(exc).__name__}: {exc}; the result could not be sent back")))


def _start(parent: int, database_url: str, crm: str, models: list[str], options: ChunkOptions) -> None:
    """Worker set-up: dies with the run; its own read connection and its own copy of the models."""
    from connector.sync.db import make_engine

    threading.Thread(target=_die_with, args=(parent,), name="watch-run", daemon=True).start()

    _WORKER.update(store=Store(make_engine(database_url), crm), scorers=ScorerSet.load(models), options=options)


def _die_with(parent: int) -> None:
    """End this process soon after the run that started it is gone (killed: it had no time to say so).

    The worker only reads, so ending it at any point loses nothing.
    """
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _start_rescore(message: _StartRescore, receive: t.Callable[[], t.Any], failed: BaseException | None) -> None:
    """Read the portal; its activity and (``scores_sent``) its stored scores are the run's, the next messages on the pipe (always all taken, so the next message is a request)."""
    expected = 2 if message.scores_sent else 1
    taken = [0]  # a count, not the messages: hundreds of megabytes at a million contacts, let go once read

    def take(kind: type[_M], what: str) -> _M:
        got = receive()
        taken[0] += 1
        if isinstance(got, BaseException):
            raise got
        if not isinstance(got, kind):
            raise RuntimeError(f"scoring worker: expected the run's {what}, got {type(got).__name__}")
        return got

    try:
        if failed is not None:
            raise failed
        store: Store = _WORKER["store"]
        _WORKER["rescoring"] = Rescoring(
            store.engine, store.crm, _WORKER["scorers"], _WORKER["options"], message.as_of, message.skip,
            lambda: take(ActivityScan, "activity scan"), message.only, (lambda: take(dict, "stored scores")) if message.scores_sent else None,
        )  # fmt: skip
    finally:
        while taken[0] < expected:  # the portal could not be read column-wise (or not at all): not needed
            receive()
            taken[0] += 1


def _answer(message: tuple[list[str], dt.datetime] | str, compare: t.Callable[[], bool]) -> ScoredChunk | RescoreEnd | None:
    """What the run asked for: a chunk scored, or the full rescore's next chunk (``compare``: whether to compare its outputs here)."""
    store: Store = _WORKER["store"]
    if message == _NEXT_RESCORED:
        return _next(_WORKER.get("rescoring"), compare=compare())
    ids, as_of = t.cast(tuple[list[str], dt.datetime], message)
    return score_chunk(store, _WORKER["scorers"], ids, as_of=as_of, options=_WORKER["options"])


def compare_here(conn: Connection, dialect: str) -> bool:
    """Whether the worker compares the full rescore's next chunk with the written values, or leaves that to the run's commit.

    On SQLite it is decided chunk by chunk: the comparison (:func:`connector.sync.outbox.diff_written`)
    costs the same on either side, and belongs on whichever is not the slower one -- which moved
    with the machine and with what the run's process does (docs/operations.md, "Tenth round" to
    "Twelfth round"). The run keeps ``SCORING_AHEAD + 1`` requests in flight and sends the next
    one as it commits a chunk: a request already waiting here means the run asked again before
    this worker answered -- it waits for the worker, which then leaves the comparison to it; an
    empty pipe means the run is busy committing, and the worker compares.

    On PostgreSQL never: there a busy commit is mostly the server's work, on the same cores, and
    comparing in the worker meanwhile made a million-contact rescore slower each time it was
    measured (147.7 s against 135.1 s at stop 27; 122.2 s against 115.0 s at stop 29, decided as
    on SQLite). Either way the commit writes the same rows
    (:func:`connector.sync.outbox.stage_changes` compares what comes without).
    """
    return dialect == "sqlite" and not conn.poll()


def _next(rescoring: Rescoring | None, *, compare: bool) -> ScoredChunk | RescoreEnd:
    if rescoring is None:
        raise RuntimeError("no full rescore was started")
    return rescoring.next(compare=compare)
