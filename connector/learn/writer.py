"""Write the learned model: a commented scoring-model YAML and the probability model's JSON beside it.

PyYAML cannot write comments, and the comments are the point (each rule says how many contacts and
what conversion rate it rests on), so the YAML text is rendered here in flow style per rule. The
result is validated with ``ScoringModel`` before writing and re-read with ``connector.yamlfile``
after, and must equal what was validated.
"""

from __future__ import annotations

import dataclasses as dc
import json
import math
import pathlib
import re
import typing as t

from connector.learn.pipeline import Learned
from connector.learn.points import PointRule, slug
from connector.scoring.model import ScoringModel
from connector.yamlfile import load_yaml_model

__all__ = ["POINTS", "PROBABILITY", "Written", "model_dict", "render_yaml", "write_model"]

#: Dimension names of the learned model.
POINTS = "points"
PROBABILITY = "probability"


@dc.dataclass(frozen=True)
class Written:
    """Paths written."""

    yaml: pathlib.Path
    json: pathlib.Path


def _model_name(path: pathlib.Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_\-]+", "-", path.stem).strip("-_")
    return name if name[:1].isalpha() else f"learned-{name}" if name else "learned"


def _rule_dict(rule: PointRule, rule_id: str) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"id": rule_id, "label": rule.text, "dimension": POINTS, "points": rule.points}
    if rule.bucket is not None:
        out["when"] = rule.bucket.when
    else:
        term = t.cast(t.Any, rule.term)
        activity: dict[str, t.Any] = {"types": [term.type], "max_times": term.cap}
        if term.within_days:
            activity["within_days"] = term.within_days
        out["activity"] = activity
    return out


def _rule_id(rule: PointRule, seen: set[str]) -> str:
    if rule.bucket is not None:
        b = rule.bucket
        tail = {"level": b.level or "", "other": "other", "missing": "missing"}.get(b.kind)
        if tail is None:
            tail = f"from_{b.low:g}" if b.high is None else (f"under_{b.high:g}" if b.low is None else f"{b.low:g}_to_{b.high:g}")
        base = slug(f"{b.column}_{tail}")
    else:
        term = t.cast(t.Any, rule.term)
        base = slug(f"{term.type}_{'recent' if term.within_days else 'count'}")
    rid, k = base[:60], 2
    while rid in seen:
        rid, k = f"{base[:56]}_{k}", k + 1
    seen.add(rid)
    return rid


def model_dict(learned: Learned, output: pathlib.Path, json_name: str) -> tuple[dict[str, t.Any], list[str]]:
    """The scoring model as plain data, plus one evidence comment per rule."""
    y = learned.y
    rate = float(y.mean())
    rules: list[dict[str, t.Any]] = []
    comments: list[str] = []
    seen: set[t.Any] = set()
    for rule in sorted(learned.points.rules, key=lambda r: (r.bucket.column if r.bucket else "~" + t.cast(t.Any, r.term).type, -r.points)):
        rules.append(_rule_dict(rule, _rule_id(rule, seen)))
        comments.append(f"evidence: {rule.n} contacts, {rule.rate:.1%} converted (all contacts: {rate:.1%})")
    hot, mql = learned.thresholds.hot, learned.thresholds.mql
    data: dict[str, t.Any] = {
        "model": _model_name(output),
        "description": (
            f"Learned by connector learn from {learned.options.contacts.name} ({len(y)} labelled contacts, "
            f"{int(y.sum())} converted, label '{learned.options.label}', seed {learned.options.seed})."
        ),
        "placeholders": list(learned.options.placeholders),
        "dimensions": {
            POINTS: {"floor": learned.points.floor, "ceiling": max(learned.points.ceiling, learned.points.floor), "weight": 0},
            PROBABILITY: {"floor": 0, "ceiling": 100, "weight": 1, "predictive": {"model_file": json_name}},
        },
        "total": {"floor": 0, "ceiling": 100},
        "rules": rules,
        "grade": {"dimension": PROBABILITY, "bands": [{"label": "A", "min": hot}, {"label": "B", "min": mql}, {"label": "C"}]},
        "stages": {
            "order": [
                {"name": "lead"},
                {"name": "mql", "thresholds": {PROBABILITY: mql}},
                {"name": "sql", "thresholds": {PROBABILITY: hot}},
            ]
        },
    }
    if hot <= mql:
        data["grade"]["bands"] = [{"label": "A", "min": hot}, {"label": "C"}]
    return data, comments


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
#: Words YAML 1.1 (PyYAML) reads as booleans or null: always quote them.
_YAML11_WORDS = frozenset({"yes", "no", "y", "n", "true", "false", "on", "off", "null"})


