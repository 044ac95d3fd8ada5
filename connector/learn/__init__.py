"""Learning scoring models from outcomes (``connector learn``); needs the ``learn`` extra.

Reading order: :mod:`.dataset` (input) -> :mod:`.columns` (profile) -> :mod:`.guards` (refuse or warn,
leakage) -> :mod:`.binning` / :mod:`.points` (readable points model) -> :mod:`.features` /
:mod:`.probability` (gradient-boosted probability, exported for :mod:`connector.scoring.predictive`)
-> :mod:`.metrics` / :mod:`.thresholds` (evaluation, stage cuts) -> :mod:`.pipeline` (all of it,
cross-validated) -> :mod:`.writer` / :mod:`.report` (files).
"""

from __future__ import annotations

from connector.learn.dataset import DataError
from connector.learn.pipeline import Learned, LearnOptions, learn

__all__ = ["DataError", "LearnOptions", "Learned", "learn"]
