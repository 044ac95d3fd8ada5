"""The batch scorer gives exactly the per-contact engine's results, on randomised models and data.

Random models are built from the schema (every operator, all/any groups, caps, both decays,
windows, exclusions, stages with reset_on_enter and regression and ``gt``/``gte`` thresholds,
triggers on ``gt``/``gte``/``above`` levels, predictive-free) and
random contacts/activities carry placeholders, missing values, numbers-as-strings, multi-select
lists, timestamp ties and future activity. ``BatchScorer.score`` must equal ``Scorer.score``
result by result, field by field. Seeded, so a failure names a reproducible case.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import random
import typing as t

import pytest
from pydantic import ValidationError

from connector.scoring.batch import BatchScorer
from connector.scoring.engine import Scorer
from connector.scoring.model import ScoringModel
from connector.scoring.records import ACTIVITY_TYPES, Activity, Adjustment, Contact
from connector.scoring.result import ScoreResult, ScoringState

AS_OF = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)
PLACEHOLDERS = ["Select", "n/a", "-"]

PROPERTY_VALUES: dict[str, list[t.Any]] = {
    "job_title": ["Marketing Manager", "VP marketing", " marketing ", "CTO", "Head of Sales", "Engineer", "select", "", "  ", None, "N/A", "Intern"],
    "industry": ["Software", "software", "SaaS", "Retail", "Finance", "Healthcare", "Select", None, ["Software", "Retail"], ["Finance"]],
    "employees": [5, 50, "250", " 1000 ", 12.5, "n/a", "lots", True, None, 0, -3, "1e3", float("nan")],
    "country": ["US", "us", "Germany", "France", "UK", "", None, "United States"],
    "email": ["ann@acme.com", "bob@mail.acme.com", "eve@rival.io", "joe@gmail.com", "x@Example.ORG", "bad-address", "", None, "acme.com"],
    "budget": ["yes", "no", True, False, "Yes", None, "-"],
    "lifecycle": ["customer", "Customer", "lead", "opportunity", None],
}
PROPERTY_OPS = ["eq", "ne", "in", "not_in", "contains", "starts_with", "ends_with", "regex", "gt", "gte", "lt", "lte", "between", "exists", "missing", "email_domain_in"]
ATTRIBUTE_VALUES: dict[str, list[t.Any]] = {
    "url": ["/pricing", "/Pricing/plans", "/careers", "/blog/post-1", "/docs", "https://x.com/pricing?a=1", "", None],
    "form_id": ["f1", "f2", "F3", "contact-us", None, 7, "7"],
    "campaign": ["spring", "Spring", "winter", "n/a", None, ["spring", "summer"]],
}
TYPES = [*ACTIVITY_TYPES[:9], "unsubscribe", "custom_event"]


def _rule_value(rng: random.Random, op: str, pool: list[t.Any]) -> t.Any:
    """A plausible value for ``op``, drawn from the same pool the data uses (so rules match)."""
    scalars = [v for v in pool if isinstance(v, (str, int, float)) and not isinstance(v, bool) and v == v and v not in ("", None)]
    text = [str(v).strip() for v in scalars if str(v).strip()] or ["x"]
    if op in ("exists", "missing"):
        return None
    if op in ("gt", "gte", "lt", "lte"):
        return rng.choice([0, 10, 100, 250, 999.5, -1])
    if op == "between":
        low = rng.choice([0, 10, 50])
        return [low, low + rng.choice([0, 100, 1000])]
    if op == "email_domain_in":
        return rng.sample(["acme.com", "rival.io", "example.org", "gmail.com", "@acme.com"], rng.randint(1, 3))
    if op in ("in", "not_in"):
        return rng.sample([*text, 250, 7], rng.randint(1, 3))
    if op == "regex":
        return rng.choice(["^mark", "pricing", "ing$", r"\d+", "(?i)CT."])
    if op in ("contains", "starts_with", "ends_with"):
        word = rng.choice(text)
        return word[: rng.randint(1, len(word))] if op != "ends_with" else word[-rng.randint(1, len(word)):]
    return rng.choice([*text, 250, 7, 0])


def _condition(rng: random.Random, key: str, pools: dict[str, list[t.Any]], depth: int = 0) -> dict[str, t.Any]:
    """A random condition or all/any group (nesting at most two levels)."""
    if depth < 2 and rng.random() < 0.2:
        group = rng.choice(["all", "any"])
        return {group: [_condition(rng, key, pools, depth + 1) for _ in range(rng.randint(1, 3))]}
    name = rng.choice(list(pools))
    op = rng.choice(PROPERTY_OPS)
    cond: dict[str, t.Any] = {key: name, "op": op}
    value = _rule_value(rng, op, pools[name])
    if value is not None:
        cond["value"] = value
    if op not in ("exists", "missing") and rng.random() < 0.15:
        cond["case_sensitive"] = True
    return cond


def _points(rng: random.Random) -> float:
    return rng.choice([5, 10, 25, -10, -5, 2.5, 3.33, 1.005, 0.015, 7.125, -0.5, 12.345])


def random_model(rng: random.Random, index: int) -> ScoringModel:
    """A random, valid scoring model exercising the whole schema."""
    while True:
        try:
            return ScoringModel.model_validate(_model_dict(rng, index))
        except ValidationError:
            continue


def _model_dict(rng: random.Random, index: int) -> dict[str, t.Any]:
    dims = rng.sample(["fit", "engagement", "intent"], rng.randint(1, 3))
    dimensions = {}
    for d in dims:
        floor = rng.choice([0, 0, -20, 5])
        dimensions[d] = {"floor": floor, "ceiling": floor + rng.choice([30, 100, 60.5]), "weight": rng.choice([1, 1.5, 0.5, 2, 0.333])}
    rules: list[dict[str, t.Any]] = []
    for i in range(rng.randint(2, 9)):
        rule: dict[str, t.Any] = {"id": f"r{i}", "dimension": rng.choice(dims), "points": _points(rng)}
        if rng.random() < 0.2:
            rule["label"] = f"Rule number {i}"
        if rng.random() < 0.4:
            rule["when"] = _condition(rng, "property", PROPERTY_VALUES)
        else:
            act: dict[str, t.Any] = {"types": rng.sample(TYPES, rng.randint(1, 3))}
            if rng.random() < 0.5:
                act["where"] = [_condition(rng, "attribute", ATTRIBUTE_VALUES) for _ in range(rng.randint(1, 2))]
            if rng.random() < 0.4:
                act["within_days"] = rng.choice([7, 30, 90, 0.5, 45.25])
            if rng.random() < 0.4:
                act["max_times"] = rng.randint(1, 4)
            if rng.random() < 0.3:
                act["max_points"] = rng.choice([10, 12.5, 30, 3.333])
            roll = rng.random()
            if roll < 0.35:
                act["decay"] = {"half_life_days": rng.choice([7, 30, 14.5, 1])}
            elif roll < 0.65:
                act["decay"] = {"points": rng.choice([1, 2.5, 0.75]), "every_days": rng.choice([1, 7, 30])}
            rule["activity"] = act
        rules.append(rule)
    model: dict[str, t.Any] = {
        "model": f"m{index}",
        "dimensions": dimensions,
        "total": {"floor": rng.choice([0, -10]), "ceiling": rng.choice([100, 150, 1000])},
        "rules": rules,
        "placeholders": PLACEHOLDERS if rng.random() < 0.8 else [],
    }
    if rng.random() < 0.6:
        model["exclusions"] = [
            {"id": f"x{i}", "reason": f"excluded {i}", "when": _condition(rng, "property", PROPERTY_VALUES)} for i in range(rng.randint(1, 2))
        ]
    known = [*dims, "total"]
    if rng.random() < 0.7:
        model["grade"] = _grade(rng, rng.choice(known))
    if rng.random() < 0.5:
        model["matrix"] = {"rows": _grade(rng, rng.choice(known)), "columns": _grade(rng, rng.choice(known), digits=True)}
    stage_names: list[str] = []
    if rng.random() < 0.8:
        order = []
        for i in range(rng.randint(1, 5)):
            stage: dict[str, t.Any] = {"name": f"s{i}"}
            if i > 0 or rng.random() < 0.3:
                if rng.random() < 0.6:
                    stage["thresholds"] = {d: _level(rng, rng.choice([5, 10, 20, 40]) * (i or 1)) for d in rng.sample(known, rng.randint(1, 2))}
                if rng.random() < 0.4:
                    stage["activities"] = rng.sample(TYPES, rng.randint(1, 2))
                if rng.random() < 0.25:
                    stage["when"] = _condition(rng, "property", PROPERTY_VALUES)
                stage["match"] = rng.choice(["any", "all"])
            if rng.random() < 0.35:
                stage["reset_on_enter"] = rng.sample(dims, rng.randint(1, len(dims)))
            order.append(stage)
            stage_names.append(stage["name"])
        model["stages"] = {"order": order, "allow_regression": rng.random() < 0.3}
    triggers = []
    for i in range(rng.randint(0, 4)):
        if stage_names and rng.random() < 0.4:
            watch: dict[str, t.Any] = {"stage": rng.choice(stage_names)}
        else:
            watch = {"dimension": rng.choice(known), rng.choice(["above", "gte", "gt"]): rng.choice([5, 10, 20, 50])}
        actions = [rng.choice([
            {"type": "add_to_list", "list": "hot"},
            {"type": "set_property", "property": "hot", "value": True},
            {"type": "create_task", "subject": "Call", "due_days": 2},
            {"type": "webhook", "url": "http://127.0.0.1/hook"},
        ])]  # fmt: skip
        triggers.append({"id": f"t{i}", "watch": watch, "actions": actions})
    model["triggers"] = triggers
    return model


def _level(rng: random.Random, bound: float) -> t.Any:
    """A stage threshold in one of its spellings: a bare number or ``{gte: N}`` (N or more), ``{gt: N}`` (more than N)."""
    return rng.choice([bound, {"gte": bound}, {"gt": bound}])


def _grade(rng: random.Random, dim: str, digits: bool = False) -> dict[str, t.Any]:
    mins = sorted(rng.sample([0, 5, 10, 20, 35, 50, 75], rng.randint(1, 3)), reverse=True)
    labels = ["1", "2", "3", "4"] if digits else ["A", "B", "C", "D"]
    bands: list[dict[str, t.Any]] = [{"label": labels[i], "min": m} for i, m in enumerate(mins)]
    if rng.random() < 0.6:
        bands.append({"label": labels[len(mins)]})
    return {"dimension": dim, "bands": bands}


def random_data(rng: random.Random, n_contacts: int, model_triggers: t.Sequence[str], stage_names: t.Sequence[str], dims: t.Sequence[str]) -> tuple[
    list[Contact], list[Activity], list[Adjustment], dict[str, ScoringState]
]:
    """Contacts, activities (ties, future, duplicates, strangers), adjustments and previous states."""
    contacts = []
    for i in range(n_contacts):
        props = {k: rng.choice(v) for k, v in PROPERTY_VALUES.items() if rng.random() < 0.85}
        email = rng.choice([None, f"c{i}@acme.com", f"c{i}@rival.io", f"c{i}@other.net"])
        contacts.append(Contact(id=f"c{i}", email=email, properties=props))
    activities = []
    base = AS_OF - dt.timedelta(days=200)
    for _k in range(n_contacts * 12):
        owner = rng.randrange(n_contacts + 2)  # two ids belong to no contact in the batch
        if rng.random() < 0.3:
            when = AS_OF - dt.timedelta(days=rng.choice([0, 1, 7, 30, 45.25, 90, 0.5]))  # exact boundaries
        else:
            when = base + dt.timedelta(hours=rng.randrange(0, 24 * 210))  # hourly grid: ties happen
        roll = rng.random()
        if roll < 0.05:
            when = when.astimezone(dt.timezone(dt.timedelta(hours=2)))
        elif roll < 0.08:
            when = when.replace(tzinfo=None)  # naive means UTC
        elif roll < 0.09:
            when = AS_OF - dt.timedelta(days=rng.choice([9000, 20000]), seconds=rng.randrange(86400))  # decades old
        attrs = {a: rng.choice(v) for a, v in ATTRIBUTE_VALUES.items() if rng.random() < 0.7}
        act_id = f"a{rng.randrange(n_contacts * 15)}"  # some ids repeat: the first one counts
        activities.append(Activity(id=act_id, type=rng.choice(TYPES), occurred_at=when, contact_id=f"c{owner}", attributes=attrs))
    adjustments = []
    for _ in range(n_contacts // 2):
        adjustments.append(Adjustment(
            contact_id=f"c{rng.randrange(n_contacts)}", dimension=rng.choice([*dims, "unknown"]),
            points=rng.choice([5, -3, 2.5, 10.005]), reason=rng.choice(["met at event", "bad fit"]), by="rep@x.com",
            at=AS_OF - dt.timedelta(days=rng.choice([-2, 0, 3, 40, 150])),
        ))  # fmt: skip
    previous: dict[str, ScoringState] = {}
    for c in contacts:
        roll = rng.random()
        if roll < 0.3:
            continue
        stage = rng.choice([*stage_names, None, "retired-stage"]) if stage_names else None
        entered = rng.choice([None, AS_OF - dt.timedelta(days=rng.choice([1, 20, 60, 120])), AS_OF])
        armed = {tid: rng.random() < 0.5 for tid in model_triggers if rng.random() < 0.6}
        previous[c.id] = ScoringState(stage=stage, stage_entered_at=entered if stage else None, armed=armed)
    return contacts, activities, adjustments, previous


def explain_difference(expected: ScoreResult, got: ScoreResult) -> str:
    """The first fields that differ, readable."""
    lines = []
    for field in dc.fields(ScoreResult):
        a, b = getattr(expected, field.name), getattr(got, field.name)
        if a != b:
            lines.append(f"  {field.name}:\n    per-contact: {a!r}\n    batch:       {b!r}")
    return "\n".join(lines)


def check(seed: int, n_contacts: int = 40) -> None:
    """Score one random model and data set both ways; fail naming the seed, contact and fields."""
    rng = random.Random(seed)
    model = random_model(rng, seed)
    dims = list(model.dimensions)
    stage_names = [s.name for s in model.stages.order] if model.stages else []
    contacts, activities, adjustments, previous = random_data(rng, n_contacts, [tr.id for tr in model.triggers], stage_names, dims)
    per_contact: dict[str | None, list[Activity]] = {}
    for act in activities:
        per_contact.setdefault(act.contact_id, []).append(act)
    scorer = Scorer(model)
    expected = [scorer.score(c, per_contact.get(c.id, []), adjustments, AS_OF, previous.get(c.id)) for c in contacts]
    got = BatchScorer(model).score(contacts, activities, adjustments, AS_OF, previous)
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=False):
        assert have == want, f"seed {seed}, contact {want.contact_id}, model:\n{model.model_dump_json(exclude_defaults=True)}\n{explain_difference(want, have)}"


@pytest.mark.parametrize("seed", range(60))
def test_batch_equals_per_contact_engine(seed: int) -> None:
    check(seed)


@pytest.mark.parametrize("seed", range(1000, 1004))
def test_batch_equals_per_contact_engine_on_bigger_batches(seed: int) -> None:
    """More contacts per batch: caps crowd, and the ranking of crowded contacts runs on many rows."""
    check(seed, n_contacts=300)
