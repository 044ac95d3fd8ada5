"""Fixtures: one learned model on synthetic data, shared by the tests that only read it."""

from __future__ import annotations

import pathlib
import typing as t

import pytest

from connector.learn.pipeline import Learned, LearnOptions, learn
from connector.learn.probability import BoostingParams
from connector.learn.writer import Written, write_model
from tests.predictive._synth import AS_OF, make_rows, write_activities, write_csv

FAST = BoostingParams(trees=40)


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A directory with contacts.csv and activities.jsonl."""
    d = tmp_path_factory.mktemp("synth")
    rows = make_rows()
    write_csv(d / "contacts.csv", rows)
    write_activities(d / "activities.jsonl", rows)
    return d


@pytest.fixture(scope="session")
def learned(synth_dir: pathlib.Path) -> Learned:
    """The learner run once on contacts + activities."""
    options = LearnOptions(
        contacts=synth_dir / "contacts.csv",
        activities=synth_dir / "activities.jsonl",
        label="Converted",
        id_column="id",
        boosting=FAST,
        as_of=AS_OF,
    )
    return learn(options)


@pytest.fixture(scope="session")
def written(learned: Learned, tmp_path_factory: pytest.TempPathFactory) -> Written:
    """That model written to disk."""
    return write_model(learned, tmp_path_factory.mktemp("model") / "learned.yaml")


def options(path: pathlib.Path, **kw: t.Any) -> LearnOptions:
    """Options for a contacts CSV with the synthetic columns and fast trees."""
    return LearnOptions(contacts=path, label=kw.pop("label", "Converted"), id_column=kw.pop("id_column", "id"), boosting=kw.pop("boosting", FAST), **kw)
