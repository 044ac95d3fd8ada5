"""The scoring core: canonical records in, scores with reasons out. Pure, no I/O but file readers.

Start at :class:`connector.scoring.engine.Scorer` (one contact at a time) and
:func:`connector.scoring.loader.load_model`; ``docs/scoring-semantics.md`` is the exact contract.
"""

from __future__ import annotations

from connector.scoring.engine import Predictor, Scorer
from connector.scoring.explain import summary
from connector.scoring.identity import resolve
from connector.scoring.loader import load_model, load_models
from connector.scoring.model import ScoringModel
from connector.scoring.records import Activity, Adjustment, Contact, Identity
from connector.scoring.result import Reason, ScoreResult, ScoringState, TriggerEvent

__all__ = [
    "Activity",
    "Adjustment",
    "Contact",
    "Identity",
    "Predictor",
    "Reason",
    "ScoreResult",
    "Scorer",
    "ScoringModel",
    "ScoringState",
    "TriggerEvent",
    "load_model",
    "load_models",
    "resolve",
    "summary",
]
