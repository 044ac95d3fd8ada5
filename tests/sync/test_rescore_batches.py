"""The column-wise full rescore scores the portal in batches; the batches change nothing.

Each batch scores its contacts with only the property values they use (a million e-mail
addresses evaluated again for every batch made the batches cost ten times a whole pass); a
portal scored in batches of a few contacts must find the same contacts moved and write the same.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

import numpy as np
import pytest
import sqlalchemy as sa

from connector.scoring.columns import Categorical
from connector.sync import rescore
from connector.sync.config import ConnectorConfig
from connector.sync.db import open_database
from connector.sync.materialise import materialise
from connector.sync.pipeline import run_sync
from connector.sync.scorers import ChunkOptions, ScorerSet, scoring_context
from tests.fakecrm import FakeAdapter
from tests.sync.conftest import T0
from tests.sync.test_rescore_columnar import _config, _portal


def _written(engine: sa.Engine, config: ConnectorConfig, batch: int, monkeypatch: pytest.MonkeyPatch) -> tuple[list[t.Any], list[str], int]:
    crm = config.crms[0]
    scorers = ScorerSet.load(crm.models)
    options = ChunkOptions(crm.reasons_limit, 1, scoring_context(crm.reasons_limit, crm.write_policy))
    monkeypatch.setattr(rescore, "BATCH", batch)
    full = rescore.full_rescore(engine, "main", scorers, options, T0 + dt.timedelta(days=9))
    assert full is not None
    chunks = [materialise(job, scorers, options) for job in full.jobs()]
    # Jobs end with their batch, and each job lists its rows model by model: compare what is written, not the interleaving.
    ids = [cid for c in chunks for cid in c.ids]
    rows = sorted((row for c in chunks for row in c.scores), key=lambda row: (row["contact_id"], row["model"]))
    desired = {cid: values for c in chunks for cid, values in c.desired.items()}
    moves = sorted((m for c in chunks for m in c.moves), key=repr)
    firings = sorted((f for c in chunks for f in c.firings), key=repr)
    merged = [ids, rows, desired, moves, firings]
    return merged, full.exact, full.unchanged


def test_small_batches_write_what_one_batch_writes(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    config = _config(tmp_path, url)
    engine = open_database(url)
    crm = _portal(5, 180)
    assert run_sync(config, "main", clock=lambda: T0 + dt.timedelta(days=1), adapter_factory=lambda c, g: FakeAdapter(crm, g)).status == "ok"
    whole = _written(engine, config, 1_000_000, monkeypatch)
    for size in (7, 64):
        assert _written(engine, config, size, monkeypatch) == whole, size
    assert whole[0][0], "nothing moved: the comparison would prove nothing"
    engine.dispose()


def test_a_slice_of_a_categorical_keeps_only_its_values() -> None:
    column = Categorical(np.array([0, 1, -1, 2, 1, 3], dtype=np.int32), ["a", "b", "c", "d"])
    part = column.rows(1, 5)
    assert part.values == ["b", "c"] and part.codes.tolist() == [0, -1, 1, 0]
    assert [part.values[c] if c >= 0 else None for c in part.codes] == [column.values[c] if c >= 0 else None for c in column.codes[1:5]]
    assert column.rows(0, 6).values is column.values  # all used: the same dictionary
    assert column.rows(2, 3).values == [] and column.rows(2, 3).codes.tolist() == [-1]
