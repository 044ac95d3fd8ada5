"""The shipped models show every feature of the schema, and the example data scores sensibly."""

from __future__ import annotations

import pathlib
import typing as t

from connector.scoring.engine import Scorer
from connector.scoring.identity import resolve
from connector.scoring.loader import load_models
from connector.scoring.model import AllOf, AnyOf, Condition, HalfLifeDecay, Operator, ScoringModel, StepDecay
from connector.scoring.readers import read_activities, read_adjustments, read_contacts, read_identities
from tests.scoring._build import AS_OF

REPO = pathlib.Path(__file__).resolve().parents[2]
MODELS = sorted((REPO / "mappings" / "models").glob("*.yaml"))
EX = REPO / "mappings" / "examples"


def _conditions(when: t.Any) -> t.Iterator[t.Any]:
    yield when
    for child in getattr(when, "all", None) or getattr(when, "any", None) or []:
        yield from _conditions(child)


def _features(models: list[ScoringModel]) -> set[str]:
    found: set[str] = set()
    for m in models:
        whens = [r.when for r in m.rules if r.when] + [e.when for e in m.exclusions]
        whens += [w for r in m.rules if r.activity for w in r.activity.where]
        whens += [s.when for s in (m.stages.order if m.stages else []) if s.when]
        for when in whens:
            for node in _conditions(when):
                if isinstance(node, Condition):
                    found.add(f"op:{node.op}")
                found.add({AllOf: "all", AnyOf: "any"}.get(type(node), "condition"))
        for r in m.rules:
            found.add("negative" if r.points < 0 else "positive")
            spec = r.activity
            if spec is None:
                continue
            found.update(k for k in ("within_days", "max_times", "max_points") if getattr(spec, k) is not None)
            if isinstance(spec.decay, HalfLifeDecay):
                found.add("half_life")
            if isinstance(spec.decay, StepDecay):
                found.add("step")
        found.update({"exclusions"} if m.exclusions else set())
        found.update({"grade"} if m.grade else set())
        found.update({"matrix"} if m.matrix else set())
        found.update({"weights"} if any(d.weight != 1 for d in m.dimensions.values()) else set())
        for s in m.stages.order if m.stages else []:
            found.update({"stage_thresholds"} if s.thresholds else set())
            found.update({"stage_activities"} if s.activities else set())
            found.update({"stage_when"} if s.when else set())
            found.update({"match_all"} if s.match == "all" else set())
            found.update({"reset_on_enter"} if s.reset_on_enter else set())
        for trig in m.triggers:
            found.add("trigger_stage" if trig.watch.stage else "trigger_total" if trig.watch.dimension == "total" else "trigger_dimension")
            found.update(f"action:{a.type}" for a in trig.actions)
        found.update({"placeholders"} if m.placeholders else set())
    return found


def test_shipped_models_load_together_and_show_every_feature() -> None:
    models = load_models(MODELS)
    assert {m.model for m in models} == {"b2b-saas", "product-line-b"}
    found = _features(models)
    expected = {f"op:{op}" for op in t.get_args(Operator)} | {
        "all", "any", "positive", "negative", "within_days", "max_times", "max_points", "half_life", "step",
        "exclusions", "grade", "matrix", "weights", "stage_thresholds", "stage_activities", "stage_when",
        "match_all", "reset_on_enter", "trigger_stage", "trigger_total", "trigger_dimension", "placeholders",
        "action:add_to_list", "action:set_property", "action:create_task",
    }
    assert expected - found == set()
    # The webhook action is shipped as a commented example (it needs a receiver and a signing secret
    # the user provides); uncommented, it loads.
    assert "# - {type: webhook, url:" in (REPO / "mappings" / "models" / "b2b-saas.yaml").read_text()
    plb = next(m for m in models if m.model == "product-line-b")
    assert set(plb.dimensions) == {"contact", "activity", "engagement"}


def test_example_data_reads_cleanly_and_spreads_over_grades_and_stages() -> None:
    contacts = list(read_contacts(EX / "contacts.jsonl"))
    assert len(contacts) == 50
    acts = resolve(read_activities(EX / "activities.jsonl"), read_identities(EX / "identities.jsonl"))
    adjs = list(read_adjustments(EX / "adjustments.jsonl"))
    kinds = {a.type for a in acts}
    assert {"page_view", "email_open", "email_click", "form_submit", "asset_download", "webinar_attend", "demo_request", "unsubscribe"} <= kinds
    scorer = Scorer.from_file(REPO / "mappings" / "models" / "b2b-saas.yaml")
    results = [scorer.score(c, acts, adjs, AS_OF) for c in contacts]
    assert {r.grade for r in results} >= {"A", "B", "C", "D"}
    assert {r.stage for r in results} >= {"subscriber", "lead", "mql", "customer", "opportunity", None}
    assert sum(1 for r in results if r.excluded) == 2
    assert any(r.triggers for r in results)
