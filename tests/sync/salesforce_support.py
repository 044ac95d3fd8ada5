"""Shared by the Salesforce sync tests: a demo org on a frozen clock, a config, setup, a run, the org's state.

Mirrors the HubSpot helpers of ``test_crash.py`` (same shape: two identical sandboxes, a reference run,
a disturbed run, states compared); the sandbox is read directly for the comparisons (no API calls).
"""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import typing as t

from connector.sandbox.clock import SandboxClock
from connector.sandbox.salesforce import SalesforceSandbox
from connector.sync.config import crm_entry, load_config
from connector.sync.config import write_config as write_connector_yaml
from connector.sync.connect import connect
from connector.sync.pipeline import run_sync

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(__file__).resolve().parent / "data"
CRM = "sf"
SANDBOX_NOW_MS = int(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC).timestamp() * 1000)
SYNC_NOW = dt.datetime(2026, 6, 1, 12, 5, tzinfo=dt.UTC)
OWNER = "sf-test-instance"
MODELS = [REPO / "mappings" / "models" / "b2b-saas.yaml"]


def make_sandbox(leads: int = 200, contacts: int = 60, **options: t.Any) -> SalesforceSandbox:
    """A started demo org on a frozen clock: identical for equal arguments."""
    options.setdefault("bulk_delay_s", 0.02)
    return SalesforceSandbox(seed="demo", seed_leads=leads, seed_contacts=contacts, random_seed=7, clock=SandboxClock(frozen_ms=SANDBOX_NOW_MS), **options).start()


def frozen_clock() -> dt.datetime:
    """The sync's clock (module level, so a sync subprocess can be handed it)."""
    return SYNC_NOW


def write_config(folder: pathlib.Path, *, mapping: pathlib.Path | None = None, database_url: str | None = None, **keys: t.Any) -> pathlib.Path:
    """A connector.yaml for one Salesforce org (the shipped mapping with quick Bulk polls), limits lifted."""
    rate_limit = keys.pop("rate_limit", {"requests": 100000, "per_seconds": 1})
    entry = crm_entry(CRM, "salesforce", mapping or DATA / "salesforce.yaml", MODELS, rate_limit=rate_limit)
    top = {"batch": {"score_chunk": 25}, "database_url": database_url or f"sqlite:///{folder / 'state.db'}", "lease": {"ttl_seconds": 600, "wait_seconds": 0},
           "overlap_minutes": 0, **keys}
    return write_connector_yaml(folder / "connector.yaml", [entry], **top)


def env_for(sandbox: SalesforceSandbox) -> dict[str, str]:
    """The SALESFORCE_* variables the sandbox prints (the adapter's default variable names)."""
    return sandbox.env()


def setup_crm(config_path: pathlib.Path, sandbox: SalesforceSandbox) -> list[str]:
    """``connector setup``: output fields, FLS, campaigns, as an admin does once."""
    from connector.adapters.base import NoGate
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models

    crm = load_config(config_path).crms[0]
    adapter = connect(crm, NoGate(), environ=env_for(sandbox))
    try:
        return adapter.setup(specs_from_models(load_models(crm.models)))
    finally:
        adapter.close()


def quick_retries(env: t.Mapping[str, str]) -> t.Callable[[t.Any, t.Any], t.Any]:
    """An adapter factory like the sync's, with backoff in milliseconds (faults are retried without waiting seconds)."""
    from connector.adapters import adapter_spec
    from connector.adapters.salesforce import RetryPolicy, SalesforceAdapter, load_mapping, salesforce_settings
    from connector.adapters.settings import read_settings

    def build(crm: t.Any, gate: t.Any) -> t.Any:
        settings = read_settings(adapter_spec("salesforce"), crm=crm.name, mapping=crm.mapping, variables=crm.credentials, environ=env)
        return SalesforceAdapter(salesforce_settings(settings), load_mapping(crm.mapping), gate=gate, policy=RetryPolicy(initial=0.005, maximum=0.05))

    return build


