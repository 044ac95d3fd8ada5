"""``connector demo``: the whole product in one command, against sandbox CRMs on this machine.

It starts the HubSpot sandbox and the Salesforce sandbox (HTTPS, its own test CA) in-process on free
loopback ports with generated demo data, writes one connector configuration listing both CRMs with
the shipped mappings (``mappings/hubspot.yaml``, ``mappings/salesforce.yaml``) and the same scoring
models (``mappings/models/*.yaml``), sets up each CRM (output properties/fields, lists/campaigns),
runs one full sync of each into one SQLite file, and reports per CRM what a RevOps admin wants to
see first: the top leads, how many people sit in each stage, and what it cost in API calls.
Everything goes through the same code as a real sync (adapter registry, adapters over HTTP, rate
limiters at the CRMs' default limits, state store).

The sandboxes' credentials are handed to the adapters directly (``environ=``), so the demo never
touches the process environment or a ``.env`` file. This module sits beside the CLI, not in the
sync engine: it starts sandboxes, which the sync engine never imports.
"""

from __future__ import annotations

import dataclasses as dc
import pathlib
import time
import typing as t

from connector.adapters.base import CRMAdapter, RequestGate
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.sandbox.hubspot.seed import UNASSIGNED_EMAIL
from connector.sandbox.salesforce import SalesforceSandbox
from connector.scoring.model import ScoringModel
from connector.sync.admin import crm_names, explain, leaders, quarantine_list, stage_counts
from connector.sync.config import ConnectorConfig, CRMConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.progress import Progress
from connector.sync.ratelimit import RateLimiter
from connector.sync.scorers import ScorerSet
from connector.sync.summary import RunSummary

if t.TYPE_CHECKING:
    from connector.sandbox.serving import Served

__all__ = ["DEMO_CRM", "DEMO_CRMS", "SALESFORCE_DEMO_CRM", "CRMReport", "DemoOptions", "DemoReport", "Quarantined", "TopLead", "default_resources", "intro", "run_demo"]

#: The CRM names the demo configures; an existing database holding other CRMs is never replaced.
DEMO_CRM = "hubspot-demo"
SALESFORCE_DEMO_CRM = "salesforce-demo"
DEMO_CRMS = (DEMO_CRM, SALESFORCE_DEMO_CRM)
_TOKEN_VAR = "DEMO_HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
_URL_VAR = "DEMO_HUBSPOT_BASE_URL"


def default_resources(crm: str = "hubspot") -> tuple[pathlib.Path, list[pathlib.Path]]:
    """The shipped mapping of ``crm`` and the models: from the working directory, else from the source checkout.

    Raises:
        FileNotFoundError: neither place has them.
    """
    for root in (pathlib.Path.cwd(), pathlib.Path(__file__).resolve().parents[1]):
        mapping = root / "mappings" / f"{crm}.yaml"
        models = sorted((root / "mappings" / "models").glob("*.yaml"))
        if mapping.is_file() and models:
            return mapping, models
    raise FileNotFoundError(f"mappings/{crm}.yaml and mappings/models/*.yaml not found: run the demo from the project folder")


@dc.dataclass
class DemoOptions:
    """What the demo runs with; the defaults are what ``make demo`` uses."""

    database: pathlib.Path = pathlib.Path("demo.db")
    #: 1,000 HubSpot contacts at HubSpot's default limits: about 200 API calls, well under a minute;
    #: as many Salesforce leads, and a third as many contacts (conversions add more).
    contacts: int = 1000
    random_seed: int = 42
    mapping: pathlib.Path | None = None
    models: list[pathlib.Path] | None = None
    #: The HubSpot sandbox's limits (HubSpot's defaults); ``None`` serves without limits.
    rate_limit: str | None = "190/10s"
    search_rate: str | None = "5/s"
    top: int = 10
    #: Also start and sync the Salesforce sandbox.
    salesforce: bool = True


@dc.dataclass
class TopLead:
    """One row of the top-leads table: a contact and its score under each model."""

    contact_id: str
    name: str
    email: str | None
    job_title: str | None
    scores: dict[str, float]
    grades: dict[str, str | None]
    stages: dict[str, str | None]


@dc.dataclass
class Quarantined:
    """One record the demo's sync set aside, and whether the demo portal breaks it on purpose."""

    stream: str
    record_id: str | None
    reason: str
    #: The contact's e-mail, for an action's entry.
    email: str | None = None
    #: The demo portal's ownerless hot lead (its task cannot be assigned): quarantined on purpose.
    on_purpose: bool = False


