"""Runtime of a learned probability dimension: read the JSON model ``connector learn`` wrote, score contacts.

Pure Python + numpy on purpose: scoring must not need scikit-learn, and must never unpickle
anything (a pickle runs code on load; a JSON file is data a reviewer can read). The file holds
everything the learner fitted, in the order it is applied:

1. ``features``: how one contact (properties + activities) becomes a row of numbers. The learner
   builds its training matrix with this very :class:`Encoding`, so training and scoring cannot drift.
2. ``trees``: a gradient-boosted ensemble (sum of regression trees, in log-odds). Each tree is
   parallel arrays ``feature/threshold/left/right/value/mean``; ``left == -1`` marks a leaf.
   A row goes left when ``float32(x[feature]) <= threshold`` (the rule scikit-learn's trees use).
   ``value`` of a leaf already includes the learning rate; ``mean`` is each node's expected leaf
   value, used to explain a prediction (the change of ``mean`` along the path is credited to the
   split's feature, so the credits add up exactly to ``raw - bias``).
3. ``calibration``: Platt scaling ``p = 1 / (1 + exp(-(a * raw + b)))``, fitted on out-of-fold
   predictions, so that "70" means about 70% of such leads convert.

The scoring engine turns the probability into the dimension value ``round2(100 * p)``
(see docs/scoring-semantics.md section 8).
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import json
import math
import pathlib
import typing as t

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from connector.scoring.records import Activity, Contact, utc
from connector.scoring.result import Reason

__all__ = [
    "FORMAT",
    "Calibration",
    "Encoding",
    "FeatureSpec",
    "GradientTrees",
    "ModelFile",
    "PredictiveModelError",
    "Predictor",
    "TreeArrays",
    "TreePredictor",
    "is_missing",
    "load_predictor",
]

#: The ``format`` value a model file must carry; bumped on any incompatible change.
FORMAT = "connector-predictive/1"

#: Days since last activity used when a contact never did that activity.
NEVER_DAYS = 10_000.0


class PredictiveModelError(ValueError):
    """A probability-model file that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureSpec(_Strict):
    """One input column of the ensemble.

    kinds: ``number`` (property parsed as a number, ``impute`` when missing or not a number),
    ``missing`` (1 when the property is missing), ``level`` (1 when the property equals
    ``value``, case-insensitively), ``activity_count`` (activities of ``types``, optionally
    within ``within_days`` of as_of), ``days_since`` (whole days since the latest such activity,
    ``NEVER_DAYS`` when none). ``group`` is the readable name reasons use (several features can
    describe one property).
    """

    kind: t.Literal["number", "missing", "level", "activity_count", "days_since"]
    group: str
    property: str | None = None
    value: str | None = None
    impute: float | None = None
    types: list[str] = Field(default_factory=list)
    within_days: float | None = None

    @model_validator(mode="after")
    def _check(self) -> FeatureSpec:
        if self.kind in ("number", "missing", "level") and not self.property:
            raise ValueError(f"a '{self.kind}' feature needs 'property'")
        if self.kind == "level" and self.value is None:
            raise ValueError("a 'level' feature needs 'value'")
        if self.kind == "number" and self.impute is None:
            raise ValueError("a 'number' feature needs 'impute'")
        if self.kind in ("activity_count", "days_since") and not self.types:
            raise ValueError(f"a '{self.kind}' feature needs 'types'")
        return self


class TreeArrays(_Strict):
    """One regression tree as parallel arrays (node 0 is the root)."""

    feature: list[int]
    threshold: list[float]
    left: list[int]
    right: list[int]
    value: list[float]
    mean: list[float]

    @model_validator(mode="after")
    def _check(self) -> TreeArrays:
        n = len(self.feature)
        if n == 0:
            raise ValueError("a tree needs at least one node")
        for key in ("threshold", "left", "right", "value", "mean"):
            if len(getattr(self, key)) != n:
                raise ValueError(f"'{key}' has {len(getattr(self, key))} entries, 'feature' has {n}")
        for i, (lo, hi) in enumerate(zip(self.left, self.right, strict=False)):
            if (lo == -1) != (hi == -1):
                raise ValueError(f"node {i}: 'left' and 'right' must both be -1 (leaf) or both be children")
            if lo != -1 and not (i < lo < n and i < hi < n):
                raise ValueError(f"node {i}: children must be later nodes of the same tree")
        return self


