"""CLI command: ``connector demo`` (what ``make demo`` runs): the sandbox CRMs set up, synced and shown.

Thin: the demo itself is :mod:`connector.demo`; this module parses the options and prints the report.
"""

from __future__ import annotations

import pathlib
import shlex
import threading
import time
import typing as t

import typer

from connector.cli.common import as_typed, command_line, connector_command, fail
from connector.sync.progress import STAGES

if t.TYPE_CHECKING:
    from rich.console import Console

    from connector.demo import CRMReport, Quarantined

__all__ = ["demo_command", "next_steps", "register"]


class _StageLines:
    """Progress for the demo: one line per stage with its count and time (no redraws, log-friendly).

    The stages overlap (the push starts first and ends after the scoring), so each line waits until
    the stages before it, in :data:`~connector.sync.progress.STAGES` order, that have started are
    done: the lines read in the order of a run, also in a log or a pipe. Implements
    :class:`connector.sync.progress.Progress`.
    """

    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._done: dict[str, int] = {}
        self._held: dict[str, str] = {}
        self._printed: set[str] = set()

    def start(self, stage: str, total: int | None = None) -> None:
        if stage in self._printed:  # the next CRM's run begins
            self.close()
            self._started.clear()
            self._done.clear()
            self._printed.clear()
        self._started[stage] = time.monotonic()
        self._done[stage] = 0

    def advance(self, stage: str, amount: int) -> None:
        self._done[stage] = self._done.get(stage, 0) + amount

    def finish(self, stage: str) -> None:
        took = time.monotonic() - self._started.get(stage, time.monotonic())
        self._held[stage] = f"  {stage}: {self._done.get(stage, 0):,} done in {took:.1f} s"
        self._release()

    def _release(self) -> None:
        for stage in [*STAGES, *sorted(self._held.keys() - set(STAGES))]:
            if stage in self._printed:
                continue
            if stage not in self._held:
                if stage in self._started:
                    return  # an earlier stage is still running: later lines wait for it
                continue
            typer.echo(self._held.pop(stage))
            self._printed.add(stage)

    def close(self) -> None:
        """Print what is still held (a stage that never finished, e.g. after an error)."""
        for stage in [s for s in STAGES if s in self._held] + sorted(self._held.keys() - set(STAGES)):
            typer.echo(self._held.pop(stage))


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
    console.print(f"[bold]connector demo[/]: {intro(options)}", soft_wrap=True)
    console.print("one full sync of each CRM (setup first):", soft_wrap=True)
    progress = _StageLines()
    try:
        report, sandboxes = run_demo(options, progress, keep_sandbox=keep)
    except (FileNotFoundError, FileExistsError) as exc:
        fail(str(exc), code=2)
    finally:
        progress.close()
    retry = command_line("quarantine", "retry", config=report.config_path)
    for crm in report.crms:
        _print_crm(console, report.models, crm, retry)
    console.print(f"done in {report.seconds:.1f} s; state in {report.database_url}, configuration in {report.config_path}", soft_wrap=True)
    from connector.report import write_config_reports  # the KPI report of the demo portal, beside its database

    for page in write_config_reports(report.config_path, database.resolve().with_name(f"{database.stem}-report")):
        which = f" --crm {shlex.quote(page.parent.name)}" if len(report.crms) > 1 else ""  # several CRMs: one folder each
        again = f"{connector_command()} report --config {shlex.quote(as_typed(report.config_path))}{which} --output {shlex.quote(str(page.parent))}"
        console.print(f"KPI report: {page}   (again: {again})", soft_wrap=True, markup=False, highlight=False)
    console.print("\n[bold]Try next[/]:")
    tops = [(crm.crm, crm.top[0].contact_id) for crm in report.crms if crm.top]
    for line in next_steps(connector_command(), shlex.quote(as_typed(report.config_path)), tops, keep=keep):
        console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)
    console.print("  edit mappings/models/*.yaml and run the demo again; see docs/operations.md, docs/sync.md and docs/salesforce.md", soft_wrap=True)
    if keep:
        console.print("\nSandboxes still running; in another shell:")
        for name, value in report.env.items():
            console.print(f"  export {name}={shlex.quote(value)}", soft_wrap=True, markup=False, highlight=False)
        console.print(f"  {connector_command(absolute=True)} sync --config {shlex.quote(str(report.config_path))}", soft_wrap=True, markup=False, highlight=False)
        _serve_until_signal(sandboxes, lambda: console.print("Ctrl-C (or SIGTERM) to stop."))


def _print_crm(console: Console, models: list[str], crm: CRMReport, retry: str) -> None:
    """One CRM's results: setup, the run, what was quarantined, the top leads, the stages, the API calls."""
    from rich.table import Table

    s = crm.summary
    console.print(f"\n[bold]{crm.label}[/] ({crm.crm}): setup made {len(crm.setup_changes)} changes ({crm.setup_calls} API calls)", soft_wrap=True)
    console.print(
        f"sync {s.status}: pulled {s.pulled_contacts:,} contacts and {s.pulled_activities:,} activities, "
        f"scored {s.scored:,}, wrote {s.written:,}, {s.actions} trigger actions, {s.quarantined + s.rejected} quarantined",
        soft_wrap=True,
    )
    _explain_quarantine(console, crm.quarantined, retry)
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


def next_steps(run: str, config: str, tops: list[tuple[str, str]], *, keep: bool) -> list[str]:
    """The commands the demo suggests, runnable as printed (``run``: see :func:`connector_command`).

    ``tops``: (CRM name, its top contact's id) for each CRM with a top lead.
    """
    lines = [f"{run} status --config {config}"]
    lines += [f"{run} explain {contact_id} --crm {crm} --config {config}" for crm, contact_id in tops]
    lines.append(f"{run} quarantine list --config {config}")
    if not keep:  # a --keep run is already doing it
        lines.append(f"{run} demo --keep     # the sandboxes stay up, for sync / run against them")
    return lines


def _explain_quarantine(console: Console, quarantined: list[Quarantined], retry: str) -> None:
    """Say which quarantined record the demo portal breaks on purpose, and what the others are."""
    for q in quarantined:
        if q.on_purpose:
            console.print(
                f"  on purpose: contact {q.record_id} ({q.email}) reached MQL but has no owner, and the demo mapping "
                "sets no tasks.default_owner_id, so its follow-up task is quarantined: this is what a record the CRM cannot "
                f"take looks like. Give the contact an owner (or set tasks.default_owner_id) and run `{retry}`.",
                markup=False, highlight=False,
            )
    others: dict[str, int] = {}
    for q in quarantined:
        if not q.on_purpose:
            key = f"{q.stream}: {q.reason.splitlines()[0][:100]}"
            others[key] = others.get(key, 0) + 1
    for reason, n in others.items():
        console.print(f"  {n} x {reason}", markup=False, highlight=False)


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
