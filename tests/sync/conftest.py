"""Fixtures of the sync tests: a connector.yaml on disk, a fake CRM, a movable clock."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import shutil
import typing as t

import pytest

from connector.sync.config import ConnectorConfig, crm_entry, load_config
from connector.sync.config import write_config as write_connector_yaml
from tests.fakecrm import T0, FakeAdapter, FakeCRM

DATA = pathlib.Path(__file__).resolve().parent / "data"


@dc.dataclass
class MovableClock:
    """The sync's clock in tests: starts at ``now`` and moves only when told."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def write_config(folder: pathlib.Path, database_url: str, **crm_keys: t.Any) -> pathlib.Path:
    """A connector.yaml with one fake CRM named ``main`` (adapter ``tests.fakecrm``); ``crm_keys``: more entry keys."""
    shutil.copy(DATA / "model.yaml", folder / "model.yaml")
    shutil.copy(DATA / "mapping.yaml", folder / "mapping.yaml")
    entry = crm_entry("main", "tests.fakecrm", "mapping.yaml", ["model.yaml"], credentials={"token": "TEST_TOKEN_VAR"}, **crm_keys)
    return write_connector_yaml(folder / "connector.yaml", [entry], database_url=database_url, overlap_minutes=0, batch={"push_size": 100, "score_chunk": 2})


def line_of(path: pathlib.Path, text: str) -> int:
    """The number of the first line of ``path`` holding ``text`` (for expected file:line messages)."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0 + dt.timedelta(days=1))


@pytest.fixture
def fake_crm() -> FakeCRM:
    return FakeCRM()


@pytest.fixture
def sync_config(tmp_path: pathlib.Path, database_url: str) -> ConnectorConfig:
    return load_config(write_config(tmp_path, database_url))


@pytest.fixture
def factory(fake_crm: FakeCRM) -> t.Callable[..., FakeAdapter]:
    """Builds fake adapters on ``fake_crm``; ``factory.built`` lists them (for their call counts)."""
    built: list[FakeAdapter] = []

    def build(crm: t.Any, gate: t.Any) -> FakeAdapter:
        built.append(FakeAdapter(fake_crm, gate))
        return built[-1]

    build.built = built  # type: ignore[attr-defined]
    return build
