"""``connector demo``: the whole product in one command, against a sandbox CRM on this machine.

It starts the HubSpot sandbox in-process on a free loopback port with generated demo data, writes a
small connector configuration that uses the shipped mapping (``mappings/hubspot.yaml``) and scoring
models (``mappings/models/*.yaml``), creates the output properties and lists in the sandbox, runs one
full sync into an SQLite file, and reports what a RevOps admin wants to see first: the top leads, how
many contacts sit in each stage, and what it cost in API calls. Everything goes through the same
code as a real sync (adapter registry, adapter over HTTP, rate limiter at HubSpot's default limits,
state store).

The credentials of the sandbox are handed to the adapter directly (``environ=``), so the demo never
touches the process environment or a ``.env`` file. This module sits beside the CLI, not in the
sync engine: it starts a sandbox, which the sync engine never imports.
"""

from __future__ import annotations

import dataclasses as dc
import pathlib
import time

from connector.adapters.base import CRMAdapter, RequestGate
from connector.adapters.specs import specs_from_models
from connector.sandbox.hubspot import HubSpotSandbox
from connector.scoring.model import ScoringModel
from connector.sync.admin import crm_names, leaders, stage_counts
from connector.sync.config import CRMConfig, crm_entry, load_config, write_config
from connector.sync.connect import connect
from connector.sync.db import make_engine
from connector.sync.pipeline import run_sync
from connector.sync.progress import Progress
from connector.sync.ratelimit import RateLimiter
from connector.sync.scorers import ScorerSet
from connector.sync.summary import RunSummary

__all__ = ["DEMO_CRM", "DemoOptions", "DemoReport", "TopLead", "default_resources", "intro", "run_demo"]

#: The CRM name the demo configures; an existing database holding other CRMs is never replaced.
DEMO_CRM = "hubspot-demo"
_TOKEN_VAR = "DEMO_HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
_URL_VAR = "DEMO_HUBSPOT_BASE_URL"


def default_resources() -> tuple[pathlib.Path, list[pathlib.Path]]:
    """The shipped mapping and models: from the working directory, else from the source checkout.

    Raises:
        FileNotFoundError: neither place has them.
    """
    for root in (pathlib.Path.cwd(), pathlib.Path(__file__).resolve().parents[1]):
        mapping = root / "mappings" / "hubspot.yaml"
        models = sorted((root / "mappings" / "models").glob("*.yaml"))
        if mapping.is_file() and models:
            return mapping, models
    raise FileNotFoundError("mappings/hubspot.yaml and mappings/models/*.yaml not found: run the demo from the project folder")


@dc.dataclass
class DemoOptions:
    """What the demo runs with; the defaults are what ``make demo`` uses."""

    database: pathlib.Path = pathlib.Path("demo.db")
    #: 1,000 contacts at HubSpot's default limits: about 200 API calls, well under a minute.
    contacts: int = 1000
    random_seed: int = 42
    mapping: pathlib.Path | None = None
    models: list[pathlib.Path] | None = None
    #: The sandbox's limits (HubSpot's defaults); ``None`` serves without limits.
    rate_limit: str | None = "190/10s"
    search_rate: str | None = "5/s"
    top: int = 10


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
class DemoReport:
    """What the demo did, for the CLI to print (and tests to check)."""

    summary: RunSummary
    config_path: pathlib.Path
    database_url: str
    models: list[str]
    setup_changes: list[str]
    setup_calls: int
    top: list[TopLead]
    #: model -> stage -> number of contacts, in the model's stage order ("(none)" last)
    stage_counts: dict[str, dict[str, int]]
    calls_by_endpoint: dict[str, int]
    seconds: float
    env: dict[str, str]


def intro(options: DemoOptions) -> str:
    """What the demo is about to run, in one line."""
    return f"sandbox HubSpot portal with {options.contacts:,} generated contacts on 127.0.0.1"


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
    if names - {DEMO_CRM}:
        raise FileExistsError(f"{path} holds the state of {', '.join(sorted(names))}, not a demo: choose another file with --database")
    for suffix in ("", "-wal", "-shm", "-journal"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(options: DemoOptions, progress: Progress | None = None, *, keep_sandbox: bool = False) -> tuple[DemoReport, HubSpotSandbox]:
    """Run the demo; return the report and the sandbox (still running when ``keep_sandbox``).

    Raises:
        FileNotFoundError: the shipped mapping/models are not found.
        FileExistsError: ``options.database`` holds another CRM's state.
    """
    started = time.monotonic()
    mapping, models = default_resources()
    mapping = options.mapping or mapping
    models = options.models or models
    database = options.database
    _prepare_database(database)
    config_path = write_config(
        database.resolve().with_name(f"{database.stem}-connector.yaml"),
        [crm_entry(DEMO_CRM, "hubspot", mapping.resolve(), [m.resolve() for m in models], credentials={"access_token": _TOKEN_VAR}, base_url_env=_URL_VAR, schedule={"interval_minutes": 15})],
        comment=f"Written by `connector demo`: one HubSpot portal (the sandbox), the shipped mapping and models.\n"
        f"The sandbox's URL and token are in {_URL_VAR} / {_TOKEN_VAR} (printed by `connector demo --keep`).",
        database_url=f"sqlite:///{database.resolve()}",
        log_format="text",
    )
    config = load_config(config_path)
    crm = config.crm(DEMO_CRM)
    scorers = ScorerSet.load(crm.models)
    sandbox = HubSpotSandbox(
        seed="demo", seed_contacts=options.contacts, random_seed=options.random_seed, rate_limit=options.rate_limit, search_rate=options.search_rate
    ).start()
    try:
        env = {_TOKEN_VAR: sandbox.token, _URL_VAR: sandbox.base_url}
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
        summary = run_sync(config, DEMO_CRM, full=True, adapter_factory=factory, progress=progress, scorers=scorers)
        by_endpoint: dict[str, int] = {}
        for adapter in adapters:
            for name, count in adapter.stats.by_endpoint.items():
                by_endpoint[name] = by_endpoint.get(name, 0) + count
        url = config.effective_database_url()
        top, counts = _results(url, scorers.models, options.top)
        report = DemoReport(
            summary=summary,
            config_path=config_path,
            database_url=url,
            models=[m.model for m in scorers.models],
            setup_changes=changes,
            setup_calls=setup.stats.calls,
            top=top,
            stage_counts=counts,
            calls_by_endpoint=dict(sorted(by_endpoint.items(), key=lambda kv: -kv[1])),
            seconds=time.monotonic() - started,
            env=env,
        )
    except BaseException:
        sandbox.stop()
        raise
    if not keep_sandbox:
        sandbox.stop()
    return report, sandbox


def _in_stage_order(model: ScoringModel, counts: dict[str | None, int]) -> dict[str, int]:
    """Stage counts lowest stage first, as the model lists them; every stage shown, even at 0."""
    order = [s.name for s in model.stages.order] if model.stages is not None else []
    out = {name: counts.get(name, 0) for name in order}
    out.update({(k or "(none)"): v for k, v in counts.items() if k not in out})
    return out


def _results(url: str, models: list[ScoringModel], top: int) -> tuple[list[TopLead], dict[str, dict[str, int]]]:
    """The top contacts by the first model's score, and the stage counts of every model."""
    engine = make_engine(url)
    try:
        best = leaders(engine, DEMO_CRM, models[0].model, top)
        counts = stage_counts(engine, DEMO_CRM)
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
    return leads, {m.model: _in_stage_order(m, counts.get(m.model, {})) for m in models}
