"""Models learned from a CRM's own outcomes: drafts, the live one, and promotion.

``connector learn --crm`` (and the schedule, see :func:`learn_if_due`) runs the same learner as
``connector learn`` on a CSV -- same guards: too little data, leakage, placeholders -- on the
stored contacts labelled by their outcomes (:mod:`connector.sync.trainset`). The result is a
*draft*: ``<learn.path dir>/drafts/<model>-<UTC stamp>/<model>.yaml`` and its probability file,
recorded in ``model_versions`` with its figures. It scores nothing until promoted.

Held-out comparison: the draft's figure is its ROC AUC on the outer folds of the nested
cross-validation (contacts its fitting never saw); the current model's figure is the ROC AUC of its
score on the same contacts, scored now from the stored data (the current model was not fitted on
them, or -- a learned model -- on fewer, earlier outcomes, which flatters it: promotion errs on
the side of keeping what runs). ``promote_margin`` set: a draft whose figure beats the current
one by at least the margin is promoted at once.

Promotion copies the draft's two files over ``learn.path`` (the previous live files are kept as
``<name>.yaml.<stamp>.bak``), marks the draft ``live`` and the previous live version ``retired``.
A sync started after that scores with it when ``learn.path`` is listed under the CRM's
``models`` (``connector run`` loads models at start: restart it).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import pathlib
import shutil
import typing as t

import numpy as np
import sqlalchemy as sa

from connector.scoring.loader import load_models, load_predictors
from connector.scoring.model import ScoringModel
from connector.sync.tables import model_versions
from connector.sync.trainset import TrainingSet, training_set

if t.TYPE_CHECKING:
    from connector.learn import Learned
    from connector.sync.config import CRMConfig, LearnConfig

log = logging.getLogger(__name__)

__all__ = ["LearnResult", "NotConfigured", "learn_from_crm", "learn_if_due", "list_versions", "promote"]


class NotConfigured(ValueError):
    """The CRM has no ``learn`` section, or names no such draft."""


@dc.dataclass
class LearnResult:
    """What one learning run produced and how it compares."""

    name: str
    draft: pathlib.Path
    contacts: int
    converted: int
    #: the draft's out-of-fold ROC AUC (nested cross-validation)
    draft_auc: float
    #: the current model's ROC AUC on the same contacts (``None``: no current model could score)
    current_auc: float | None
    current_model: str | None
    promoted: bool
    warnings: list[str]
    #: columns left out, with why (leaks among them)
    excluded: list[str]


def _settings(crm: CRMConfig) -> LearnConfig:
    if crm.learn is None:
        raise NotConfigured(f"CRM '{crm.name}' has no 'learn' section in connector.yaml (see docs/learning.md)")
    return crm.learn


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    from connector.learn.metrics import roc_auc

    return float(roc_auc(y, score))


def current_model_path(crm: CRMConfig) -> pathlib.Path:
    """The model a draft is compared with: the live learned model, else the CRM's first model."""
    cfg = _settings(crm)
    return cfg.path if cfg.path.is_file() else crm.models[0]


def current_auc(path: pathlib.Path, data: TrainingSet) -> tuple[str, float]:
    """ROC AUC of the model at ``path`` on the training contacts, scored as of ``data.as_of``."""
    from connector.scoring.engine import Scorer
    from connector.scoring.loader import load_model

    model: ScoringModel = load_model(path)
    scorer = Scorer(model, load_predictors(model, path))
    scores = np.array([scorer.score(c, data.activities.get(c.id, []), [], data.as_of).score for c in data.contacts], dtype=float)
    return model.model, _roc_auc(np.asarray(data.labels), scores)


