"""The full rescore of a large portal: find, column-wise, the few contacts whose result moved.

Why: the daily full rescore (decay reaching contacts nobody touched, a model change) used to
score every contact the exact way -- read its records, build every result with its reasons,
hash it, compare -- and at a million contacts that took six minutes although 0.2% had changed.
Now the whole portal is read into columns (:mod:`connector.sync.columnar`), scored by the batch
scorer's columnar entry point in batches of :data:`BATCH` contacts, and each result's
fingerprint (:mod:`connector.scoring.batch.fingerprint`) compared with the one stored beside its
score. Only contacts whose fingerprint moved -- and those the columns cannot speak for -- go on
to the exact scoring (:func:`connector.sync.scorers.score_chunk`), which writes their scores,
stage moves, firings and outbox rows exactly as before. A contact left alone is one whose every
output, state and reason would be what the store holds: the exact scoring would have written
nothing for it.

Always scored the exact way (the columns or the fingerprint do not cover them):

- contacts flagged by a pull (``needs_score``): new data is scored and the flag cleared there;
- contacts without a score under some model (their first scoring seeds stages from CRM dates);
- contacts with manual adjustments (their reasons hold text the columns do not);
- contacts with anonymous history (identity or e-mail resolved), and contacts with a quarantined
  CRM write (the exact scoring stages the write again, as every rescore did before);
- every contact, when a model has a predictive dimension (its predictor reads whole records).

A stored score without a fingerprint or digest (written before schema 0014 or 0011) counts as
moved: its contact is written once more, with both.

The fingerprint is salted with the model, the code of the scoring engine and the CRM's write
settings (:func:`connector.sync.scorers.scoring_context`): after any of them changes, every
contact is scored the exact way once.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.batch.fingerprint import fingerprints
from connector.scoring.columns import ActivityColumns, Categorical, ContactColumns, PreviousColumns, ResultColumns
from connector.sync.activityscan import ActivityScan
from connector.sync.columnar import StoredPortal, read_portal
from connector.sync.idset import IdSet
from connector.sync.materialise import Materialise, StoredRows, materialise
from connector.sync.outbox import diff_written
from connector.sync.scorers import ChunkOptions, ScoredChunk, ScorerSet
from connector.sync.scoresscan import HASH, ModelScores
from connector.sync.tables import adjustments, outbox

__all__ = ["BATCH", "FullRescore", "RescoreEnd", "Rescoring", "full_rescore"]

log = logging.getLogger(__name__)

#: Contacts per columnar scoring call: bounds the memory of one call (its activity and temporaries).
BATCH = 100_000
#: Moved contacts per :class:`ScoredChunk` (one transaction each).
CHUNK = 5_000


@dc.dataclass
class FullRescore:
    """The columnar full rescore of one CRM: write what :meth:`jobs` yields, then score :attr:`exact` the exact way."""

    portal: StoredPortal
    scorers: ScorerSet
    options: ChunkOptions
    as_of: dt.datetime
    #: Contact rows the columns cannot speak for (scored the exact way whatever their fingerprint).
    flagged: np.ndarray
    #: Contact rows already scored in this run (left out).
    done: np.ndarray
    #: Filled by :meth:`jobs`: contacts to score the exact way, and how many were found unchanged.
    exact: list[str] = dc.field(default_factory=list)
    unchanged: int = 0

    def jobs(self) -> t.Iterator[Materialise]:
        """The moved contacts, job by job, for :func:`connector.sync.materialise.materialise` (here or in the scoring worker)."""
        ids = self.portal.contacts.ids
        for start in range(0, len(ids), BATCH):
            stop = min(len(ids), start + BATCH)
            cols, prints, moved = self._score(start, stop)
            flagged = self.flagged[start:stop]
            todo = ~self.done[start:stop]
            self.exact += [ids[start + i] for i in np.flatnonzero(flagged & todo).tolist()]
            self.unchanged += int(np.count_nonzero(~moved & ~flagged & todo))
            fast = np.flatnonzero(moved & ~flagged & todo)
            for k in range(0, len(fast), CHUNK):
                yield self._job(start, fast[k : k + CHUNK], cols, prints)
        self.exact.sort()

    def _score(self, start: int, stop: int) -> tuple[list[ResultColumns], list[list[str]], np.ndarray]:
        """Every model's result columns and fingerprints for contact rows ``start``..``stop``; which moved."""
        portal = self.portal
        contacts = ContactColumns(ids=portal.contacts.ids[start:stop], properties={k: c.rows(start, stop) for k, c in portal.contacts.properties.items()})
        a = portal.activities
        rows = portal.activity_slice(start, stop)
        acts = ActivityColumns(
            contact=a.contact[rows] - start,
            type=Categorical(a.type.codes[rows], a.type.values),
            occurred=a.occurred[rows],
            order=a.order[rows],
            attributes={k: Categorical(c.codes[rows], c.values) for k, c in a.attributes.items()},
        )
        moved = np.zeros(stop - start, dtype=bool)
        all_cols: list[ResultColumns] = []
        all_prints: list[list[str]] = []
        for model, batch, key in zip(self.scorers.models, self.scorers.batch, self.scorers.keys, strict=True):
            stored = portal.states[model.model]
            p = stored.previous
            previous = PreviousColumns(p.stage[start:stop], p.entered[start:stop], {k: v[start:stop] for k, v in p.armed.items()})
            cols = batch.score_columns(contacts, acts, self.as_of, None, previous)
            now = fingerprints(cols, key + self.options.context)
            moved |= np.array(now, dtype=HASH) != stored.fingerprint[start:stop]
            moved |= stored.digest[start:stop] == b""  # written before schema 0011
            for fired in cols.fired.values():  # a firing is recorded by the exact writing of the result
                moved |= fired
            all_cols.append(cols)
            all_prints.append(now)
        return all_cols, all_prints, moved

    def _job(self, start: int, rows: np.ndarray, cols: list[ResultColumns], prints: list[list[str]]) -> Materialise:
        """The moved rows ``rows`` (batch-relative) with what writing them needs."""
        at = (start + rows).tolist()
        ids = self.portal.contacts.ids
        stored = []
        for model in self.scorers.models:
            states = self.portal.states[model.model]
            stored.append(StoredRows(
                state=[states.records[k] for k in at],
                stage=[states.stage[k] for k in at],
                digest=[d.decode() or None for d in states.digest[start + rows].tolist()],
                fingerprint=[f.decode() or None for f in states.fingerprint[start + rows].tolist()],
            ))  # fmt: skip
        return Materialise([ids[k] for k in at], self.as_of, [c.take(rows) for c in cols], stored, [[p[i] for i in rows.tolist()] for p in prints])


