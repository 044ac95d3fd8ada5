"""Stage thresholds and trigger levels: ``gte`` (N or more, a bare number, a trigger's ``above``)
and ``gt`` (more than N), at the exact boundary, in both engines."""

from __future__ import annotations

import pathlib

import pytest
from pydantic import ValidationError

from connector.scoring.batch import BatchScorer
from connector.scoring.loader import load_model
from connector.scoring.records import Contact
from connector.yamlfile import YamlFileError
from tests.scoring._build import AS_OF, act, model

TEMPLATE = """
model: m
dimensions: {{engagement: {{}}}}
rules: [{{id: views, dimension: engagement, points: 10, activity: {{types: [page_view]}}}}]
stages:
  order: [{{name: lead}}, {{name: warm, thresholds: {{engagement: {threshold}}}}}]
triggers:
  - {{id: hot, watch: {{dimension: engagement, {watch}}}, actions: [{{type: add_to_list, list: Hot}}]}}
"""


def both_engines(threshold: str, watch: str, views: int) -> list[tuple[str | None, list[str]]]:
    """(stage, fired triggers) from the per-contact and the batch engine, for one contact with ``views`` page views."""
    from connector.scoring.engine import Scorer

    m = model(TEMPLATE.format(threshold=threshold, watch=watch))
    contact = Contact(id="c1")
    acts = [act("page_view", d) for d in range(views)]
    one = Scorer(m).score(contact, acts, [], AS_OF)
    (other,) = BatchScorer(m).score([contact], acts, [], AS_OF)
    assert one == other
    return [(r.stage, [e.trigger for e in r.triggers]) for r in (one, other)]


@pytest.mark.parametrize(
    ("threshold", "watch", "at_30", "at_40"),
    [
        ("30", "above: 30", ("warm", ["hot"]), ("warm", ["hot"])),  # the first spelling: N or more
        ("{gte: 30}", "gte: 30", ("warm", ["hot"]), ("warm", ["hot"])),
        ("{gt: 30}", "gt: 30", ("lead", []), ("warm", ["hot"])),  # "above 30" without writing 30.01
    ],
)
def test_boundary_value_in_both_engines(threshold: str, watch: str, at_30: tuple[str, list[str]], at_40: tuple[str, list[str]]) -> None:
    assert both_engines(threshold, watch, 3) == [at_30, at_30]
    assert both_engines(threshold, watch, 4) == [at_40, at_40]


@pytest.mark.parametrize(
    ("threshold", "watch", "words"),
    [
        ("{above: 30}", "gte: 30", "a threshold is a number (that value or more), {gte: N} (the same) or {gt: N} (more than N), with one key; got above"),
        ("{gt: 30, gte: 30}", "gte: 30", "with one key; got 2 keys"),
        ("{gt: lots}", "gte: 30", "valid number"),
        ("30", "gt: 30, gte: 30", "with one of 'gte: N' (N or more) or 'gt: N' (more than N) (got gt, gte)"),
        ("30", "at_least: 30", "Extra inputs are not permitted"),
    ],
)
def test_malformed_levels_are_clear_errors_at_their_line(tmp_path: pathlib.Path, threshold: str, watch: str, words: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(TEMPLATE.format(threshold=threshold, watch=watch), encoding="utf-8")
    with pytest.raises(YamlFileError) as exc:
        load_model(path)
    text = str(exc.value)
    assert words in text, text
    line = 6 if "threshold" in words or "number" in words or "2 keys" in words else 8
    assert text.startswith(f"{path}:{line}: "), text


def test_a_bare_number_and_gte_mean_the_same() -> None:
    from connector.scoring.model import level_of

    bare = model(TEMPLATE.format(threshold="30", watch="above: 30"))
    spelled = model(TEMPLATE.format(threshold="{gte: 30}", watch="gte: 30"))
    assert bare.stages and spelled.stages
    assert bare.stages.order[1].thresholds == {"engagement": 30.0}  # a bare number stays a number (the learner writes them)
    assert level_of(bare.stages.order[1].thresholds["engagement"]) == level_of(spelled.stages.order[1].thresholds["engagement"]) == (False, 30.0)
    assert bare.triggers[0].watch.level == spelled.triggers[0].watch.level == (False, 30.0)
    with pytest.raises(ValidationError, match="either a stage or a dimension"):
        model(TEMPLATE.format(threshold="{gte: 30}", watch="gt: 3, stage: warm"))


def test_connector_validate_accepts_every_spelling(tmp_path: pathlib.Path) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    path = tmp_path / "m.yaml"
    path.write_text(TEMPLATE.format(threshold="{gt: 30}", watch="gt: 30").replace("{name: lead}", "{name: lead, thresholds: {total: {gte: 0}}}"), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0 and "ok" in result.output, result.output
