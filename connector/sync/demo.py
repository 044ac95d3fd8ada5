"""``connector demo``: the whole product in one command, against a sandbox CRM on this machine.

It starts the HubSpot sandbox in-process on a free loopback port with generated demo data, writes a
small connector configuration that uses the shipped mapping (``mappings/hubspot.yaml``) and scoring
models (``mappings/models/*.yaml``), creates the output properties and lists in the sandbox, runs one
full sync into an SQLite file, and prints what a RevOps admin wants to see first: the top leads, how
many contacts sit in each stage, and what it cost in API calls. Everything goes through the same
code as a real sync (adapter over HTTP, rate limiter at HubSpot's default limits, state store).

The credentials of the sandbox are handed to the adapter directly (``environ=``), so the demo never
touches the process environment or a ``.env`` file.
"""

from __future__ import annotations

import dataclasses as dc
import pathlib
import sqlite3
import time
import typing as t

import sqlalchemy as sa

from connector.adapters.base import CRMAdapter, RequestGate
from connector.sync.config import CRMConfig, load_config
from connector.sync.pipeline import Progress, RunSummary, run_sync

__all__ = ["DEMO_CRM", "DemoOptions", "DemoReport", "TopLead", "default_resources", "run_demo"]

#: The CRM name the demo configures; an existing database holding other CRMs is never replaced.
DEMO_CRM = "hubspot-demo"
_TOKEN_VAR = "DEMO_HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a secret
_URL_VAR = "DEMO_HUBSPOT_BASE_URL"


def default_resources() -> tuple[pathlib.Path, list[pathlib.Path]]:
    """The shipped mapping and models: from the working directory, else from the source checkout."""
    for root in (pathlib.Path.cwd(), pathlib.Path(__file__).resolve().parents[2]):
        mapping = root / "mappings" / "hubspot.yaml"
        models = sorted((root / "mappings" / "models").glob("*.yaml"))
        if mapping.is_file() and models:
            return mapping, models
    raise FileNotFoundError("mappings/hubspot.yaml and mappings/models/*.yaml not found: run the demo from the project folder")


@dc.dataclass
class DemoOptions:
    """What the demo runs with; the defaults are what ``make demo`` uses."""

    database: pathlib.Path = pathlib.Path("demo.db")
    #: 1,000 contacts at HubSpot's default limits: about 400 API calls, well under two minutes.
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
    salesforce_note: str
    env: dict[str, str]


def _salesforce_note() -> str:
    """Whether a Salesforce sandbox exists in this build (the demo syncs HubSpot only either way)."""
    try:
        import connector.sandbox.salesforce  # noqa: F401
    except ImportError:
        return "Salesforce: no Salesforce sandbox in this build yet, so the demo syncs HubSpot only."
    return "Salesforce: a Salesforce sandbox exists but the demo does not drive it yet; HubSpot only."


def _prepare_database(path: pathlib.Path) -> None:
    """Start from an empty demo database; refuse to replace one that holds a real CRM's state."""
    if not path.exists():
        return
    try:
        with sqlite3.connect(path) as conn:
            names = {row[0] for row in conn.execute("SELECT DISTINCT crm FROM runs")}
    except sqlite3.DatabaseError:
        names = set()
    if names - {DEMO_CRM}:
        raise FileExistsError(
            f"{path} holds the state of {', '.join(sorted(names))}, not a demo: choose another file with --database"
        )
    for suffix in ("", "-wal", "-shm", "-journal"):
        pathlib.Path(f"{path}{suffix}").unlink(missing_ok=True)


def _write_config(path: pathlib.Path, database: pathlib.Path, mapping: pathlib.Path, models: t.Sequence[pathlib.Path]) -> None:
    """The demo's connector.yaml: one HubSpot CRM, credentials by variable name, absolute paths."""
    model_lines = "\n".join(f"      - {m.resolve()}" for m in models)
    path.write_text(
        f"""# Written by `connector demo`: one HubSpot portal (the sandbox), the shipped mapping and models.
# The sandbox's URL and token are in {_URL_VAR} / {_TOKEN_VAR} (printed by `connector demo --keep`).
crms:
  - name: {DEMO_CRM}
    adapter: hubspot
    mapping: {mapping.resolve()}
    models:
{model_lines}
    credentials:
      access_token: {_TOKEN_VAR}
    base_url_env: {_URL_VAR}
    schedule:
      interval_minutes: 15
database_url: sqlite:///{database.resolve()}
log_format: text
""",
        encoding="utf-8",
    )


