"""The portal read split between the run's process (contacts, activity) and the scoring worker (scores) is the portal read in one place.

:class:`connector.sync.columnar.HandedOver` carries what the run's process read; the scores are
read before it arrives and placed on the contact rows after. The activity may come from the kept
scan (:mod:`connector.sync.scankeep`), whose codes differ (it holds every activity type): the
columns must say the same.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

import pytest

from connector.scoring.columns import Categorical
from connector.sync.columnar import HandedOver, StoredPortal, read_contacts, read_portal
from connector.sync.db import open_database
from connector.sync.idset import IdSet
from connector.sync.pipeline import run_sync
from connector.sync.rescore import RescoreEnd, Rescoring
from connector.sync.scankeep import kept_scan
from connector.sync.scorers import ChunkOptions, ScorerSet, scoring_context
from tests.fakecrm import FakeAdapter
from tests.sync.conftest import T0
from tests.sync.test_rescore_columnar import _config, _portal


def _values(column: Categorical) -> list[t.Any]:
    return [column.values[c] if c >= 0 else None for c in column.codes.tolist()]


def _view(portal: StoredPortal) -> dict[str, t.Any]:
    """What the portal's columns say, codes decoded."""
    acts = portal.activities
    return {
        "ids": portal.contacts.ids,
        "properties": {k: _values(v) for k, v in portal.contacts.properties.items()},
        "needs": portal.needs_score.tolist(),
        "odd": portal.not_columnar,
        "activity": list(zip(acts.contact.tolist(), _values(acts.type), acts.occurred.tolist(), acts.order.tolist(), strict=True)),
        "attributes": {k: _values(v) for k, v in acts.attributes.items()},
        "states": {
            name: (s.fingerprint.tolist(), s.digest.tolist(), s.records, s.stage, s.previous.stage, s.previous.entered.tolist(), {k: v.tolist() for k, v in s.previous.armed.items()})
            for name, s in portal.states.items()
        },
    }


def test_the_split_read_with_the_kept_scan_is_the_read_in_one_place(database_url: str, tmp_path: pathlib.Path) -> None:
    config = _config(tmp_path, database_url)
    engine = open_database(database_url)
    crm = _portal(7, 120)
    run_sync(config, "main", clock=lambda: T0 + dt.timedelta(days=1), adapter_factory=lambda c, g: FakeAdapter(crm, g, page_size=40, max_batch_size=40), engine=engine)
    models = ScorerSet.load([str(m) for m in config.crms[0].models]).models
    whole = _view(read_portal(engine, "main", models))
    assert whole["activity"] and any(whole["states"]["b2b-saas"][0])

    def handed() -> HandedOver:
        return HandedOver(read_contacts(engine, "main", models), kept_scan(engine, "main", models, T0))

    assert _view(read_portal(engine, "main", models, handed)) == whole
    assert _view(read_portal(engine, "main", models, handed)) == whole  # now from the kept columns
    engine.dispose()


def test_a_read_the_run_could_not_make_column_wise_leaves_every_contact_to_the_exact_scoring(tmp_path: pathlib.Path) -> None:
    """A property name the database's JSON path cannot express fails the run's read with ``ValueError``: the rescore goes the exact way; other errors fail it."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    entry = _config(tmp_path, url).crms[0]
    engine = open_database(url)
    scorers = ScorerSet.load([str(m) for m in entry.models])
    options = ChunkOptions(entry.reasons_limit, 50, scoring_context(entry.reasons_limit, entry.write_policy))

    def unreadable() -> HandedOver:
        raise ValueError("property name(s) ['job\"title'] cannot be read by an SQLite JSON path")

    def broken() -> HandedOver:
        raise RuntimeError("the contacts could not be read")

    assert Rescoring(engine, "main", scorers, options, T0, IdSet(), unreadable).next() == RescoreEnd(False, [], 0)
    with pytest.raises(RuntimeError, match="could not be read"):
        Rescoring(engine, "main", scorers, options, T0, IdSet(), broken)
    engine.dispose()