@dc.dataclass(frozen=True)
class RescoreEnd:
    """The end of a column-wise full rescore: what is left for the exact scoring.

    ``columnar``: whether the portal could be read column-wise at all (``False``: nothing was
    written, and every contact is to be scored the exact way); ``exact``: contacts to score the
    exact way (sorted); ``unchanged``: contacts found unchanged (scored, nothing to write).
    """

    columnar: bool
    exact: list[str]
    unchanged: int


class Rescoring:
    """A full rescore where its portal is read: the moved contacts' writes, one chunk per :meth:`next`.

    Why a session rather than one call: the portal (a million contacts' columns, gigabytes) is read
    once, by whoever scores -- the scoring worker on a large portal, so that reading and scoring
    take the second core and the run's process only commits and pushes -- and each chunk goes back
    to the run as a :class:`~connector.sync.scorers.ScoredChunk` of plain data as it is ready. The
    portal is let go with the last chunk.
    """

    def __init__(
        self,
        engine: sa.Engine,
        crm: str,
        scorers: ScorerSet,
        options: ChunkOptions,
        as_of: dt.datetime,
        skip: IdSet | None,
        scan: t.Callable[[], ActivityScan] | None = None,
        only: IdSet | None = None,
        scores: t.Callable[[], t.Mapping[str, ModelScores]] | None = None,
    ) -> None:
        self._engine, self._crm, self._scorers, self._options = engine, crm, scorers, options
        self._rescore = full_rescore(engine, crm, scorers, options, as_of, skip=skip, scan=scan, scores=scores, only=only)
        self._jobs = self._rescore.jobs() if self._rescore is not None else iter(())
        self._end: RescoreEnd | None = None

    def next(self, *, compare: bool = False) -> ScoredChunk | RescoreEnd:
        """The next chunk of moved contacts to commit; at the end (and after it), :class:`RescoreEnd`.

        ``compare``: compare the chunk's outputs with the written values here
        (:attr:`~connector.sync.scorers.ScoredChunk.prepared`) rather than at its commit; the
        scoring worker decides chunk by chunk (:func:`connector.sync.score_worker.compare_here`).
        """
        if self._end is None:
            job = next(self._jobs, None)
            if job is not None:
                chunk = materialise(job, self._scorers, self._options)
                if compare:
                    with self._engine.connect() as conn:
                        chunk.prepared = diff_written(conn, self._crm, chunk.desired, companions=self._scorers.companions, policy=self._options.write_policy)
                return chunk
            done = self._rescore
            self._end = RescoreEnd(False, [], 0) if done is None else RescoreEnd(True, done.exact, done.unchanged)
            self._rescore, self._jobs = None, iter(())  # the portal's columns go
        return self._end


