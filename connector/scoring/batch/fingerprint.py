"""A digest per contact of everything a scoring result is made of, computed column-wise.

Why: the daily full rescore of a large portal changes almost nothing (decay moves a few scores),
but telling which contacts changed by building every :class:`~connector.scoring.result.ScoreResult`
(reasons, state, outputs) and hashing it cost most of the rescore. Every part of a result -- score,
dimensions, grade, matrix, stage, exclusion, state (stage entered, armed triggers), next change,
and the reasons (points and counts per rule, clamping) -- is a column of
:class:`~connector.scoring.columns.ResultColumns`, so a digest of a row of those columns
identifies the result: two rows with the same digest (under the same ``salt``) materialise into
the same result. The sync stores it beside each score (``scores.fingerprint``) and the full
rescore leaves a contact alone whose fingerprint has not moved.

Not covered (the caller must not rely on a fingerprint for them): manual adjustments (their
reason text and author are in the reasons) and predictive dimensions (their reasons come from the
predictor). ``salt`` must name everything outside the columns that shapes a result or what it
writes: the model itself, the reasons' length limit, the write policy, the engine version.

The hash is two 64-bit lanes of a multiply-add over the row's 64-bit words, each finished with
the splitmix64 mixer: not cryptographic (nobody gains from forging a collision: at worst one
contact keeps yesterday's score until its next change), 128 bits against accidental ones.
"""

from __future__ import annotations

import hashlib

import numpy as np

from connector.scoring.columns import ResultColumns

__all__ = ["fingerprints"]

_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def fingerprints(cols: ResultColumns, salt: str) -> list[str]:
    """One 32-hex-digit digest per contact row of ``cols`` (see the module docstring).

    Which triggers fired is left out: the result holds the state after the firing (``armed``),
    and a firing is recorded apart -- whoever compares fingerprints must look at ``fired`` too.
    """
    n = len(cols)
    seed = hashlib.blake2b(salt.encode(), digest_size=16).digest()
    h1 = np.full(n, np.frombuffer(seed[:8], dtype="<u8")[0], dtype=np.uint64)
    h2 = np.full(n, np.frombuffer(seed[8:], dtype="<u8")[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for word in _words(cols):
            np.multiply(h1, _P1, out=h1)
            np.add(h1, word, out=h1)
            np.multiply(h2, _P2, out=h2)
            np.add(h2, word ^ (word >> np.uint64(29)), out=h2)
        a, b = _mix(h1).tolist(), _mix(h2).tolist()
    return [f"{x:016x}{y:016x}" for x, y in zip(a, b, strict=True)]


def _words(cols: ResultColumns) -> list[np.ndarray]:
    """Every column of a result row as 64-bit words (floats by their bits), in a fixed order."""
    floats = [cols.score, *(cols.dimensions[d] for d in sorted(cols.dimensions))]
    floats += [cols.rule_points[:, j] for j in range(cols.rule_points.shape[1])]
    floats += [cols.clamp[:, j] for j in range(cols.clamp.shape[1])]
    ints = [cols.grade, cols.matrix, cols.stage, cols.excluded, cols.stage_entered, cols.changes_at]
    ints += [cols.rule_counts[:, j] for j in range(cols.rule_counts.shape[1])]
    ints += [cols.armed[k] for k in sorted(cols.armed)]  # (not ``fired``: a firing is recorded apart, not in the result)
    out = [np.ascontiguousarray(f, dtype=np.float64).view(np.uint64) for f in floats]
    out += [np.asarray(i).astype(np.int64).view(np.uint64) for i in ints]
    # The number of columns and their names (rules, triggers, dimensions) are in the salt's model.
    return out


def _mix(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: every input bit moves every output bit."""
    z = h ^ (h >> np.uint64(30))
    z = z * _M1
    z ^= z >> np.uint64(27)
    z = z * _M2
    return z ^ (z >> np.uint64(31))
