"""Learning scoring models from outcomes (``connector learn``); needs the ``learn`` extra.

Reading order: :mod:`.dataset` (input) -> :mod:`.columns` (profile) -> :mod:`.guards` / :mod:`.screen`
(refuse or warn, leakage) -> :mod:`.binning` / :mod:`.points` (readable points model) -> :mod:`.features`
/ :mod:`.probability` / :mod:`.additive` (boosted trees + additive logistic part, exported as trees for
:mod:`connector.scoring.predictive`) -> :mod:`.metrics` / :mod:`.thresholds` (evaluation, stage cuts)
-> :mod:`.selection` (the tuned fit, and the nested cross-validation that judges it) -> :mod:`.pipeline`
(all of it) -> :mod:`.writer` / :mod:`.report` (files).
"""

from __future__ import annotations

from connector.learn.dataset import DataError
from connector.learn.pipeline import Learned, LearnOptions, learn

__all__ = ["DataError", "LearnOptions", "Learned", "learn"]
