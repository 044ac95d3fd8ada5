"""Activity of one contact at one instant is ranked by id in the column-wise read, whatever order it was stored in.

The read skips sorting by (contact, instant) when each contact's activity comes oldest first
already (:func:`connector.sync.columnar._tie_order`): both ways must rank the same.
"""

from __future__ import annotations

import datetime as dt
import pathlib

import pytest

from connector.scoring.records import Activity, Contact
from connector.sync.columnar import read_portal
from connector.sync.db import open_database
from connector.sync.scorers import ScorerSet
from connector.sync.store import Store

REPO = pathlib.Path(__file__).resolve().parents[2]
T = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
URLS = ["https://example.com/pricing", "https://example.com/demo", "https://example.com/blog", "https://example.com/docs"]


def _views(contact: str, stamps: list[tuple[str, dt.datetime, str]]) -> list[Activity]:
    return [Activity(id=aid, type="page_view", occurred_at=at, contact_id=contact, attributes={"url": url}) for aid, at, url in stamps]


@pytest.mark.parametrize("oldest_first", [True, False])
def test_tied_activity_is_ranked_by_id_whether_or_not_stored_oldest_first(database_url: str, oldest_first: bool) -> None:
    engine = open_database(database_url)
    store = Store(engine, "main")
    store.save_contacts([Contact(id="c1", email="a@example.com"), Contact(id="c2", email="b@example.com")], T)
    hour = dt.timedelta(hours=1)
    # c1: two views at one instant, stored with the higher id first; c2: one older view.
    c1 = [("a-2", T - 2 * hour, URLS[0]), ("a-1", T - 2 * hour, URLS[1]), ("a-3", T - hour, URLS[2])]
    c2 = [("b-1", T - 3 * hour, URLS[3])]
    if not oldest_first:
        c1 = [c1[2], c1[0], c1[1]]  # the newest first: the read sorts
    store.save_activities(_views("c1", c1) + _views("c2", c2), T)
    models = ScorerSet.load([str(REPO / "mappings" / "models" / "b2b-saas.yaml")]).models
    portal = read_portal(engine, "main", models)
    engine.dispose()
    acts = portal.activities
    url = acts.attributes["url"]
    rank = {url.values[code]: int(order) for code, order in zip(url.codes.tolist(), acts.order.tolist(), strict=True)}
    row = {cid: i for i, cid in enumerate(portal.contacts.ids)}
    assert sorted(acts.contact.tolist()) == acts.contact.tolist()  # sorted by contact row
    assert acts.contact.tolist().count(row["c1"]) == 3
    assert rank[URLS[1]] < rank[URLS[0]]  # a-1 before a-2: the tie goes by id
    assert len(set(acts.order.tolist())) == len(acts.order)  # distinct ranks