def sync_in_process(config_path: pathlib.Path, sandbox: SalesforceSandbox, *, full: bool = False, clock: t.Callable[[], dt.datetime] = frozen_clock) -> t.Any:
    """One run in this process, on the frozen sync clock (or ``clock``), retrying quickly."""
    return run_sync(load_config(config_path), full=full, clock=clock, owner=OWNER, adapter_factory=quick_retries(env_for(sandbox)))


def org_clock(sandbox: SalesforceSandbox) -> t.Callable[[], dt.datetime]:
    """A sync clock one second after the org's (which tests move with ``sandbox.clock.advance``)."""
    return lambda: dt.datetime.fromtimestamp(sandbox.clock.now_ms() / 1000 + 1, tz=dt.UTC)


def crm_state(sandbox: SalesforceSandbox) -> dict[str, t.Any]:
    """What the sync may have changed in the org: output fields of every person, campaign members, tasks."""
    org = sandbox.org
    with org.lock:
        people = {
            rid: {k: v for k, v in rec.items() if k.endswith("__c") and v is not None}
            for name in ("lead", "contact")
            for rid, rec in org.tables[name].items()
        }
        campaigns = {rec["Id"]: rec["Name"] for rec in org.tables["campaign"].values()}
        members: dict[str, list[str]] = {}
        for m in org.tables["campaignmember"].values():
            if not m.get("IsDeleted") and str(campaigns.get(m["CampaignId"], "")).startswith("b2b-saas"):
                members.setdefault(campaigns[m["CampaignId"]], []).append(str(m.get("ContactId") or m.get("LeadId")))
        tasks = sorted(
            json.dumps({"who": r.get("WhoId"), "subject": r.get("Subject"), "owner": r.get("OwnerId"), "key": r.get("Connector_Action_Key__c")}, sort_keys=True)
            for r in org.tables["task"].values()
            if r.get("Connector_Action_Key__c")
        )
    return {"people": people, "campaigns": {k: sorted(v) for k, v in members.items()}, "tasks": tasks}


def diff_summary(expected: dict[str, t.Any], actual: dict[str, t.Any]) -> str:
    """A short account of how two org states differ."""
    out = []
    for rid in sorted(set(expected["people"]) | set(actual["people"])):
        a, b = expected["people"].get(rid, {}), actual["people"].get(rid, {})
        keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if keys:
            out.append(f"{rid}: " + ", ".join(f"{k}: {a.get(k)!r} != {b.get(k)!r}" for k in keys[:4]))
    for name in sorted(set(expected["campaigns"]) | set(actual["campaigns"])):
        if expected["campaigns"].get(name) != actual["campaigns"].get(name):
            out.append(f"campaign {name!r}: {len(expected['campaigns'].get(name) or [])} vs {len(actual['campaigns'].get(name) or [])} members")
    if expected["tasks"] != actual["tasks"]:
        out.append(f"tasks: {len(expected['tasks'])} expected, {len(actual['tasks'])} found")
    return "\n".join(out[:20])


def sync_process_main(config_path: str, env: dict[str, str], result_path: str) -> None:
    """Body of a sync subprocess: one run on the frozen clock, its outcome written as JSON."""
    import os

    os.environ.update(env)
    os.environ.pop("DATABASE_URL", None)
    summary = run_sync(load_config(config_path), clock=frozen_clock, owner=OWNER)
    outcome = {"status": summary.status, "written": summary.written, "actions": summary.actions, "error": summary.error}
    pathlib.Path(result_path).write_text(json.dumps(outcome))


#: How the b2b-saas model's webhook action is quarantined when no signing secret is set (as in these tests).
UNSIGNED_WEBHOOK = "webhook: webhook not sent: no signing secret"


def other_quarantine(config_path: pathlib.Path) -> list[str]:
    """Reasons of quarantined entries other than the unsigned webhooks (which every run with the model's hot trigger has)."""
    import sqlalchemy as sa

    engine = sa.create_engine(load_config(config_path).effective_database_url())
    try:
        with engine.connect() as conn:
            reasons = [str(r[0]) for r in conn.execute(sa.text("SELECT reason FROM quarantine"))]
    finally:
        engine.dispose()
    return [r for r in reasons if not r.startswith(UNSIGNED_WEBHOOK)]