@dc.dataclass
class CRMReport:
    """What the demo did with one CRM."""

    crm: str
    label: str
    summary: RunSummary
    setup_changes: list[str]
    setup_calls: int
    top: list[TopLead]
    #: model -> stage -> number of contacts, in the model's stage order ("(none)" last)
    stage_counts: dict[str, dict[str, int]]
    calls_by_endpoint: dict[str, int]
    #: The variables pointing ``connector`` commands at this CRM's sandbox.
    env: dict[str, str]
    #: What the sync quarantined (open entries), the deliberate one marked.
    quarantined: list[Quarantined] = dc.field(default_factory=list)


@dc.dataclass
class DemoReport:
    """What the demo did, for the CLI to print (and tests to check): one :class:`CRMReport` per CRM."""

    crms: list[CRMReport]
    config_path: pathlib.Path
    database_url: str
    models: list[str]
    seconds: float

    def crm(self, name: str) -> CRMReport:
        """The report of the CRM called ``name``."""
        return next(r for r in self.crms if r.crm == name)

    @property
    def env(self) -> dict[str, str]:
        """Every sandbox's variables."""
        return {k: v for r in self.crms for k, v in r.env.items()}


def intro(options: DemoOptions) -> str:
    """What the demo is about to run, in one line."""
    text = f"sandbox HubSpot portal with {options.contacts:,} generated contacts"
    if options.salesforce:
        text += f" and sandbox Salesforce org with {options.contacts:,} leads and {options.contacts // 3:,} contacts"
    return text + " on 127.0.0.1"