def _scalar(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value)) if math.isfinite(value) else ".nan"
        text = repr(value)
        return text if "e" not in text else f"{value:.12f}".rstrip("0")
    text = str(value)
    if _PLAIN.fullmatch(text) and text.casefold() not in _YAML11_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value: t.Any) -> str:
    """YAML flow style (JSON-like) that PyYAML reads back to the same value."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def render_yaml(data: dict[str, t.Any], comments: t.Sequence[str], learned: Learned) -> str:
    """The YAML text: header comments, the model, one commented block per rule."""
    ev = learned.evaluation
    th = learned.thresholds
    lines = [
        "# Learned by `connector learn`. Edit freely: it is an ordinary scoring model.",
        f"# Out-of-fold (nested cross-validation) ROC AUC: probability {ev.auc_probability:.3f}, points {ev.auc_points:.3f}; calibration error {ev.ece:.3f}.",
        f"# Out-of-fold hot stage (each fold's own threshold): {ev.hot.conversion:.1%} convert, holding {ev.hot.captured:.1%} of all conversions.",
        f"# Hot (sql) threshold {th.hot:g}: {th.hot_row.conversion:.1%} convert, holding {th.hot_row.captured:.1%} of all conversions (on the scores it was picked on).",
        f"# MQL threshold {th.mql:g}: {th.mql_row.conversion:.1%} convert, holding {th.mql_row.captured:.1%} of all conversions (same).",
        "# The total is the calibrated probability (0..100); the points dimension (weight 0) explains it",
        "# in readable rules. Raise its weight (and total.ceiling) to make the points count in the total.",
    ]
    excluded = [e for e in learned.excluded]
    if excluded:
        lines.append("# Columns left out:")
        lines += [f"#   {e.column}: {e.reason}" for e in excluded]
    lines += [
        f"model: {_scalar(data['model'])}",
        f"description: {_scalar(data['description'])}",
        f"placeholders: {_flow(data['placeholders'])}",
        "dimensions:",
    ]
    for name, dim in data["dimensions"].items():
        lines.append(f"  {name}: {_flow(dim)}")
    lines.append(f"total: {_flow(data['total'])}")
    lines.append("rules:" if data["rules"] else "rules: []")
    for rule, comment in zip(data["rules"], comments, strict=False):
        lines.append(f"  # {comment}")
        first = True
        for key, value in rule.items():
            lines.append(f"  {'- ' if first else '  '}{key}: {_flow(value)}")
            first = False
    lines.append(f"grade: {_flow(data['grade'])}")
    lines.append("stages:")
    lines.append("  order:")
    for stage in data["stages"]["order"]:
        lines.append(f"    - {_flow(stage)}")
    return "\n".join(lines) + "\n"


def _json_text(learned: Learned) -> str:
    """Readable JSON: top-level keys indented, each tree's arrays on one line each."""
    data = learned.model_file.model_dump(mode="json")
    data["features"] = [f.model_dump(mode="json", exclude_defaults=True) for f in learned.model_file.features]
    trees = data["ensemble"].pop("trees")
    text = json.dumps(data, indent=2, ensure_ascii=False)
    tree_text = ",\n".join(
        "      {\n" + ",\n".join(f"        {json.dumps(k)}: {json.dumps(v)}" for k, v in tree.items()) + "\n      }" for tree in trees
    )
    head, tail = text.split('"bias": ', 1)
    bias, rest = tail.split("\n", 1)
    return f'{head}"bias": {bias.rstrip(",")},\n    "trees": [\n{tree_text}\n    ]\n{rest}'


def write_model(learned: Learned, output: pathlib.Path) -> Written:
    """Validate and write ``output`` (YAML) and ``<stem>.probability.json`` beside it."""
    output = pathlib.Path(output)
    json_path = output.with_name(f"{output.stem}.probability.json")
    data, comments = model_dict(learned, output, json_path.name)
    ScoringModel.model_validate(data)
    text = render_yaml(data, comments, learned)
    output.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(_json_text(learned), encoding="utf-8")
    output.write_text(text, encoding="utf-8")
    reread = load_yaml_model(output, ScoringModel, what="scoring model")
    if reread != ScoringModel.model_validate(data):
        raise RuntimeError(f"internal error: {output} does not read back as the model that was written")
    return Written(output, json_path)
