"""Activity rules over all contacts at once: candidates, caps, windows, decay and the next change.

Section 6 and 13 of ``docs/scoring-semantics.md``, column-wise: an activity's worth depends only
on its whole-day age, so it is read from a table filled with the scalar
:func:`connector.scoring.decay.worth` for every age that occurs (kept per rule across calls);
``max_times`` ranks candidates newest first (ties: lowest id) only for contacts that have more
candidates than the cap, so the sort touches few rows.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt

import numpy as np

from connector.scoring import decay
from connector.scoring.batch.call import DAY, NEVER, Call, round2_array, typed
from connector.scoring.batch.memo import Conditions
from connector.scoring.model import HalfLifeDecay, Rule

__all__ = ["ActivityRules", "RuleOut"]


@dc.dataclass(slots=True)
class RuleOut:
    """One activity rule over all contacts."""

    points: np.ndarray  # float64[n]: round2 of the capped total; 0 means no reason
    counts: np.ndarray  # int32[n]: activities with a non-zero worth
    next_change: np.ndarray  # int64[n]: earliest change instant, NEVER if none



class ActivityRules:
    """Scores activity rules for a :class:`~connector.scoring.batch.BatchScorer`; keeps decay tables per rule.

    Args:
        conditions: The scorer's condition masks (``where`` filters read them).
    """

    def __init__(self, conditions: Conditions) -> None:
        self.conditions = conditions
        self._worths: dict[int, np.ndarray] = {}  # id(rule) -> decay.worth per age, grown on demand

    def score(self, call: Call, rule: Rule, cut: np.ndarray | None, only: np.ndarray | None = None) -> RuleOut:
        """Points, counts and next change instant of one activity rule, for every contact.

        ``cut``: per contact, only activities strictly after it count (``reset_on_enter``);
        ``only``: restrict the work to these contacts (others get zeros).
        """
        spec = rule.activity
        assert spec is not None
        acts, n, as_of = call.activities, call.n, call.as_of
        rows, occurred, owner = typed(call, spec.types)
        if only is not None:
            keep = only[owner]
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        for where in spec.where:
            if not len(rows):
                break
            keep = self.conditions.mask(call, where, acts.attributes, rows, len(rows))
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        next_change = np.full(n, NEVER, dtype=np.int64)
        if not len(rows):  # nothing to count (common in small chunks): what the steps below give
            return RuleOut(np.zeros(n, dtype=np.float64), np.zeros(n, dtype=np.int32), next_change)
        future = occurred > as_of
        if future.any():  # a matching activity after as_of counts once its time comes
            np.minimum.at(next_change, owner[future], occurred[future])
            keep = ~future
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if cut is not None:
            keep = occurred > cut[owner]
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if spec.within_days is not None:
            window = dt.timedelta(days=spec.within_days) // dt.timedelta(microseconds=1)
            keep = as_of - occurred <= window
            rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        if spec.max_times is not None and len(rows):
            keep = self._newest(spec.max_times, call, rows, occurred, owner)
            if keep is not None:
                rows, occurred, owner = rows[keep], occurred[keep], owner[keep]
        age = (as_of - occurred) // DAY
        table = self._worths_for(rule, int(age.max()) if len(age) else 0)
        worth = table[np.minimum(age, len(table) - 1)]
        total = np.bincount(owner, weights=worth, minlength=n).astype(np.float64, copy=False)
        if spec.max_points is not None:
            np.clip(total, -spec.max_points, spec.max_points, out=total)
        counts = np.bincount(owner[worth != 0], minlength=n).astype(np.int32)
        self._fold_changes(rule, occurred, owner, age, worth, next_change)
        return RuleOut(round2_array(total), counts, next_change)

    def _worths_for(self, rule: Rule, oldest: int) -> np.ndarray:
        """:meth:`_worth_table` remembered per rule, recomputed only when ``oldest`` outgrows it.

        A longer table agrees with a shorter one on every age both hold (``decay.worth`` of the
        same age), and a table that ends in 0 stopped at the first age worth 0, so it serves
        any ``oldest``: the looked-up worths are the ones a fresh table gives.
        """
        table = self._worths.get(id(rule))
        if table is None or (len(table) <= oldest and table[-1] != 0 and rule.activity is not None and rule.activity.decay is not None):
            table = self._worths[id(rule)] = self._worth_table(rule, oldest)
        return table

    @staticmethod
    def _worth_table(rule: Rule, oldest: int) -> np.ndarray:
        """``decay.worth`` for ages 0..``oldest`` -- or up to the first age worth 0.

        Decayed worth only shrinks towards 0 and stays there, so an activity older than the
        table's last (zero) entry reads that entry: a bogus date decades back costs nothing.
        """
        spec = rule.activity
        assert spec is not None
        if spec.decay is None:
            return np.array([decay.worth(rule.points, None, 0)])
        table = []
        for age in range(oldest + 1):
            table.append(decay.worth(rule.points, spec.decay, age))
            if table[-1] == 0:
                break
        return np.array(table, dtype=np.float64)

    def _newest(self, cap: int, call: Call, rows: np.ndarray, occurred: np.ndarray, owner: np.ndarray) -> np.ndarray | None:
        """Mask keeping each contact's ``cap`` newest candidates (ties: lowest activity id first)."""
        per_contact = np.bincount(owner, minlength=call.n)
        crowded = per_contact[owner] > cap
        if not crowded.any():
            return None
        sub = np.flatnonzero(crowded)
        sub = sub[np.lexsort((call.activities.order[rows[sub]], -occurred[sub], owner[sub]))]
        grouped = owner[sub]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        rank = np.arange(len(sub)) - np.repeat(starts, np.diff(np.r_[starts, len(sub)]))
        keep = ~crowded
        keep[sub[rank < cap]] = True
        return keep

    def _fold_changes(self, rule: Rule, occurred: np.ndarray, owner: np.ndarray, age: np.ndarray, worth: np.ndarray, out: np.ndarray) -> None:
        """Fold into ``out`` when each counted activity next changes worth (``decay.next_change``)."""
        spec = rule.activity
        assert spec is not None
        if spec.decay is not None:
            live = worth != 0
            if isinstance(spec.decay, HalfLifeDecay):
                days = age[live] + 1
            else:
                every = spec.decay.every_days
                days = (age[live] // every + 1) * every
            if live.any():
                np.minimum.at(out, owner[live], occurred[live] + days * DAY)
        if spec.within_days is not None and len(owner):
            window = dt.timedelta(days=spec.within_days) // dt.timedelta(microseconds=1)
            np.minimum.at(out, owner, occurred + window + 1)

    # ------------------------------------------------------------------ the whole model
