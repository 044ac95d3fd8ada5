"""What scoring hands back: scores with their reasons, and the state carried to the next run.

Plain data out. ``ScoringState`` is what makes scoring a pure function across runs: the caller
(the sync engine) stores it per contact and model and hands it back next time.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import math
import typing as t

__all__ = ["Reason", "ScoreResult", "ScoringState", "TriggerEvent", "round2"]


def round2(value: float) -> float:
    """Round half-up to hundredths with plain IEEE operations.

    Both the per-contact and the batch (numpy) path use exactly this formula
    (``floor(x * 100 + 0.5) / 100``), so they agree to the last bit; Python's ``round`` and
    ``numpy.round`` disagree with each other on some halves.
    """
    return math.floor(value * 100 + 0.5) / 100


@dc.dataclass(frozen=True, slots=True)
class Reason:
    """One rule (or adjustment, or exclusion) that gave or took points."""

    rule: str
    dimension: str
    points: float
    label: str
    #: How many activities counted (activity rules), after caps.
    count: int | None = None
    #: ``rule`` | ``activity`` | ``adjustment`` | ``exclusion`` | ``predictive`` | ``clamp``
    kind: str = "rule"
    detail: str | None = None

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form, without empty fields (built by hand: ``dc.asdict`` deep-copies, slowly)."""
        out: dict[str, t.Any] = {"rule": self.rule, "dimension": self.dimension, "points": self.points, "label": self.label}
        if self.count is not None:
            out["count"] = self.count
        out["kind"] = self.kind
        if self.detail is not None:
            out["detail"] = self.detail
        return out


@dc.dataclass(frozen=True, slots=True)
class TriggerEvent:
    """A trigger that fired in this scoring, with the actions the sync must carry out."""

    trigger: str
    watched: str
    value: float | str
    actions: tuple[t.Mapping[str, t.Any], ...]

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form."""
        return {"trigger": self.trigger, "watched": self.watched, "value": self.value, "actions": [dict(a) for a in self.actions]}


@dc.dataclass(frozen=True, slots=True)
class ScoringState:
    """Per contact and model, carried from one scoring to the next.

    ``armed`` maps trigger id -> whether it may fire (absent means armed).
    ``stage_entered_at`` is when the current stage was entered (drives ``reset_on_enter``).
    """

    stage: str | None = None
    stage_entered_at: dt.datetime | None = None
    armed: t.Mapping[str, bool] = dc.field(default_factory=dict)

    def to_dict(self) -> dict[str, t.Any]:
        """JSON-ready form (datetimes as ISO 8601)."""
        return {
            "stage": self.stage,
            "stage_entered_at": self.stage_entered_at.isoformat() if self.stage_entered_at else None,
            "armed": dict(self.armed),
        }

    @classmethod
    def from_dict(cls, data: t.Mapping[str, t.Any] | None) -> ScoringState:
        """Inverse of :meth:`to_dict`; ``None`` gives the initial state."""
        if not data:
            return cls()
        entered = data.get("stage_entered_at")
        return cls(
            stage=data.get("stage"),
            stage_entered_at=dt.datetime.fromisoformat(entered) if entered else None,
            armed=dict(data.get("armed") or {}),
        )


@dc.dataclass(frozen=True, slots=True)
class ScoreResult:
    """The score of one contact under one model, as of one instant.

    ``changes_at`` is the earliest later instant at which the same inputs would score
    differently (a decay step, an activity leaving its ``within_days`` window); ``None`` if never.
    The sync engine rescores a contact without new data only when ``changes_at`` has passed.
    """

    contact_id: str
    model: str
    score: float
    dimensions: t.Mapping[str, float]
    grade: str | None
    matrix: str | None
    stage: str | None
    excluded: str | None
    triggers: tuple[TriggerEvent, ...]
    reasons: tuple[Reason, ...]
    state: ScoringState
    as_of: dt.datetime
    changes_at: dt.datetime | None = None

    def to_dict(self) -> dict[str, t.Any]:
        """The documented JSON output of ``connector score``."""
        return {
            "contact_id": self.contact_id,
            "model": self.model,
            "score": self.score,
            "dimensions": dict(self.dimensions),
            "grade": self.grade,
            "matrix": self.matrix,
            "stage": self.stage,
            "excluded": self.excluded,
            "triggers": [e.to_dict() for e in self.triggers],
            "reasons": [r.to_dict() for r in self.reasons],
            "as_of": self.as_of.isoformat(),
            "changes_at": self.changes_at.isoformat() if self.changes_at else None,
            "state": self.state.to_dict(),
        }