def full_rescore(
    engine: sa.Engine,
    crm: str,
    scorers: ScorerSet,
    options: ChunkOptions,
    as_of: dt.datetime,
    *,
    skip: IdSet | None = None,
    scan: t.Callable[[], ActivityScan] | None = None,
    scores: t.Callable[[], t.Mapping[str, ModelScores]] | None = None,
    only: IdSet | None = None,
) -> FullRescore | None:
    """Read the portal into columns for a full rescore (``None``: it cannot be done column-wise).

    ``skip``: contacts already scored in this run; ``scan``, ``scores``: where the activity and
    the stored scores come from (see :func:`connector.sync.columnar.read_portal`); ``only``: the contacts to rescore, the others
    left out as if scored already (an incremental run with many contacts due, see
    :meth:`connector.sync.pipeline._Run.score`). ``None`` when the models cannot be
    fingerprinted (a predictive dimension) or a property name cannot be read column-wise: the
    caller then scores everyone the exact way.
    """
    if not scorers.fingerprinted:
        return None
    try:
        portal = read_portal(engine, crm, scorers.models, scan, scores)
    except ValueError as exc:
        log.info("crm %s: full rescore scores every contact the exact way: %s", crm, exc)
        return None
    ids = portal.contacts.ids
    odd = portal.not_columnar | _not_fingerprinted(engine, crm)
    flagged = portal.needs_score | np.fromiter((cid in odd for cid in ids), dtype=bool, count=len(ids))
    for states in portal.states.values():
        flagged |= np.fromiter((r is None for r in states.records), dtype=bool, count=len(ids))
    done = skip.contains(ids) if skip is not None else np.zeros(len(ids), dtype=bool)
    if only is not None:
        done |= ~only.contains(ids)
    return FullRescore(portal, scorers, options, as_of, flagged, done)


def _not_fingerprinted(engine: sa.Engine, crm: str) -> set[str]:
    """Contacts with manual adjustments or a quarantined CRM write: always scored the exact way."""
    with engine.connect() as conn:
        adjusted = set(conn.execute(sa.select(adjustments.c.contact_id).where(adjustments.c.crm == crm).distinct()).scalars())
        quarantined = set(conn.execute(sa.select(outbox.c.contact_id).where(outbox.c.crm == crm, outbox.c.status == "quarantined").distinct()).scalars())
    return adjusted | quarantined
