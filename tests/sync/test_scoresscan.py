"""The stored scores read in one scan (by the run's process) and put in the worker's contact rows.

What must hold: each contact row gets its own model's stored state, stage column, fingerprint and
digest; a contact without a score row gets the first scoring's state (no record, no time, every
trigger armed) and no fingerprint; rows of contacts not stored, of models no longer configured,
and hashes that are not 32 ASCII characters are left out; the scan survives a pickle (it travels
to the scoring worker).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import pickle

import numpy as np
import sqlalchemy as sa

from connector.scoring.columns import NO_TIME, to_micros
from connector.scoring.loader import load_model
from connector.sync.db import open_database
from connector.sync.scoresscan import align_scores, read_scores
from connector.sync.tables import scores

REPO = pathlib.Path(__file__).resolve().parents[2]
AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
ENTERED = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def _row(contact: str, model: str, stage: str | None, *, armed: dict[str, bool] | None = None, fingerprint: str | None = "f" * 32, digest: str | None = "d" * 32) -> dict[str, object]:
    state = {"stage": stage, "stage_entered_at": ENTERED.isoformat() if stage else None, "armed": armed or {}}
    return {
        "crm": "hs", "contact_id": contact, "model": model, "score": 1.0, "dimensions": {}, "grade": None, "matrix": None, "stage": stage,
        "excluded": None, "reasons": [], "state": state, "as_of": AT, "changes_at": None, "digest": digest, "fingerprint": fingerprint,
    }  # fmt: skip


def test_the_scores_read_in_one_scan_land_in_each_contact_row(database_url: str) -> None:
    b2b = load_model(REPO / "mappings" / "models" / "b2b-saas.yaml")
    trigger = b2b.triggers[0].id
    engine = open_database(database_url)
    rows = [
        _row("c1", b2b.model, "lead", armed={trigger: False}),
        _row("c2", b2b.model, "lead", fingerprint="short", digest=None),  # a hash no new one can equal
        _row("gone", b2b.model, "lead"),  # not a stored contact
        _row("c1", "retired-model", "lead"),  # a model no longer configured
        _row("c0", b2b.model, "customer"),  # another CRM's row below
    ]
    rows[-1]["crm"] = "other"
    with engine.begin() as conn:
        conn.execute(sa.insert(scores), rows)
    read = pickle.loads(pickle.dumps(read_scores(engine, "hs", [b2b])))  # what the worker receives
    assert set(read) == {b2b.model}
    got = align_scores(read, [b2b], {"c0": 0, "c1": 1, "c2": 2})[b2b.model]

    assert got.records[0] is None and got.stage == [None, "lead", "lead"] and got.previous.stage == [None, "lead", "lead"]
    assert got.records[1] is not None and got.records[1].armed == {trigger: False}
    assert got.records[2] is not None and got.records[2].stage == "lead" and got.records[2].armed == {}
    assert got.previous.entered.tolist() == [NO_TIME, to_micros(ENTERED), to_micros(ENTERED)]
    assert got.previous.armed[trigger].tolist() == [True, False, True]
    assert all(flags.all() for name, flags in got.previous.armed.items() if name != trigger)
    assert got.fingerprint.tolist() == [b"", b"f" * 32, b""] and got.digest.tolist() == [b"", b"d" * 32, b""]
    engine.dispose()


def test_a_portal_without_scores_reads_as_never_scored(database_url: str) -> None:
    b2b = load_model(REPO / "mappings" / "models" / "b2b-saas.yaml")
    engine = open_database(database_url)
    got = align_scores(read_scores(engine, "hs", [b2b]), [b2b], {"c0": 0, "c1": 1})[b2b.model]
    assert got.records == [None, None] and got.stage == [None, None]
    assert np.array_equal(got.previous.entered, [NO_TIME, NO_TIME]) and got.fingerprint.tolist() == [b"", b""]
    assert json.dumps(got.previous.stage) == "[null, null]"
    engine.dispose()
