"""Activity HubSpot records late reaches the next incremental run, and its trigger fires then.

Against the sandbox over real sockets through the adapter and hubspot-api-client: a meeting logged
a week after it was held (``hs_timestamp`` a week back, ``hs_lastmodifieddate`` now) and a visitor
converting with page views made weeks before it became a contact. Both were missed by a pull on
occurrence time until someone ran ``--resync``.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import typing as t

import pytest
import sqlalchemy as sa

from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.clock import SandboxClock
from connector.scoring.loader import load_models
from connector.sync.config import ConnectorConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync
from connector.sync.ratelimit import RateLimiter

T0 = 1_768_478_400_000  # 2026-01-15T12:00:00Z
DAY = 86_400_000

MODEL = """\
model: late
dimensions:
  engagement: {floor: 0, ceiling: 200}
total: {floor: 0, ceiling: 200}
rules:
  - {id: meeting, label: meeting held, dimension: engagement, points: 60, activity: {types: [meeting], within_days: 30}}
  - {id: visits, label: visited the site, dimension: engagement, points: 60, activity: {types: [page_view], within_days: 30}}
stages:
  order:
    - {name: subscriber}
    - {name: mql, thresholds: {total: 50}}
triggers:
  - id: became_mql
    watch: {dimension: total, above: 50}
    actions:
      - {type: add_to_list, list: new mqls}
"""

MAPPING = """\
crm: hubspot
contacts:
  properties: {email: email}
activities:
  web_events: {types: {e_visited_page: page_view, e_submitted_form: form_submit}, attributes: {hs_url: url}}
  email_events: {enabled: false}
  engagements: {types: {meetings: meeting, calls: call}}
