"""The echo of the connector's own writes is left out of the next pull, and no user's edit is lost.

Against the HubSpot sandbox over real sockets (frozen clocks, so a write and a user's edit made
"while the connector was writing" carry the same instant and only the marker tells them apart).
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

from connector.sandbox.hubspot import HubSpotSandbox
from connector.sync.config import ConnectorConfig
from connector.sync.connect import connect
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.tables import contacts, outbox
from tests.sync import test_hubspot_e2e as e2e
from tests.sync.test_hubspot_e2e import _clock, _seed

#: The HubSpot end-to-end fixtures (a sandbox portal on a frozen clock, a connector.yaml for it).
sandbox = e2e.sandbox
config = e2e.config

__all__: list[str] = []


def _editing_while_writing(sb: HubSpotSandbox, edits: dict[str, dict[str, str]], searched: list[str] | None = None) -> t.Callable[..., t.Any]:
    """An adapter factory whose pushes first apply ``edits`` in the portal (once), as a user would mid-push.

    ``searched`` collects the ids of the contacts the contact pull's search returned.
    """
    pending = dict(edits)
    found = searched if searched is not None else []

    def factory(crm: t.Any, gate: t.Any) -> t.Any:
        adapter = connect(crm, gate)
        original = adapter.push
        pull = adapter.pull_contacts

        def pull_contacts(*args: t.Any, **kwargs: t.Any) -> t.Iterator[t.Any]:
            for page in pull(*args, **kwargs):
                found.extend(c.id for c in page.records)
                yield page

        adapter.pull_contacts = pull_contacts  # type: ignore[method-assign]

        def push(updates: t.Sequence[t.Any]) -> t.Any:
            while pending:
                cid, props = pending.popitem()
                sb.store.update_contact(cid, props)
            return original(updates)

        adapter.push = push  # type: ignore[method-assign]
        return adapter

    return factory


def _title(cfg: ConnectorConfig, cid: str) -> str | None:
    engine = make_engine(cfg.effective_database_url())
    with engine.connect() as conn:
        props = conn.execute(sa.select(contacts.c.properties).where(contacts.c.id == cid)).scalar_one()
    engine.dispose()
    return t.cast(str | None, props.get("job_title"))


def _calls(sb: HubSpotSandbox) -> tuple[int, int]:
    log = sb.requests
    return sum(1 for r in log if r.path.endswith("/contacts/search")), sum(1 for r in log if r.path.endswith("/contacts/batch/read"))


def test_edits_made_while_the_connector_writes_are_seen_and_the_echo_is_not_searched(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    ann, bob, cy = _seed(sandbox)
    clock = _clock(sandbox)

    # Run 1 writes all three; while it writes, a user edits Ann (a contact it writes: her edit is
    # stamped before the connector's write, which then hides it behind its own lastmodifieddate).
    first = run_sync(config, "portal-a", clock=clock, adapter_factory=_editing_while_writing(sandbox, {ann: {"jobtitle": "Engineer"}}))
    assert first.status == "ok" and first.written == 3
    assert _title(config, ann) == "Head of Marketing"  # pulled before the edit

    # Run 2: the search leaves run 1's echo out (nothing else changed), the three contacts run 1
    # wrote are read again by batch read, and Ann's edit is seen. While run 2 writes Ann's new
    # score, a user edits Bob, whom run 2 does not write.
    sandbox.clock.advance(seconds=3600)
    sandbox.requests_clear()
    searched: list[str] = []
    second = run_sync(config, "portal-a", clock=clock, adapter_factory=_editing_while_writing(sandbox, {bob: {"jobtitle": "Marketing Director"}}, searched))
    assert second.status == "ok", second.error
    assert _title(config, ann) == "Engineer"
    assert second.written == 1  # Ann lost her marketing points
    searches, reads = _calls(sandbox)
    assert reads == 1 and searches >= 1
    assert second.pulled_contacts == 3  # the three read again; the search returned none of them
    assert searched == []
    # Run 1's sent rows were still to be read again when run 2 started: kept.
    assert _outbox_runs(config) == [(1, "done")] * 3 + [(2, "done")]

    # Run 3: Bob's edit was stamped inside run 2's write window, but he does not carry run 2's
    # scored_at, so the search returns him; Ann (run 2's only write) is read again.
    sandbox.clock.advance(seconds=3600)
    sandbox.requests_clear()
    searched = []
    third = run_sync(config, "portal-a", clock=clock, adapter_factory=_editing_while_writing(sandbox, {}, searched))
    assert third.status == "ok", third.error
    assert _title(config, bob) == "Marketing Director"
    assert third.pulled_contacts == 2  # Bob through the search, Ann read again
    assert searched == [bob]
    assert _title(config, cy) == "Marketing Analyst"
    # When run 3 started, run 2 had read run 1's contacts again: run 1's rows are gone.
    assert _outbox_runs(config) == [(2, "done"), (3, "done")]

    # Run 4: nothing changed since run 3, which wrote Bob: one search finds nothing, Bob is read again.
    sandbox.clock.advance(seconds=3600)
    sandbox.requests_clear()
    searched = []
    fourth = run_sync(config, "portal-a", clock=clock, adapter_factory=_editing_while_writing(sandbox, {}, searched))
    assert fourth.status == "ok" and fourth.written == 0
    assert fourth.pulled_contacts == 1 and searched == []


def test_without_a_recorded_window_the_echo_is_pulled_as_before(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    _seed(sandbox)
    clock = _clock(sandbox)
    assert run_sync(config, "portal-a", clock=clock).written == 3
    engine = make_engine(config.effective_database_url())
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE runs SET pushed_from = NULL, pushed_until = NULL"))  # e.g. a run before schema 0011
    engine.dispose()
    sandbox.clock.advance(seconds=3600)
    sandbox.requests_clear()
    again = run_sync(config, "portal-a", clock=clock)
    assert again.pulled_contacts == 3 and _calls(sandbox)[1] == 0



def _outbox_runs(cfg: ConnectorConfig) -> list[tuple[int, str]]:
    engine = make_engine(cfg.effective_database_url())
    with engine.connect() as conn:
        rows = sorted((r, s) for r, s in conn.execute(sa.select(outbox.c.run_id, outbox.c.status)))
    engine.dispose()
    return rows


def test_contacts_read_again_once_are_not_read_a_third_time(config: ConnectorConfig, sandbox: HubSpotSandbox) -> None:
    _seed(sandbox)
    clock = _clock(sandbox)
    assert run_sync(config, "portal-a", clock=clock).written == 3
    sandbox.clock.advance(seconds=1)  # back to back: run 1's window is still inside the overlap
    second = run_sync(config, "portal-a", clock=clock)
    assert second.pulled_contacts == 3 and second.written == 0
    # Run 1's sent rows name the contacts run 2 reads again: kept.
    assert _outbox_runs(config) == [(1, "done")] * 3
    sandbox.clock.advance(seconds=1)
    sandbox.requests_clear()
    third = run_sync(config, "portal-a", clock=clock)
    assert third.status == "ok" and third.pulled_contacts == 0
    assert _outbox_runs(config) == []  # run 2 read them again and finished: nothing needs them
    # One contact search that finds nothing, one more for the customers the outcome pull reads
    # (mappings' outcomes.customer: a contacts search on hs_lifecyclestage_customer_date), no batch read.
    assert _calls(sandbox) == (2, 0)
