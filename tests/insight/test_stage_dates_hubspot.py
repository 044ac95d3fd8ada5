"""First sync of a HubSpot portal with existing opportunities: the shipped mapping and model, over real sockets.

``b2b-saas`` resets engagement when a contact enters ``opportunity``. A contact HubSpot made an
opportunity 30 days ago keeps the engagement it earned since then (what the model says, computed
here by the engine from that entry date); the same contact without a stage date in HubSpot
enters ``opportunity`` at the first sync and starts from zero.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import sqlalchemy as sa

from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.engine import Scorer
from connector.scoring.result import ScoringState
from connector.sync.config import ConnectorConfig
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.store import Store
from connector.sync.tables import stage_history
from tests.adapters.conftest import T0, at
from tests.sync.test_hubspot_e2e import sandbox_config

REPO = pathlib.Path(__file__).resolve().parents[2]
DAY = 86_400_000


@pytest.fixture
def config(tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    return sandbox_config(tmp_path, database_url, sandbox, monkeypatch, model=REPO / "mappings" / "models" / "b2b-saas.yaml", mapping=REPO / "mappings" / "hubspot.yaml")


def test_existing_opportunities_keep_the_engagement_earned_since_hubspot_says_they_became_one(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    person = {"jobtitle": "Head of Marketing", "industry": "Software", "lifecyclestage": "opportunity"}
    dated = sandbox.store.create("contacts", {**person, "email": "dated@acme.io"}, admin=True, modified_at_ms=T0 - 30 * DAY)
    undated = sandbox.store.create("contacts", {**person, "email": "undated@acme.io", "hs_lifecyclestage_opportunity_date": ""}, admin=True, modified_at_ms=T0 - 30 * DAY)
    assert dated.properties["hs_lifecyclestage_opportunity_date"] and "hs_lifecyclestage_opportunity_date" not in undated.properties
    events = []
    for record in (dated, undated):
        for days, path in ((40, "/pricing"), (10, "/pricing"), (3, "/product")):
            events.append({"objectId": record.id, "eventType": "e_visited_page", "occurredAt": T0 - days * DAY, "properties": {"hs_url": f"https://acme.io{path}"}})
    sandbox.store.add_events(events)
    sandbox.clock.advance(ms=1000)
    now = at(sandbox.clock.now_ms())

    summary = run_sync(config, "portal-a", clock=lambda: now)
    assert summary.status == "ok", summary.error

    engine = make_engine(config.effective_database_url())
    store = Store(engine, "portal-a")
    data = store.load_for_scoring([dated.id, undated.id])
    with engine.connect() as conn:
        history = conn.execute(sa.select(stage_history.c.contact_id, stage_history.c.to_stage, stage_history.c.at).order_by(stage_history.c.id)).all()
        stored = dict(conn.execute(sa.text("SELECT contact_id, dimensions FROM scores")).all())
    engine.dispose()
    scorer = Scorer.from_file(config.crms[0].models[0])
    contact = next(c for c in data.contacts if c.id == dated.id)
    expected = scorer.score(contact, data.activities[dated.id], [], now, ScoringState(stage="opportunity", stage_entered_at=at(T0 - 30 * DAY)))
    fresh = scorer.score(next(c for c in data.contacts if c.id == undated.id), data.activities[undated.id], [], now, None)

    def dims(cid: str) -> dict[str, float]:
        value = stored[cid]
        return value if isinstance(value, dict) else json.loads(value)

    assert dims(dated.id) == dict(expected.dimensions)
    assert dims(undated.id) == dict(fresh.dimensions)
    assert expected.dimensions["engagement"] > 0 == fresh.dimensions["engagement"]  # views after the date count; a fresh entry wipes them
    assert (dated.id, "opportunity", at(T0 - 30 * DAY)) in history
    assert (undated.id, "opportunity", now) in history
    written = {r.id: r.properties for r in (sandbox.store.get("contacts", dated.id), sandbox.store.get("contacts", undated.id)) if r is not None}
    assert float(written[dated.id]["b2b_saas_engagement"]) == expected.dimensions["engagement"]