def learn_from_crm(engine: sa.Engine, crm: CRMConfig, *, now: dt.datetime, on_fold: t.Callable[[int, int], None] | None = None) -> LearnResult:
    """Learn a draft from the stored outcomes, record it, compare it, promote it when it wins by the margin.

    Raises:
        NotConfigured: the CRM has no ``learn`` section.
        connector.learn.DataError: the stored data cannot be learned from (the guards' message).
    """
    from connector.learn import DataError, LearnOptions, learn
    from connector.learn.dataset import LearningData
    from connector.learn.pipeline import DEFAULT_PLACEHOLDERS
    from connector.learn.probability import BoostingParams
    from connector.learn.writer import write_model

    cfg = _settings(crm)
    data = training_set(engine, crm.name, cfg.label or None, now)
    if not data.contacts:
        raise DataError(f"CRM '{crm.name}' has no stored contacts yet: run a sync first")
    label = "+".join(cfg.label) if cfg.label else "any outcome"
    # "Not answered" values: the learner's defaults and those the CRM's models declare.
    placeholders = tuple(dict.fromkeys([*DEFAULT_PLACEHOLDERS, *(p for m in load_models(crm.models) for p in m.placeholders)]))
    options = LearnOptions(
        contacts=pathlib.Path(f"the state store ({crm.name})"),
        label=label,
        placeholders=placeholders,
        exclude=tuple(cfg.exclude),
        seed=cfg.seed,
        folds=cfg.folds,
        boosting=BoostingParams(trees=cfg.trees),
        as_of=now,
    )
    learned: Learned = learn(options, LearningData(data.contacts, data.labels, data.columns, data.activities, now, notes=data.notes), on_fold)
    model_name = cfg.path.stem
    name = f"{model_name}-{now.strftime('%Y%m%dT%H%M%SZ')}"
    folder = cfg.path.parent / "drafts" / name
    written = write_model(learned, folder / cfg.path.name)
    current_name: str | None = None
    cur: float | None = None
    try:
        current_name, cur = current_auc(current_model_path(crm), data)
    except Exception as exc:  # noqa: BLE001 - a current model that cannot score these contacts is reported, not fatal
        learned.warnings.append(f"the current model could not be scored for comparison: {exc}")
    draft_auc = float(learned.evaluation.auc_probability)
    metrics = {
        "label": label, "contacts": len(data.labels), "converted": int(sum(data.labels)), "draft_roc_auc": round(draft_auc, 4),
        "current_model": current_name, "current_roc_auc": None if cur is None else round(cur, 4), "as_of": now.isoformat(),
    }
    with engine.begin() as conn:
        conn.execute(sa.insert(model_versions).values(crm=crm.name, model=model_name, name=name, status="draft", path=str(written.yaml), metrics=metrics, created_at=now))
    promoted = False
    if cfg.promote_margin is not None and (cur is None or draft_auc >= cur + cfg.promote_margin):
        promote(engine, crm, name, now=now)
        promoted = True
    return LearnResult(
        name=name, draft=written.yaml, contacts=len(data.labels), converted=int(sum(data.labels)), draft_auc=draft_auc,
        current_auc=cur, current_model=current_name, promoted=promoted, warnings=list(learned.warnings),
        excluded=[f"{e.column}: {e.reason}" for e in learned.excluded],
    )


def list_versions(engine: sa.Engine, crm: str) -> list[dict[str, t.Any]]:
    """Every learned version of ``crm``, newest first."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(model_versions).where(model_versions.c.crm == crm).order_by(model_versions.c.id.desc()))]


def promote(engine: sa.Engine, crm: CRMConfig, name: str, *, now: dt.datetime) -> pathlib.Path:
    """Make draft ``name`` the live learned model (files copied over ``learn.path``); return that path.

    Raises:
        NotConfigured: no ``learn`` section, or no version ``name`` of this CRM.
    """
    cfg = _settings(crm)
    with engine.connect() as conn:
        row = conn.execute(sa.select(model_versions).where(model_versions.c.crm == crm.name, model_versions.c.name == name)).first()
    if row is None:
        raise NotConfigured(f"no learned model '{name}' for CRM '{crm.name}' (see `connector models list`)")
    draft = pathlib.Path(row.path)
    probability = draft.with_name(f"{draft.stem}.probability.json")
    for needed in (draft, probability):
        if not needed.is_file():
            raise NotConfigured(f"the files of '{name}' are gone: {needed} not found")
    live = cfg.path
    live.parent.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    for src, dst in ((draft, live), (probability, live.with_name(f"{live.stem}.probability.json"))):
        if dst.exists():
            shutil.copy2(dst, dst.with_name(f"{dst.name}.{stamp}.bak"))
        shutil.copy2(src, dst)
    with engine.begin() as conn:
        conn.execute(sa.update(model_versions).where(model_versions.c.crm == crm.name, model_versions.c.status == "live").values(status="retired"))
        conn.execute(sa.update(model_versions).where(model_versions.c.id == row.id).values(status="live", promoted_at=now))
    return live


def learn_if_due(engine: sa.Engine, crm: CRMConfig, now: dt.datetime) -> LearnResult | None:
    """Learn when ``learn.every_days`` have passed since the last learned version (the schedule's hook).

    Called after each scheduled sync of the CRM, on its worker (so never while the CRM syncs).
    Data that cannot be learned from yet (too few outcomes) is logged, not raised: the schedule
    tries again after the next sync.
    """
    if crm.learn is None or crm.learn.every_days is None:
        return None
    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(model_versions.c.created_at)).where(model_versions.c.crm == crm.name)).scalar_one()
    if last is not None and now - last < dt.timedelta(days=crm.learn.every_days):
        return None
    try:
        from connector.learn import DataError
    except ImportError:
        log.warning("crm %s: scheduled learning needs the learn extra: pip install 'connector[learn]'", crm.name)
        return None
    try:
        result = learn_from_crm(engine, crm, now=now)
    except DataError as exc:
        log.warning("crm %s: scheduled learning skipped: %s", crm.name, exc)
        return None
    log.info(
        "crm %s: learned %s (held-out ROC AUC %.3f, current %s)%s", crm.name, result.name, result.draft_auc,
        "n/a" if result.current_auc is None else f"{result.current_auc:.3f}", ", promoted" if result.promoted else "",
    )
    return result