def _prepare_database(path: pathlib.Path) -> None:
    """Start from an empty demo database; refuse to replace one that holds a real CRM's state.

    Raises:
        FileExistsError: the file holds another CRM's state.
    """
    if not path.exists():
        return
    engine = make_engine(f"sqlite:///{path.resolve()}")
    try:
        names = crm_names(engine)
    except Exception:  # noqa: BLE001 - not a state database at all (any SQLite or driver error): nothing of ours to keep
        names = set()
    finally:
        engine.dispose()
    if names - set(DEMO_CRMS):
        raise FileExistsError(f"{path} holds the state of {', '.join(sorted(names))}, not a demo: choose another file with --database")
    for suffix in ("", "-wal", "-shm", "-journal"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(options: DemoOptions, progress: Progress | None = None, *, keep_sandbox: bool = False) -> tuple[DemoReport, list[Served]]:
    """Run the demo; return the report and the sandboxes (still running when ``keep_sandbox``).

    Raises:
        FileNotFoundError: the shipped mappings/models are not found.
        FileExistsError: ``options.database`` holds another CRM's state.
    """
    started = time.monotonic()
    mapping, models = default_resources("hubspot")
    mapping = options.mapping or mapping
    models = [m.resolve() for m in (options.models or models)]
    database = options.database
    _prepare_database(database)
    entries = [crm_entry(DEMO_CRM, "hubspot", mapping.resolve(), models, credentials={"access_token": _TOKEN_VAR}, base_url_env=_URL_VAR, schedule={"interval_minutes": 15})]
    if options.salesforce:
        sf_mapping, _ = default_resources("salesforce")
        entries.append(crm_entry(SALESFORCE_DEMO_CRM, "salesforce", sf_mapping.resolve(), models, schedule={"interval_minutes": 15}))
    config_path = write_config(
        database.resolve().with_name(f"{database.stem}-connector.yaml"),
        entries,
        comment="Written by `connector demo`: the HubSpot and Salesforce sandboxes, the shipped mappings, one set of models for both.\n"
        f"HubSpot: {_URL_VAR} / {_TOKEN_VAR}; Salesforce: the SALESFORCE_* variables (printed by `connector demo --keep`).",
        database_url=f"sqlite:///{database.resolve()}",
        log_format="text",
    )
    config = load_config(config_path)
    sandboxes: list[Served] = []
    try:
        hubspot = HubSpotSandbox(
            seed="demo", seed_contacts=options.contacts, random_seed=options.random_seed, rate_limit=options.rate_limit, search_rate=options.search_rate
        ).start()
        sandboxes.append(hubspot)
        plans: list[tuple[str, str, dict[str, str]]] = [(DEMO_CRM, "HubSpot", {_TOKEN_VAR: hubspot.token, _URL_VAR: hubspot.base_url})]
        if options.salesforce:
            salesforce = SalesforceSandbox(seed="demo", seed_leads=options.contacts, seed_contacts=max(1, options.contacts // 3), random_seed=options.random_seed).start()
            sandboxes.append(salesforce)
            plans.append((SALESFORCE_DEMO_CRM, "Salesforce", salesforce.env()))
        url = config.effective_database_url()
        reports = [_sync_one(config.crm(name), label, env, config, url, options, progress) for name, label, env in plans]
        report = DemoReport(crms=reports, config_path=config_path, database_url=url, models=[m.model for m in ScorerSet.load(config.crms[0].models).models],
                            seconds=time.monotonic() - started)
    except BaseException:
        for sandbox in sandboxes:
            sandbox.stop()
        raise
    if not keep_sandbox:
        for sandbox in sandboxes:
            sandbox.stop()
    return report, sandboxes


def _sync_one(crm: CRMConfig, label: str, env: dict[str, str], config: ConnectorConfig, url: str, options: DemoOptions, progress: Progress | None) -> CRMReport:
    """Set up one CRM, run one full sync of it, read its results."""
    scorers = ScorerSet.load(crm.models)
    adapters: list[CRMAdapter] = []

    def factory(c: CRMConfig, gate: RequestGate) -> CRMAdapter:
        adapter = connect(c, gate, environ=env)
        adapters.append(adapter)
        return adapter

    setup = connect(crm, RateLimiter.from_limits(crm.limits), environ=env)
    try:
        changes = setup.setup(specs_from_models(scorers.models))
    finally:
        setup.close()
    summary = run_sync(config, crm.name, full=True, adapter_factory=factory, progress=progress, scorers=scorers)
    by_endpoint: dict[str, int] = {}
    for adapter in adapters:
        for name, count in adapter.stats.by_endpoint.items():
            by_endpoint[name] = by_endpoint.get(name, 0) + count
    top, counts, quarantined = _results(url, crm.name, scorers.models, options.top)
    return CRMReport(
        crm=crm.name, label=label, summary=summary, setup_changes=changes, setup_calls=setup.stats.calls, top=top, stage_counts=counts,
        calls_by_endpoint=dict(sorted(by_endpoint.items(), key=lambda kv: -kv[1])), env=env, quarantined=quarantined,
    )


def _in_stage_order(model: ScoringModel, counts: dict[str | None, int]) -> dict[str, int]:
    """Stage counts lowest stage first, as the model lists them; every stage shown, even at 0."""
    order = [s.name for s in model.stages.order] if model.stages is not None else []
    out = {name: counts.get(name, 0) for name in order}
    out.update({(k or "(none)"): v for k, v in counts.items() if k not in out})
    return out


def _results(url: str, crm: str, models: list[ScoringModel], top: int) -> tuple[list[TopLead], dict[str, dict[str, int]], list[Quarantined]]:
    """The top contacts by the first model's score, the stage counts of every model, what was quarantined."""
    engine = make_engine(url)
    try:
        best = leaders(engine, crm, models[0].model, top)
        counts = stage_counts(engine, crm)
        quarantined = []
        for row in reversed(quarantine_list(engine, crm, limit=1000)):
            found = explain(engine, crm, row["record_id"]) if row["stream"] == "actions" and row["record_id"] else None
            on_purpose = found is not None and (found.email or "").lower() == UNASSIGNED_EMAIL
            quarantined.append(Quarantined(row["stream"], row["record_id"], row["reason"], found.email if found else None, on_purpose))
    finally:
        engine.dispose()
    leads = []
    for row in best:
        p = row["properties"]
        leads.append(
            TopLead(
                contact_id=row["contact_id"],
                name=" ".join(str(p[k]) for k in ("firstname", "lastname") if p.get(k)) or f"contact {row['contact_id']}",
                email=p.get("email") or row["email"],
                job_title=p.get("job_title"),
                scores={m: s["score"] for m, s in row["scores"].items()},
                grades={m: s["grade"] for m, s in row["scores"].items()},
                stages={m: s["stage"] for m, s in row["scores"].items()},
            )
        )
    return leads, {m.model: _in_stage_order(m, counts.get(m.model, {})) for m in models}, quarantined
