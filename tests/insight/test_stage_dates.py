"""Stage history that starts true: a first sync seeds each contact's stage from the CRM's own dates."""

from __future__ import annotations

import datetime as dt
import pathlib
import textwrap

import sqlalchemy as sa

from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.tables import firings, scores, stage_history
from tests.fakecrm import T0

#: mql resets engagement on entry: only page views after the moment a contact became an MQL count.
MODEL = """
model: test-model
dimensions:
  fit: {floor: 0, ceiling: 100}
  engagement: {floor: 0, ceiling: 100}
rules:
  - {id: title, dimension: fit, points: 30, when: {property: job_title, op: contains, value: marketing}}
  - {id: views, dimension: engagement, points: 10, activity: {types: [page_view]}}
stages:
  order:
    - {name: subscriber}
    - {name: mql, thresholds: {fit: 30}, reset_on_enter: [engagement]}
    - {name: sql, activities: [demo_request]}
triggers:
  - id: mql_reached
    watch: {stage: mql}
    actions: [{type: add_to_list, list: new mqls}]
"""


def _model(config) -> None:
    pathlib.Path(config.crm("main").models[0]).write_text(textwrap.dedent(MODEL))


def test_first_sync_keeps_the_engagement_existing_mqls_earned_since_they_became_mqls(sync_config, fake_crm, factory, clock):
    _model(sync_config)
    became_mql = T0 - dt.timedelta(days=30)
    fake_crm.add_contact("old", T0, email="old@example.com", job_title="Marketing lead",
                         stage_dates={"subscriber": T0 - dt.timedelta(days=60), "mql": became_mql, "evangelist": T0 - dt.timedelta(days=1)})
    fake_crm.add_contact("new", T0, email="new@example.com", job_title="Marketing lead")
    for i, days in enumerate((40, 10, 5)):  # one view before the MQL date, two after
        fake_crm.add_activity(f"o{i}", "page_view", T0 - dt.timedelta(days=days), contact_id="old")
        fake_crm.add_activity(f"n{i}", "page_view", T0 - dt.timedelta(days=days), contact_id="new")

    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert summary.status == "ok", summary.error

    # The model says: engagement counts page views after entering mql. "old" entered on its CRM
    # date (two views since, 20 points); "new" enters now (none since, 0 points).
    assert fake_crm.fields["old"]["test_model_engagement"] == 20
    assert fake_crm.fields["new"]["test_model_engagement"] == 0
    assert fake_crm.fields["old"]["test_model_stage"] == fake_crm.fields["new"]["test_model_stage"] == "mql"
    engine = make_engine(sync_config.effective_database_url())
    with engine.connect() as conn:
        state = conn.execute(sa.select(scores.c.state).where(scores.c.contact_id == "old")).scalar_one()
        history = conn.execute(
            sa.select(stage_history.c.contact_id, stage_history.c.from_stage, stage_history.c.to_stage, stage_history.c.at, stage_history.c.reason).order_by(stage_history.c.id)
        ).all()
        fired = {cid for (cid,) in conn.execute(sa.select(firings.c.contact_id).where(firings.c.trigger == "mql_reached"))}
    engine.dispose()
    assert dt.datetime.fromisoformat(state["stage_entered_at"]) == became_mql
    old = [h for h in history if h.contact_id == "old"]
    assert [(h.from_stage, h.to_stage, h.at) for h in old] == [(None, "subscriber", T0 - dt.timedelta(days=60)), ("subscriber", "mql", became_mql)]
    assert all(h.reason.startswith("CRM stage date: entered") for h in old)
    new = [h for h in history if h.contact_id == "new"]
    assert [(h.from_stage, h.to_stage, h.at) for h in new] == [(None, "mql", clock.now)]
    assert new[0].reason == "mql holds (any of): fit 30 >= 30"
    # "old" was an MQL before the connector saw it: it did not *become* one now.
    assert fired == {"new"}
    assert fake_crm.lists["new mqls"] == {"new"}


def test_a_stage_date_after_the_scoring_instant_is_not_used(sync_config, fake_crm, factory, clock):
    _model(sync_config)
    fake_crm.add_contact("c", T0, job_title="Marketing", stage_dates={"mql": clock.now + dt.timedelta(days=1)})
    fake_crm.add_activity("a", "page_view", T0 - dt.timedelta(days=1), contact_id="c")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert fake_crm.fields["c"]["test_model_engagement"] == 0  # entered mql now, as without dates
    assert fake_crm.lists["new mqls"] == {"c"}


def test_dates_are_only_read_before_the_first_scoring(sync_config, fake_crm, factory, clock):
    _model(sync_config)
    fake_crm.add_contact("c", T0, job_title="Engineer")
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    assert fake_crm.fields["c"]["test_model_stage"] == "subscriber"
    clock.advance(hours=1)
    fake_crm.add_contact("c", clock.now - dt.timedelta(minutes=1), job_title="Engineer", stage_dates={"mql": T0 - dt.timedelta(days=3)})
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).status == "ok"
    # The connector's own history wins once it has one: the stage is what the model says.
    assert fake_crm.fields["c"]["test_model_stage"] == "subscriber"


def test_a_contact_pulled_again_with_the_same_stage_dates_is_not_rescored(sync_config, fake_crm, factory, clock):
    _model(sync_config)
    dates = {"mql": T0 - dt.timedelta(days=3)}
    fake_crm.add_contact("c", T0, job_title="Marketing", stage_dates=dates)
    assert run_sync(sync_config, "main", clock=clock, adapter_factory=factory).scored == 1
    clock.advance(hours=1)
    fake_crm.add_contact("c", clock.now - dt.timedelta(minutes=1), job_title="Marketing", stage_dates=dict(dates))
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    # Pulled twice: by the search, and by the re-read of what run 1 wrote (the echo, docs/operations.md).
    assert (summary.pulled_contacts, summary.scored) == (2, 0)
    clock.advance(hours=1)
    fake_crm.add_contact("c", clock.now - dt.timedelta(minutes=1), job_title="Marketing", stage_dates={**dates, "sql": T0})
    summary = run_sync(sync_config, "main", clock=clock, adapter_factory=factory)
    assert (summary.pulled_contacts, summary.scored) == (1, 1)  # a new stage date is a change