lists: {stage_lists: false}
"""


@pytest.fixture
def sandbox(request: pytest.FixtureRequest) -> t.Iterator[HubSpotSandbox]:
    options = getattr(request, "param", {})
    with HubSpotSandbox(seed="empty", rate_limit=None, search_rate=None, faults=0.0, clock=SandboxClock(frozen_ms=T0), **options) as sb:
        yield sb


@pytest.fixture
def config(tmp_path: pathlib.Path, database_url: str, sandbox: HubSpotSandbox, monkeypatch: pytest.MonkeyPatch) -> ConnectorConfig:
    (tmp_path / "model.yaml").write_text(MODEL)
    (tmp_path / "hubspot.yaml").write_text(MAPPING)
    entry = crm_entry(
        "portal", "hubspot", "hubspot.yaml", ["model.yaml"], credentials={"access_token": "LATE_TOKEN"}, base_url_env="LATE_URL",
        rate_limit={"requests": 1000, "per_seconds": 1, "searches_per_second": 1000},
    )
    write_config(tmp_path / "connector.yaml", [entry], database_url=database_url, overlap_minutes=5)
    monkeypatch.setenv("LATE_TOKEN", sandbox.token)
    monkeypatch.setenv("LATE_URL", sandbox.base_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    cfg = load_config(tmp_path / "connector.yaml")
    adapter = connect(cfg.crms[0], RateLimiter.from_limits(cfg.crms[0].limits), env_file=tmp_path / ".env")
    adapter.setup(specs_from_models(load_models(cfg.crms[0].models)))
    adapter.close()
    return cfg


def clock_of(sb: HubSpotSandbox) -> t.Callable[[], dt.datetime]:
    """The sync's clock: the sandbox's."""
    return lambda: dt.datetime.fromtimestamp(sb.clock.now_ms() / 1000, tz=dt.UTC)


def stage(sb: HubSpotSandbox, cid: str) -> t.Any:
    record = sb.store.get("contacts", cid)
    assert record is not None
    return record.properties.get("late_stage")


def mqls(sb: HubSpotSandbox) -> list[str]:
    found = [lst for lst in sb.lists.all() if lst.name == "new mqls"]
    return [cid for cid, _ in sb.lists.member_ids(found[0])] if found else []


def test_a_meeting_logged_a_week_late_counts_in_the_next_run_and_fires_the_trigger(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    (cid,) = sandbox.store.add_contacts([{"email": "ann@example.com"}])
    sandbox.clock.advance(seconds=1)
    first = run_sync(config, "portal", clock=clock_of(sandbox))
    assert first.status == "ok", first.error
    assert stage(sandbox, cid) == "subscriber"

    sandbox.clock.advance(days=2)
    held = sandbox.clock.now_ms()  # held now, between two runs ...
    sandbox.clock.advance(days=1)
    idle = run_sync(config, "portal", clock=clock_of(sandbox))
    assert idle.status == "ok" and idle.pulled_activities == 0
    sandbox.clock.advance(days=6)  # ... and logged a week later, after the run whose window it belongs to
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(held), "hs_meeting_title": "Discovery"}, contact_ids=[cid])
    sandbox.store.add_engagement("calls", {"hs_timestamp": str(held)}, contact_ids=[])  # an unknown number: no contact
    sandbox.clock.advance(seconds=1)
    second = run_sync(config, "portal", clock=clock_of(sandbox))
    assert second.status == "ok", second.error
    assert second.pulled_activities == 1 and stage(sandbox, cid) == "mql"
    assert mqls(sandbox) == [cid], "the trigger fires in the run that sees the meeting"
    assert (second.skipped, second.rejected) == (1, 0), "the contact-less call is counted, not quarantined"

    sandbox.clock.advance(seconds=1)  # the meeting is edited (outcome set): pulled again, stored once
    sandbox.store.update("meetings", next(iter(sandbox.store.objects("meetings").records)), {"hs_meeting_outcome": "COMPLETED"}, admin=True)
    third = run_sync(config, "portal", clock=clock_of(sandbox))
    assert third.status == "ok", third.error
    assert (third.pulled_activities, third.written, third.actions) == (1, 0, 0)
    with sa.create_engine(config.effective_database_url()).connect() as conn:
        assert conn.execute(sa.text("select count(*) from activities where type = 'meeting'")).scalar() == 1


def test_a_converted_visitors_earlier_page_views_count_in_the_next_run(config: ConnectorConfig, sandbox: HubSpotSandbox, tmp_path: pathlib.Path) -> None:
    (known,) = sandbox.store.add_contacts([{"email": "known@example.com"}])
    form = sandbox.store.forms.add("Contact us", sandbox.clock.now_ms()).id
    from connector.sandbox.hubspot.visitors import add_visitor_events, convert_visitor

    for utk in ("utk-new", "utk-known"):
        add_visitor_events(sandbox.store, utk, [
            {"eventType": "e_visited_page", "occurredAt": T0 - d * DAY, "properties": {"hs_url": f"https://x.io/p{d}"}} for d in (20, 10, 3)
        ])
    sandbox.clock.advance(seconds=1)
    first = run_sync(config, "portal", clock=clock_of(sandbox))
    assert first.status == "ok", first.error
    assert first.pulled_activities == 0, "anonymous page views belong to no contact yet"

    sandbox.clock.advance(hours=2)
    created = convert_visitor(sandbox.store, "utk-new", email="nia@example.com", form_id=form).contact_id
    identified = convert_visitor(sandbox.store, "utk-known", email="known@example.com", form_id=form).contact_id
    assert identified == known
    sandbox.clock.advance(seconds=1)
    second = run_sync(config, "portal", clock=clock_of(sandbox))
    assert second.status == "ok", second.error
    assert second.pulled_activities == 8, "3 earlier page views and a form submission each"
    assert stage(sandbox, created) == "mql" and stage(sandbox, known) == "mql"
    assert sorted(mqls(sandbox), key=int) == sorted([created, known], key=int)

    from typer.testing import CliRunner

    from connector.cli import app

    shown = CliRunner().invoke(app, ["explain", created, "--config", str(tmp_path / "connector.yaml")])
    assert shown.exit_code == 0, shown.output
    assert "form_submit (form_name: Contact us" in shown.output, "explain names the form, not its GUID"


@pytest.mark.parametrize("sandbox", [{"events_per_record_only": True}], indirect=True)
def test_a_portal_serving_one_record_at_a_time_is_read_per_changed_contact(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    ann, bob = sandbox.store.add_contacts([{"email": "ann@example.com"}, {"email": "bob@example.com"}])
    sandbox.store.add_events([{"objectId": ann, "eventType": "e_visited_page", "occurredAt": T0 - DAY, "properties": {}}])
    form = sandbox.store.forms.add("Contact us", sandbox.clock.now_ms()).id
    from connector.sandbox.hubspot.visitors import add_visitor_events, convert_visitor

    add_visitor_events(sandbox.store, "utk-1", [{"eventType": "e_visited_page", "occurredAt": T0 - 5 * DAY, "properties": {}}])
    sandbox.clock.advance(seconds=600)  # created before the next run's window (5 minutes of overlap)
    first = run_sync(config, "portal", clock=clock_of(sandbox))
    assert first.status == "ok", first.error
    assert first.pulled_activities == 1 and stage(sandbox, ann) == "mql" and stage(sandbox, bob) == "subscriber"

    sandbox.clock.advance(hours=1)
    convert_visitor(sandbox.store, "utk-1", email="bob@example.com", form_id=form)  # bob identified: his earlier visit
    sandbox.clock.advance(seconds=1)
    sandbox.requests_clear()
    second = run_sync(config, "portal", clock=clock_of(sandbox))
    assert second.status == "ok", second.error
    assert second.pulled_activities == 2 and stage(sandbox, bob) == "mql"
    events_calls = [r for r in sandbox.requests if r.path.rstrip("/") == "/events/v3/events"]
    # Refused portal-wide once, then per contact modified in the window (the first run's writes moved
    # ann's and bob's lastmodifieddate into its overlap): ann's window, bob's window, then bob's
    # earlier events, because he submitted a form in it.
    assert len(events_calls) == 4, [(r.path, r.query) for r in sandbox.requests]


@pytest.mark.parametrize("sandbox", [{"tier": "professional"}], indirect=True)
def test_a_portal_without_web_analytics_skips_that_stream_once_and_syncs_the_rest(
    config: ConnectorConfig, sandbox: HubSpotSandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import logging

    from connector.sync import pipeline

    monkeypatch.setattr(pipeline, "_NOTICED", set())  # a fresh process
    caplog.set_level(logging.INFO, logger="connector.sync.pipeline")
    (cid,) = sandbox.store.add_contacts([{"email": "ann@example.com"}])
    sandbox.store.add_events([{"objectId": cid, "eventType": "e_visited_page", "occurredAt": T0 - DAY, "properties": {}}])
    sandbox.store.add_engagement("meetings", {"hs_timestamp": str(T0 - DAY)}, contact_ids=[cid])
    sandbox.clock.advance(seconds=1)
    run = run_sync(config, "portal", clock=clock_of(sandbox))
    assert run.status == "ok", run.error
    assert run.pulled_activities == 1 and stage(sandbox, cid) == "mql", "the meeting is pulled and scored"
    (notice,) = run.notices
    assert "not available to this portal" in notice and "Enterprise" in notice and "score nothing" in notice
    events = [r for r in sandbox.requests if r.path.rstrip("/") == "/events/v3/events"]
    assert [r.status for r in events] == [403], "one refused query, no walk per event type, no per-contact reads"
    assert "correlationId" not in notice, "the same refusal reads the same every run"

    sandbox.clock.advance(seconds=60)
    again = run_sync(config, "portal", clock=clock_of(sandbox))
    assert again.status == "ok" and again.notices == [notice], "every run's summary lists it"
    said = [r for r in caplog.records if "not available to this portal" in r.getMessage()]
    assert [r.levelname for r in said] == ["WARNING", "INFO"], "the log warns once per process, then says it at INFO"
