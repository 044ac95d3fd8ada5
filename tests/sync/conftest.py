"""Fixtures of the sync tests: a connector.yaml on disk, a fake CRM, a movable clock."""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import pathlib
import shutil
import typing as t

import pytest

from connector.sync.config import ConnectorConfig, load_config
from tests.sync.fake_crm import T0, FakeAdapter, FakeCRM

DATA = pathlib.Path(__file__).resolve().parent / "data"


@dc.dataclass
class MovableClock:
    """The sync's clock in tests: starts at ``now`` and moves only when told."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def write_config(folder: pathlib.Path, database_url: str, extra: str = "") -> pathlib.Path:
    """A connector.yaml with one fake-backed CRM named ``main`` (adapter kind hubspot)."""
    shutil.copy(DATA / "model.yaml", folder / "model.yaml")
    shutil.copy(DATA / "mapping.yaml", folder / "mapping.yaml")
    path = folder / "connector.yaml"
    path.write_text(
        f"""database_url: "{database_url}"
overlap_minutes: 0
batch: {{push_size: 100, score_chunk: 2}}
crms:
  - name: main
    adapter: hubspot
    mapping: mapping.yaml
    models: [model.yaml]
    credentials: {{access_token: TEST_TOKEN_VAR}}
    rate_limit: {{requests: 100000, per_seconds: 1, searches_per_second: 100000}}
{extra}"""
    )
    return path


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
    def build(crm: t.Any, gate: t.Any) -> FakeAdapter:
        return FakeAdapter(fake_crm, gate)

    return build