def run_demo(options: DemoOptions, progress: Progress | None = None, *, keep_sandbox: bool = False) -> tuple[DemoReport, t.Any]:
    """Run the demo; return the report and the sandbox (still running when ``keep_sandbox``).

    Raises:
        FileNotFoundError: the shipped mapping/models are not found.
        FileExistsError: ``options.database`` holds another CRM's state.
    """
    from connector.sandbox.hubspot import HubSpotSandbox
    from connector.scoring.loader import load_models
    from connector.sync.adapters_factory import build_adapter

    started = time.monotonic()
    mapping, models = default_resources()
    mapping = options.mapping or mapping
    models = options.models or models
    database = options.database
    _prepare_database(database)
    config_path = database.resolve().with_name(f"{database.stem}-connector.yaml")
    _write_config(config_path, database, mapping, models)
    config = load_config(config_path)
    crm = config.crm(DEMO_CRM)

    sandbox = HubSpotSandbox(
        seed="demo",
        seed_contacts=options.contacts,
        random_seed=options.random_seed,
        rate_limit=options.rate_limit,
        search_rate=options.search_rate,
    ).start()
    try:
        env = {_TOKEN_VAR: sandbox.token, _URL_VAR: sandbox.base_url}
        adapters: list[CRMAdapter] = []

        def factory(c: CRMConfig, gate: RequestGate) -> CRMAdapter:
            adapter = build_adapter(c, gate, environ=env)
            adapters.append(adapter)
            return adapter

        from connector.sync.ratelimit import RateLimiter

        setup_adapter = t.cast(t.Any, factory(crm, RateLimiter.from_config(crm.rate_limit)))
        loaded = load_models(crm.models)
        changes = list(setup_adapter.setup_models(loaded))
        setup_calls = setup_adapter.stats.calls
        _close(setup_adapter)

        summary = run_sync(config, DEMO_CRM, full=True, adapter_factory=factory, progress=progress)
        by_endpoint: dict[str, int] = {}
        for adapter in adapters[1:]:
            for name, count in adapter.stats.by_endpoint.items():
                by_endpoint[name] = by_endpoint.get(name, 0) + count
            _close(adapter)
        url = config.effective_database_url()
        top, counts = _read_results(url, [m.model for m in loaded], options.top)
        stage_counts = {m.model: _in_stage_order(m, counts.get(m.model, {})) for m in loaded}
        report = DemoReport(
            summary=summary,
            config_path=config_path,
            database_url=url,
            models=[m.model for m in loaded],
            setup_changes=changes,
            setup_calls=setup_calls,
            top=top,
            stage_counts=stage_counts,
            calls_by_endpoint=dict(sorted(by_endpoint.items(), key=lambda kv: -kv[1])),
            seconds=time.monotonic() - started,
            salesforce_note=_salesforce_note(),
            env=env,
        )
    except BaseException:
        sandbox.stop()
        raise
    if not keep_sandbox:
        sandbox.stop()
    return report, sandbox


def _in_stage_order(model: t.Any, counts: t.Mapping[str, int]) -> dict[str, int]:
    """Stage counts lowest stage first, as the model lists them; every stage shown, even at 0."""
    order = [s.name for s in model.stages.order] if model.stages is not None else []
    out = {name: counts.get(name, 0) for name in order}
    out.update({k: v for k, v in counts.items() if k not in out})
    return out


def _close(adapter: t.Any) -> None:
    close = getattr(adapter, "close", None)
    if callable(close):
        close()


def _read_results(url: str, models: t.Sequence[str], top: int) -> tuple[list[TopLead], dict[str, dict[str, int]]]:
    """The top contacts by the first model's score, and the stage counts of every model."""
    from connector.sync.tables import ContactRow, ScoreRow

    scores = ScoreRow.__table__  # type: ignore[attr-defined]
    contacts = ContactRow.__table__  # type: ignore[attr-defined]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            first = models[0]
            best = conn.execute(
                sa.select(scores.c.contact_id)
                .where(scores.c.crm == DEMO_CRM, scores.c.model == first, scores.c.excluded.is_(None))
                .order_by(scores.c.score.desc(), scores.c.contact_id)
                .limit(top)
            ).scalars().all()
            rows = conn.execute(
                sa.select(scores.c.contact_id, scores.c.model, scores.c.score, scores.c.grade, scores.c.stage).where(
                    scores.c.crm == DEMO_CRM, scores.c.contact_id.in_(best)
                )
            ).all()
            props: dict[str, t.Any] = dict(
                conn.execute(
                    sa.select(contacts.c.id, contacts.c.properties).where(contacts.c.crm == DEMO_CRM, contacts.c.id.in_(best))
                ).all()
            )
            counts: dict[str, dict[str, int]] = {m: {} for m in models}
            for model, stage, n in conn.execute(
                sa.select(scores.c.model, scores.c.stage, sa.func.count())
                .where(scores.c.crm == DEMO_CRM)
                .group_by(scores.c.model, scores.c.stage)
            ):
                counts.setdefault(model, {})[stage or "(none)"] = n
    finally:
        engine.dispose()
    leads = {cid: TopLead(cid, "", None, None, {}, {}, {}) for cid in best}
    for cid, model, score, grade, stage in rows:
        lead = leads[cid]
        lead.scores[model], lead.grades[model], lead.stages[model] = score, grade, stage
    for cid, lead in leads.items():
        p = props.get(cid) or {}
        lead.name = " ".join(str(p[k]) for k in ("firstname", "lastname") if p.get(k)) or f"contact {cid}"
        lead.email = p.get("email")
        lead.job_title = p.get("job_title")
    return [leads[cid] for cid in best], counts
