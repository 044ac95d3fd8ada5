"""Small builders shared by the scoring tests: a model from inline YAML, records at fixed times."""

from __future__ import annotations

import datetime as dt
import textwrap
import typing as t

import yaml

from connector.scoring.engine import Scorer
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Adjustment, Contact
from connector.scoring.result import ScoreResult, ScoringState

AS_OF = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def model(text: str) -> ScoringModel:
    """A validated model from an inline YAML snippet (dedented)."""
    return ScoringModel.model_validate(yaml.safe_load(textwrap.dedent(text)))


def days_ago(days: float, as_of: dt.datetime = AS_OF) -> dt.datetime:
    return as_of - dt.timedelta(days=days)


_counter = iter(range(1, 10**9))


def act(kind: str, days: float, contact_id: str = "c1", **attributes: t.Any) -> Activity:
    """An activity of ``kind`` ``days`` before AS_OF, with a fresh id."""
    return Activity(id=f"a{next(_counter):06d}", type=kind, occurred_at=days_ago(days), contact_id=contact_id, attributes=attributes)


def adj(dimension: str, points: float, days: float = 1, reason: str = "rep said so", contact_id: str = "c1") -> Adjustment:
    return Adjustment(contact_id=contact_id, dimension=dimension, points=points, reason=reason, by="rep@example.com", at=days_ago(days))


def score(
    m: ScoringModel,
    properties: t.Mapping[str, t.Any] | None = None,
    activities: t.Sequence[Activity] = (),
    adjustments: t.Sequence[Adjustment] = (),
    as_of: dt.datetime = AS_OF,
    previous: ScoringState | None = None,
    email: str | None = None,
) -> ScoreResult:
    contact = Contact(id="c1", email=email, properties=dict(properties or {}))
    return Scorer(m).score(contact, activities, adjustments, as_of, previous)


def reason_points(result: ScoreResult) -> dict[str, float]:
    return {r.rule: r.points for r in result.reasons}
