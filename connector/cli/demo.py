"""CLI command: ``connector demo`` (what ``make demo`` runs): a sandbox CRM set up, synced and shown.

Thin: the demo itself is :mod:`connector.demo`; this module parses the options and prints the report.
"""

from __future__ import annotations

import pathlib
import threading
import time
import typing as t

import typer

from connector.cli.common import fail

__all__ = ["demo_command", "register"]


class _StageLines:
    """Progress for the demo: one line per stage with its count and time (no redraws, log-friendly).

    Implements :class:`connector.sync.progress.Progress`.
    """

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._done: dict[str, int] = {}

    def start(self, stage: str, total: int | None = None) -> None:
        self._started[stage] = time.monotonic()
        self._done[stage] = 0
        typer.echo(f"  {stage} ..." + (f" ({total})" if total else ""))

    def advance(self, stage: str, amount: int) -> None:
        self._done[stage] = self._done.get(stage, 0) + amount

    def finish(self, stage: str) -> None:
        took = time.monotonic() - self._started.get(stage, time.monotonic())
        typer.echo(f"  {stage}: {self._done.get(stage, 0)} done in {took:.1f} s")


def demo_command(
    database: pathlib.Path = typer.Option(pathlib.Path("demo.db"), "--database", help="SQLite file for the demo's state (replaced on each demo)."),
    contacts: int = typer.Option(1000, "--contacts", min=10, max=200_000, help="Contacts in the generated HubSpot portal (and leads in the Salesforce org)."),
    seed: int = typer.Option(42, "--seed", help="Random seed of the generated data (same seed, same data)."),
    no_rate_limit: bool = typer.Option(False, "--no-rate-limit", help="Serve the HubSpot sandbox without HubSpot's rate limits (faster)."),
    no_salesforce: bool = typer.Option(False, "--no-salesforce", help="Only the HubSpot sandbox."),
    keep: bool = typer.Option(False, "--keep", help="Keep the sandboxes running after the sync, until Ctrl-C."),
) -> None:
    """Start sandbox CRMs (HubSpot and Salesforce) with demo data, set them up, sync each and show the results."""
    from rich.console import Console

    from connector.demo import DemoOptions, intro, run_demo

    console = Console()
    options = DemoOptions(database=database, contacts=contacts, random_seed=seed, salesforce=not no_salesforce)
    if no_rate_limit:
        options.rate_limit = options.search_rate = None
    console.print(f"[bold]connector demo[/]: {intro(options)}")
    try:
        report, sandboxes = run_demo(options, _StageLines(), keep_sandbox=keep)
    except (FileNotFoundError, FileExistsError) as exc:
        fail(str(exc), code=2)
    for crm in report.crms:
        _print_crm(console, report.models, crm)
    console.print(f"done in {report.seconds:.1f} s; state in {report.database_url}, configuration in {report.config_path}")
    cfg = report.config_path
    console.print("\n[bold]Try next[/]:")
    console.print(f"  connector status --config {cfg}")
    for crm in report.crms:
        if crm.top:
            console.print(f"  connector explain {crm.top[0].contact_id} --crm {crm.crm} --config {cfg}")
    console.print(f"  connector quarantine list --config {cfg}")
    console.print("  connector demo --keep     # keep the sandboxes up, then `connector sync` / `connector run` against them")
    console.print("  edit mappings/models/*.yaml and run the demo again; see docs/operations.md, docs/sync.md and docs/salesforce.md")
    if keep:
        console.print("\nSandboxes still running; in another shell:")
        for name, value in report.env.items():
            console.print(f"  export {name}={value}")
        console.print(f"  connector sync --crm {report.crms[0].crm} --config {cfg}")
        _serve_until_signal(sandboxes, lambda: console.print("Ctrl-C (or SIGTERM) to stop."))


def _print_crm(console: t.Any, models: list[str], crm: t.Any) -> None:
    """One CRM's results: setup, the run, the top leads, the stages, the API calls."""
    from rich.table import Table

    s = crm.summary
    console.print(f"\n[bold]{crm.label}[/] ({crm.crm}): setup made {len(crm.setup_changes)} changes ({crm.setup_calls} API calls)")
    console.print(
        f"sync {s.status}: pulled {s.pulled_contacts:,} contacts and {s.pulled_activities:,} activities, "
        f"scored {s.scored:,}, wrote {s.written:,}, {s.actions} trigger actions, {s.quarantined} quarantined"
    )
    first, others = models[0], models[1:]
    table = Table(title=f"{crm.label}: top {len(crm.top)} leads by {first}")
    table.add_column("contact")
    table.add_column("score", justify="right")
    table.add_column("grade")
    table.add_column("stage")
    for model in others:
        table.add_column(f"{model}: score grade stage")
    for lead in crm.top:
        cells = [f"{lead.name} ({lead.contact_id})", _num(lead.scores.get(first)), lead.grades.get(first) or "", lead.stages.get(first) or ""]
        for model in others:
            cells.append(" ".join(x for x in (_num(lead.scores.get(model)), lead.grades.get(model) or "", lead.stages.get(model) or "") if x))
        table.add_row(*cells)
    console.print(table)
    stages = Table(title=f"{crm.label}: contacts per stage")
    stages.add_column("model")
    stages.add_column("stage")
    stages.add_column("contacts", justify="right")
    for model, counts in crm.stage_counts.items():
        for stage, n in counts.items():
            stages.add_row(model, stage, f"{n:,}")
    console.print(stages)
    calls = Table(title=f"{crm.label} API calls: {s.api_calls:,} for the sync (+{crm.setup_calls} for setup), {s.retries} retries, {s.rate_limited} 429s")
    calls.add_column("endpoint")
    calls.add_column("calls", justify="right")
    for name, n in crm.calls_by_endpoint.items():
        calls.add_row(name, f"{n:,}")
    console.print(calls)


class _Stoppable(t.Protocol):
    def stop(self) -> None: ...


def _serve_until_signal(sandboxes: t.Sequence[_Stoppable], ready: t.Callable[[], None]) -> None:
    """Keep the sandbox up until SIGINT or SIGTERM (explicit handlers: a backgrounded process ignores SIGINT).

    ``ready`` is called once the handlers are in place, so a signal sent after it is never lost.
    """
    import signal

    done = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    ready()
    try:
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sandbox in sandboxes:
            sandbox.stop()
        typer.echo("sandboxes stopped")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def register(app: typer.Typer) -> None:
    """Add this module's command to app."""
    app.command("demo")(demo_command)
