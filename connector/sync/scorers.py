"""The scoring models of one CRM, ready to score, and what a score writes to the CRM.

Loaded once per CRM (``connector run`` keeps them between runs): each model gets the per-contact
:class:`~connector.scoring.engine.Scorer` and the vectorised
:class:`~connector.scoring.batch.BatchScorer` (same results; faster from a few dozen contacts).
"""

from __future__ import annotations

import dataclasses as dc
import pathlib
import typing as t

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.explain import summary
from connector.scoring.loader import load_models, load_predictors
from connector.scoring.model import ScoringModel
from connector.scoring.result import ScoreResult

__all__ = ["ScorerSet", "outputs_of"]


@dc.dataclass
class ScorerSet:
    """The models of one CRM, each with a per-contact scorer and a batch scorer."""

    models: list[ScoringModel]
    scorers: list[Scorer]
    batch: list[BatchScorer]

    @classmethod
    def load(cls, paths: t.Sequence[str | pathlib.Path]) -> ScorerSet:
        """Load the model files (cross-model clashes are errors) and their predictors.

        Raises:
            YamlFileError: a model file is invalid (file:line:key).
        """
        models = load_models(paths)
        scorers: list[Scorer] = []
        batch: list[BatchScorer] = []
        for model, path in zip(models, paths, strict=True):
            predictors = load_predictors(model, path)
            scorers.append(Scorer(model, predictors))
            batch.append(BatchScorer(model, predictors))
        return cls(models, scorers, batch)


def outputs_of(result: ScoreResult, model: ScoringModel, reasons_max_chars: int, names: t.Mapping[str, str] | None = None) -> dict[str, t.Any]:
    """The values a score result writes to the CRM, keyed by canonical output name.

    ``names``: ``model.output_names()``, when the caller has it already (it runs per result).
    """
    names = names if names is not None else model.output_names()
    out: dict[str, t.Any] = {names["score"]: result.score}
    for dim in model.dimensions:
        out[names[f"dimension:{dim}"]] = result.dimensions.get(dim)
    for key in ("grade", "matrix", "stage"):
        if key in names:
            out[names[key]] = getattr(result, key)
    out[names["reasons"]] = summary(result, reasons_max_chars)
    out[names["scored_at"]] = result.as_of
    return out