class GradientTrees(_Strict):
    """``raw = bias + sum(tree(x))`` in log-odds."""

    bias: float
    trees: list[TreeArrays] = Field(min_length=1)


class Calibration(_Strict):
    """Platt scaling of the raw log-odds."""

    method: t.Literal["platt"] = "platt"
    a: float
    b: float


class ModelFile(_Strict):
    """The whole JSON file written by ``connector learn``."""

    format: str
    label: str = ""
    placeholders: list[str] = Field(default_factory=list)
    features: list[FeatureSpec] = Field(min_length=1)
    ensemble: GradientTrees
    calibration: Calibration
    #: Free-form facts about the fit (rows, positives, cross-validated metrics); not used to score.
    trained: dict[str, t.Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> ModelFile:
        if self.format != FORMAT:
            raise ValueError(f"'format' is {self.format!r}; this connector reads {FORMAT!r} (re-run connector learn)")
        n = len(self.features)
        for k, tree in enumerate(self.ensemble.trees):
            for i, (f, lo) in enumerate(zip(tree.feature, tree.left, strict=False)):
                if lo != -1 and not 0 <= f < n:
                    raise ValueError(f"ensemble.trees[{k}] node {i} uses feature {f}, but there are {n} features")
        return self


def is_missing(value: t.Any, placeholders: t.Collection[str]) -> bool:
    """Missing as docs/scoring-semantics.md section 2 defines it (``placeholders`` casefolded)."""
    if value is None:
        return True
    if isinstance(value, str):
        text = value.strip()
        return not text or text.casefold() in placeholders
    return bool(isinstance(value, float) and math.isnan(value))


def _as_number(value: t.Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        out = float(value)
    else:
        try:
            out = float(str(value).strip())
        except ValueError:
            return None
    return out if math.isfinite(out) else None


def _equals(value: t.Any, level: str) -> bool:
    """A multi-select value is one level: its items joined by ``;`` (as the learner saw it)."""
    if isinstance(value, (list, tuple)):
        return ";".join(str(v).strip() for v in value).casefold() == level
    return str(value).strip().casefold() == level


@dc.dataclass(frozen=True)
class Encoding:
    """Turns canonical records into the ensemble's input rows; shared by learner and runtime."""

    features: tuple[FeatureSpec, ...]
    placeholders: frozenset[str]

    @classmethod
    def create(cls, features: t.Sequence[FeatureSpec], placeholders: t.Iterable[str]) -> Encoding:
        """Build an encoding; placeholders compare case-insensitively."""
        return cls(tuple(features), frozenset(p.strip().casefold() for p in placeholders))

    @property
    def names(self) -> list[str]:
        """A readable name per column (for reports and tests)."""
        out = []
        for f in self.features:
            if f.kind == "level":
                out.append(f"{f.property} = {f.value}")
            elif f.kind == "missing":
                out.append(f"{f.property} missing")
            elif f.kind == "number":
                out.append(str(f.property))
            elif f.kind == "activity_count":
                window = f" in {f.within_days:g} days" if f.within_days else ""
                out.append(f"{'/'.join(f.types)} count{window}")
            else:
                out.append(f"days since {'/'.join(f.types)}")
        return out

    def row(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> np.ndarray:
        """One contact as a float64 row (len = number of features)."""
        as_of = utc(as_of)
        props = contact.properties
        out = np.zeros(len(self.features), dtype=np.float64)
        ages: dict[str, list[float]] = {}
        for act in activities:
            when = utc(act.occurred_at)
            if when <= as_of:
                ages.setdefault(act.type, []).append((as_of - when).total_seconds() / 86400.0)
        for j, f in enumerate(self.features):
            if f.kind in ("number", "missing", "level"):
                raw = props.get(t.cast(str, f.property))
                missing = is_missing(raw, self.placeholders)
                if f.kind == "missing":
                    out[j] = 1.0 if missing else 0.0
                elif f.kind == "level":
                    out[j] = 1.0 if not missing and _equals(raw, t.cast(str, f.value).casefold()) else 0.0
                else:
                    num = None if missing else _as_number(raw)
                    out[j] = t.cast(float, f.impute) if num is None else num
            else:
                found = [a for typ in f.types for a in ages.get(typ, ())]
                if f.kind == "activity_count":
                    out[j] = float(sum(1 for a in found if f.within_days is None or a <= f.within_days))
                else:
                    out[j] = float(math.floor(min(found))) if found else NEVER_DAYS
        return out

    def matrix(
        self,
        contacts: t.Sequence[Contact],
        activities: t.Mapping[str, t.Sequence[Activity]],
        as_of: dt.datetime,
    ) -> np.ndarray:
        """Rows for many contacts; ``activities`` maps contact id to that contact's activities."""
        out = np.zeros((len(contacts), len(self.features)), dtype=np.float64)
        for i, contact in enumerate(contacts):
            out[i] = self.row(contact, activities.get(contact.id, ()), as_of)
        return out


class _CompiledTree:
    """numpy arrays of one tree, with the depth needed to walk every row to a leaf."""

    __slots__ = ("depth", "feature", "left", "mean", "right", "threshold", "value")

    def __init__(self, tree: TreeArrays) -> None:
        self.feature = np.asarray(tree.feature, dtype=np.int64)
        self.threshold = np.asarray(tree.threshold, dtype=np.float64)
        self.left = np.asarray(tree.left, dtype=np.int64)
        self.right = np.asarray(tree.right, dtype=np.int64)
        self.value = np.asarray(tree.value, dtype=np.float64)
        self.mean = np.asarray(tree.mean, dtype=np.float64)
        depth = np.zeros(len(self.feature), dtype=np.int64)
        for i in range(len(self.feature)):  # children always come after their parent
            if self.left[i] != -1:
                depth[self.left[i]] = depth[self.right[i]] = depth[i] + 1
        self.depth = int(depth.max())

    def leaves(self, x32: np.ndarray) -> np.ndarray:
        """Leaf index per row of ``x32`` (features already rounded to float32)."""
        node = np.zeros(x32.shape[0], dtype=np.int64)
        rows = np.arange(x32.shape[0])
        for _ in range(self.depth):
            inner = self.left[node] != -1
            go_left = x32[rows, np.where(inner, self.feature[node], 0)] <= self.threshold[node]
            node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
        return node


class TreePredictor:
    """A loaded probability model: ``predict`` for one contact, ``predict_many`` for a batch."""

    def __init__(self, spec: ModelFile, dimension: str, *, top_reasons: int = 3, min_points: float = 0.5) -> None:
        self.spec = spec
        self.dimension = dimension
        self.encoding = Encoding.create(spec.features, spec.placeholders)
        self._trees = [_CompiledTree(tr) for tr in spec.ensemble.trees]
        self._bias = spec.ensemble.bias
        self._groups = sorted({f.group for f in spec.features})
        self._group_of = np.array([self._groups.index(f.group) for f in spec.features], dtype=np.int64)
        self._top = top_reasons
        self._min_points = min_points
        # Plain lists for the one-contact path: walking 300 small trees in Python beats 300 rounds
        # of numpy calls on a single row by two orders of magnitude.
        self._py_trees = [(tr.feature, tr.threshold, tr.left, tr.right, tr.value, tr.mean) for tr in spec.ensemble.trees]
        self._py_group_of = self._group_of.tolist()

    # -- numbers -------------------------------------------------------------------------
    def raw(self, x: np.ndarray) -> np.ndarray:
        """Log-odds before calibration for rows ``x`` (n, features)."""
        x32 = np.asarray(x, dtype=np.float32).astype(np.float64)
        total = np.full(x32.shape[0], self._bias, dtype=np.float64)
        for tree in self._trees:
            total += tree.value[tree.leaves(x32)]
        return total

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability for raw log-odds."""
        cal = self.spec.calibration
        z = cal.a * np.asarray(raw, dtype=np.float64) + cal.b
        return 1.0 / (1.0 + np.exp(-z))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for encoded rows."""
        return self.calibrate(self.raw(x))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """Per row and feature group, the log-odds that group added (rows sum to raw - expected raw)."""
        x32 = np.asarray(x, dtype=np.float32).astype(np.float64)
        n = x32.shape[0]
        out = np.zeros((n, len(self._groups)), dtype=np.float64)
        rows = np.arange(n)
        for tree in self._trees:
            node = np.zeros(n, dtype=np.int64)
            for _ in range(tree.depth):
                inner = tree.left[node] != -1
                feat = np.where(inner, tree.feature[node], 0)
                go_left = x32[rows, feat] <= tree.threshold[node]
                child = np.where(inner, np.where(go_left, tree.left[node], tree.right[node]), node)
                delta = np.where(inner, tree.mean[child] - tree.mean[node], 0.0)
                np.add.at(out, (rows, self._group_of[feat]), delta)
                node = child
        return out

    def walk(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        """Raw log-odds and per-group contributions of one encoded row (same numbers as :meth:`raw`)."""
        x32 = np.asarray(x, dtype=np.float32).astype(np.float64).tolist()
        group_of = self._py_group_of
        contrib = [0.0] * len(self._groups)
        raw = self._bias
        for feature, threshold, left, right, value, mean in self._py_trees:
            node = 0
            while left[node] != -1:
                f = feature[node]
                child = left[node] if x32[f] <= threshold[node] else right[node]
                contrib[group_of[f]] += mean[child] - mean[node]
                node = child
            raw += value[node]
        return raw, np.asarray(contrib, dtype=np.float64)

    # -- the engine's contract -----------------------------------------------------------
    def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
        """Probability of conversion 0..1 and the features that pushed it up or down most."""
        raw, contrib = self.walk(self.encoding.row(contact, activities, as_of))
        p = float(self.calibrate(np.array([raw]))[0])
        return p, self._reasons(contact, activities, as_of, raw, p, contrib)

    def predict_many(
        self,
        contacts: t.Sequence[Contact],
        activities: t.Mapping[str, t.Sequence[Activity]],
        as_of: dt.datetime,
    ) -> np.ndarray:
        """Probabilities for many contacts at once (no reasons); the batch engine's fast path."""
        return self.probabilities(self.encoding.matrix(contacts, activities, as_of))

    def _reasons(
        self,
        contact: Contact,
        activities: t.Sequence[Activity],
        as_of: dt.datetime,
        raw: float,
        p: float,
        contrib: np.ndarray,
    ) -> list[Reason]:
        # A group's points: how many dimension points the probability would lose without its push.
        without = self.calibrate(raw - contrib)
        points = 100.0 * (p - without)
        order = np.argsort(-np.abs(points), kind="stable")
        ups = [i for i in order if points[i] >= self._min_points][: self._top]
        downs = [i for i in order if points[i] <= -self._min_points][: self._top]
        reasons = []
        for i in sorted(ups + downs, key=lambda k: -abs(points[k])):
            group = self._groups[i]
            pts = math.floor(points[i] * 100 + 0.5) / 100
            direction = "raises" if pts > 0 else "lowers"
            reasons.append(
                Reason(
                    rule=group,
                    dimension=self.dimension,
                    points=pts,
                    label=f"{self._describe(group, contact, activities, as_of)}: {direction} the likelihood to convert",
                    kind="predictive",
                )
            )
        return reasons

    def _describe(self, group: str, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> str:
        """Readable current value of a feature group, e.g. ``Lead Source is Google``."""
        spec = next(f for f in self.spec.features if f.group == group)
        if spec.property is not None:
            value = contact.properties.get(spec.property)
            if is_missing(value, self.encoding.placeholders):
                return f"{spec.property} not given"
            return f"{spec.property} is {str(value).strip()}"
        n = sum(1 for a in activities if a.type in spec.types and utc(a.occurred_at) <= utc(as_of))
        return f"{n} {'/'.join(spec.types)} activit{'y' if n == 1 else 'ies'}"


@t.runtime_checkable
class Predictor(t.Protocol):
    """What the scoring engine needs from a predictive dimension."""

    def predict(self, contact: Contact, activities: t.Sequence[Activity], as_of: dt.datetime) -> tuple[float, list[Reason]]:
        """Probability of conversion 0..1, and reasons (kind="predictive") naming the strongest features."""
        ...


def _problem(path: pathlib.Path, exc: ValidationError) -> PredictiveModelError:
    lines = []
    for err in exc.errors(include_url=False)[:10]:
        key = ""
        for part in err["loc"]:
            key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
        lines.append(f"{path}: {key or '(top level)'}: {err['msg'].removeprefix('Value error, ')}")
    return PredictiveModelError("\n".join(lines))


def load_predictor(path: pathlib.Path, dimension: str) -> TreePredictor:
    """Load a model file written by ``connector learn``; any problem names the file (and key/line)."""
    path = pathlib.Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PredictiveModelError(f"{path}: predictive model file not found (dimension '{dimension}'; re-run connector learn or fix model_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PredictiveModelError(f"{path}: cannot read predictive model file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PredictiveModelError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise PredictiveModelError(f"{path}: a predictive model file must be a JSON object, got {type(data).__name__}")
    try:
        spec = ModelFile.model_validate(data)
    except ValidationError as exc:
        raise _problem(path, exc) from None
    return TreePredictor(spec, dimension)
