"""CLI commands of the sync engine: ``sync``, ``status``, ``explain``, ``quarantine list|retry``.

Thin: each command loads ``connector.yaml`` (``--config``, else ``CONNECTOR_CONFIG``, else
``./connector.yaml``), opens the state database and calls :mod:`connector.sync`; this module only
formats. Expected failures (bad config, busy lease, CRM errors) print one clear message and exit
non-zero, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading
import typing as t

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import EXIT_FAILED, EXIT_QUARANTINED, command_line, fail, load_config_or_fail, open_state_or_fail, parse_as_of
from connector.cli.status_view import print_quarantine
from connector.cli.status_view import when as _when

__all__ = ["RichProgress", "register"]

ConfigOpt = t.Annotated[str | None, typer.Option("--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG or ./connector.yaml)")]
CrmOpt = t.Annotated[str | None, typer.Option("--crm", help="Which configured CRM (default: the only one)")]

quarantine_app = typer.Typer(help="Records that could not be pulled, scored or written, with the reason.", no_args_is_help=True)


class RichProgress:
    """A progress bar per pipeline stage (implements :class:`connector.sync.progress.Progress`)."""

    def __init__(self, console: Console) -> None:
        self._bars = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, t.Any] = {}

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bars.stop()

    def start(self, stage: str, total: int | None = None) -> None:  # noqa: D102
        self._tasks[stage] = self._bars.add_task(stage, total=total)

    def advance(self, stage: str, amount: int) -> None:  # noqa: D102
        if stage in self._tasks:
            self._bars.advance(self._tasks[stage], amount)

    def finish(self, stage: str) -> None:  # noqa: D102
        if stage in self._tasks:
            task = self._tasks[stage]
            done = self._bars.tasks[task].completed
            self._bars.update(task, total=max(done, self._bars.tasks[task].total or 0), completed=max(done, self._bars.tasks[task].total or 0))


def sync_command(
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    full: t.Annotated[bool, typer.Option("--full", help="Rescore every contact (decay safety net); writes only what changed")] = False,
    resync: t.Annotated[bool, typer.Option("--resync", help="Pull everything again instead of what changed since the cursors")] = False,
    all_crms: t.Annotated[bool, typer.Option("--all", help="Sync every configured CRM, one after the other")] = False,
    as_of: t.Annotated[
        str | None, typer.Option("--as-of", metavar="ISO8601", help="Run as of this instant (naive means UTC): scores, decay and the pull window stand still there, so two runs against a frozen CRM are comparable")
    ] = None,
) -> None:
    """Run one sync now: pull, score, write back; a progress bar per stage and a summary table.

    Exit codes: 0 every run ended ok with nothing quarantined; 3 every run ended ok but records were
    quarantined (`connector quarantine list`); 1 a run failed, stopped or left work for the next run
    (or the CRM was busy); 2 a usage or configuration problem.
    """
    from connector.adapters.base import CRMError
    from connector.sync.lease import LeaseBusy
    from connector.sync.pipeline import run_sync
    from connector.yamlfile import YamlFileError

    when = parse_as_of(as_of) if as_of is not None else None
    cfg = load_config_or_fail(config)
    console = Console()
    from connector.sync.service import setup_logging

    setup_logging(cfg.log_format, cfg.log_level)
    if all_crms:
        names = [c.name for c in cfg.crms]
    else:
        _known(cfg, crm)
        names = [cfg.crm(crm).name]
    engine = open_state_or_fail(cfg)
    summaries = []
    stop = threading.Event()
    previous = _stop_on_signals(stop, console)
    try:
        for name in names:
            if stop.is_set():
                break
            console.print(f"[bold]Syncing {name}[/bold]{' (full rescore)' if full else ''}")
            try:
                with RichProgress(console) as progress:
                    summaries.append(run_sync(cfg, name, full=full, resync=resync, as_of=when, progress=progress, engine=engine, stop=stop))
            except LeaseBusy as exc:
                fail(str(exc))
            except (CRMError, YamlFileError) as exc:
                fail(str(exc))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        engine.dispose()
    console.print(_summary_table(summaries))
    for s in summaries:
        if s.error:
            console.print(f"[yellow]{s.crm}:[/yellow] {s.error}", highlight=False)
        for notice in s.notices:
            console.print(f"[yellow]{s.crm}:[/yellow] {notice}", highlight=False)
        if s.quarantined or s.rejected:
            see = command_line("quarantine", "list", "--crm", s.crm, config=config)
            console.print(f"[yellow]{s.crm}:[/yellow] {s.quarantined + s.rejected} record(s) quarantined; see `{see}`", highlight=False)
    if any(s.status != "ok" for s in summaries):
        raise typer.Exit(EXIT_FAILED)
    if any(s.quarantined or s.rejected for s in summaries):
        raise typer.Exit(EXIT_QUARANTINED)


def _stop_on_signals(stop: threading.Event, console: Console) -> dict[signal.Signals, t.Any]:
    """First Ctrl-C/SIGTERM: finish the batch in flight and stop; a second one: stop at once.

    Stopping at once is safe too (the next run resumes from the outbox and the cursors).
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, _frame: t.Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        console.print("[yellow]stopping after the batch in flight (press Ctrl-C again to stop at once)[/yellow]")

    previous: dict[signal.Signals, t.Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.getsignal(sig)
        signal.signal(sig, handler)
    return previous


#: Attributes worth a glance in ``explain`` (a form's name over its id), in this order.
_GLANCE = ("form_name", "form", "title", "subject", "url")


def _attribute_summary(attributes: t.Mapping[str, t.Any]) -> str:
    """A few telling attributes of an activity, ``(form_name: Contact us, url: ...)``."""
    shown = [f"{k}: {attributes[k]}" for k in _GLANCE if attributes.get(k) not in (None, "")]
    if "form_name" in attributes:
        shown = [x for x in shown if not x.startswith("form: ")] if attributes.get("form") == attributes["form_name"] else shown
    return f" ({', '.join(shown[:3])})" if shown else ""


def _known(cfg: t.Any, crm: str | None) -> bool:
    try:
        cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]))
    return True


def _summary_table(summaries: t.Sequence[t.Any]) -> Table:
    """One column per CRM, one row per figure: readable in an 80-column terminal."""
    table = Table(title="Sync summary")
    table.add_column("", justify="left")
    for s in summaries:
        table.add_column(s.crm, justify="right")
    rows: list[tuple[str, list[str]]] = [("status", [])]
    figures = [
        ("pulled contacts", "pulled_contacts"), ("pulled activities", "pulled_activities"), ("rejected", "rejected"), ("skipped", "skipped"), ("retired", "retired"), ("scored", "scored"),
        ("changed", "changed"), ("written", "written"), ("failed", "failed"), ("quarantined", "quarantined"), ("actions", "actions"),
        ("API calls", "api_calls"), ("retries", "retries"), ("429s", "rate_limited"),
    ]
    rows += [(label, []) for label, _ in figures] + [("seconds", [])]
    for s in summaries:
        style = "green" if s.status == "ok" else "yellow" if s.status in ("partial", "stopped") else "red"
        rows[0][1].append(f"[{style}]{s.label}[/{style}]")
        for (_, cells), (_, attr) in zip(rows[1:], figures, strict=False):
            cells.append(f"{getattr(s, attr):,}")
        secs = (s.ended_at - s.started_at).total_seconds() if s.ended_at and s.started_at else 0.0
        rows[-1][1].append(f"{secs:.1f}")
    for label, cells in rows:
        table.add_row(label, *cells)
    return table


def status_command(config: ConfigOpt = None, crm: CrmOpt = None) -> None:
    """Last runs, cursors, pending writes, quarantine counts and the next scheduled run per CRM."""
    from connector.cli.status_view import print_status
    from connector.sync.admin import crm_status

    cfg = load_config_or_fail(config)
    engine = open_state_or_fail(cfg)
    console = Console()
    next_runs = _next_runs(cfg)
    names = [cfg.crm(crm).name] if crm and _known(cfg, crm) else [c.name for c in cfg.crms]
    try:
        for name in names:
            print_status(console, crm_status(engine, name), next_runs.get(name), config=config)
    finally:
        engine.dispose()


def _next_runs(cfg: t.Any) -> dict[str, dt.datetime | None]:
    """Next run per CRM from the scheduler's job store; empty when there is no scheduler yet."""
    from connector.sync.scheduler import next_run_times

    try:
        return next_run_times(cfg)
    except Exception:  # noqa: BLE001 - status must show even if the job store cannot be read
        return {}


def explain_command(
    contact_id: t.Annotated[str, typer.Argument(help="The contact's id in the CRM")],
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    model: t.Annotated[str | None, typer.Option("--model", help="Only this model")] = None,
    as_json: t.Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """A contact's scores with every reason, its stage history and the triggers that fired."""
    from connector.sync.admin import explain

    cfg = load_config_or_fail(config)
    _known(cfg, crm)
    name = cfg.crm(crm).name
    engine = open_state_or_fail(cfg)
    found = explain(engine, name, contact_id, model)
    engine.dispose()
    if found is None:
        fail(f"contact '{contact_id}' is not in the state store of CRM '{name}' (has it been synced?)")
    if as_json:
        import dataclasses as dc

        typer.echo(json.dumps(dc.asdict(found), default=str, indent=2))
        return
    console = Console()
    console.print(f"[bold]{found.contact_id}[/bold] {found.email or ''} (CRM {found.crm})", highlight=False)
    if not found.scores:
        console.print("not scored yet")
    for s in found.scores:
        dims = ", ".join(f"{k} {v:g}" for k, v in (s["dimensions"] or {}).items())
        head = f"[bold]{s['model']}[/bold]: score {s['score']:g} ({dims})"
        for key in ("grade", "matrix", "stage"):
            if s.get(key):
                head += f", {key} {s[key]}"
        console.print(head, highlight=False)
        if s.get("excluded"):
            console.print(f"  excluded: {s['excluded']}", highlight=False)
        table = Table(show_header=True, box=None, padding=(0, 2))
        for c in ("points", "dimension", "reason", "kind"):
            table.add_column(c, justify="right" if c == "points" else "left")
        for r in s["reasons"] or []:
            label = r.get("label", "")
            if r.get("count") and r["count"] > 1:
                label = f"{r['count']} x {label}"
            if r.get("detail"):
                label += f" ({r['detail']})"
            table.add_row(f"{r.get('points', 0):+g}", r.get("dimension", ""), label, r.get("kind", ""))
        console.print(table)
        console.print(f"  scored as of {_when(s['as_of'])}; next change (decay, windows, an adjustment expiring): {_when(s['changes_at']) if s['changes_at'] else 'none'}", highlight=False)
    if found.stage_history:
        console.print("[bold]Stage history[/bold]")
        for h in found.stage_history:
            why = f"  ({h['reason']})" if h.get("reason") else ""
            console.print(f"  {_when(h['at'])}  {h['model']}: {h['from_stage'] or '(none)'} -> {h['to_stage'] or '(none)'}{why}", highlight=False)
    if found.firings:
        console.print("[bold]Triggers fired[/bold]")
        for f in found.firings:
            acts = "; ".join(f"{a['type']} {a['status']}" + (f" ({a['last_error']})" if a.get("last_error") else "") for a in f["actions"])
            console.print(f"  {_when(f['fired_at'])}  {f['model']}: {f['trigger']} ({f['watched']} = {f['value']}) -> {acts}", highlight=False)
    if found.adjustments:
        console.print("[bold]Manual adjustments[/bold]")
        now = dt.datetime.now(dt.UTC)
        for a in found.adjustments:
            state = "expired" if a["expires_at"] and a["expires_at"] <= now else (f"until {_when(a['expires_at'])}" if a["expires_at"] else "no expiry")
            console.print(f"  {_when(a['at'])}  {a['model']}: {a['points']:+g} {a['dimension']} by {a['by']}: {a['reason']} ({state})", highlight=False)
    if found.activities:
        console.print("[bold]Recent activity[/bold]")
        for a in found.activities:
            console.print(f"  {_when(a['occurred_at'])}  {a['type']}{_attribute_summary(a['attributes'] or {})}", highlight=False)
    if found.pending:
        console.print(f"[bold]Waiting to be written:[/bold] {json.dumps(found.pending, default=str)}", highlight=False)


def quarantine_list_command(
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    stream: t.Annotated[str | None, typer.Option("--stream", help="contacts, activities, scoring, outbox or actions")] = None,
    include_retried: t.Annotated[bool, typer.Option("--all", help="Include entries already retried")] = False,
    limit: t.Annotated[int, typer.Option("--limit", help="At most this many entries")] = 100,
    raw: t.Annotated[bool, typer.Option("--raw", help="Show each record's raw JSON")] = False,
) -> None:
    """List quarantined records, newest first, with the reason."""
    from connector.sync.admin import quarantine_list

    cfg = load_config_or_fail(config)
    name = cfg.crm(crm).name if crm and _known(cfg, crm) else None
    engine = open_state_or_fail(cfg)
    rows = quarantine_list(engine, name, stream=stream, include_retried=include_retried, limit=limit)
    engine.dispose()
    console = Console()
    if not rows:
        console.print("nothing quarantined")
        return
    print_quarantine(console, rows)
    if raw:
        for r in rows:
            console.print(f"{r['id']}: {json.dumps(r['raw'], default=str)}", highlight=False)


def quarantine_retry_command(
    ids: t.Annotated[list[int] | None, typer.Argument(help="Quarantine entry ids (default: every open entry)")] = None,
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    stream: t.Annotated[str | None, typer.Option("--stream", help="Only entries of this stream")] = None,
) -> None:
    """Put quarantined records back for the next run (writes, actions, scoring)."""
    from connector.sync.admin import quarantine_retry

    cfg = load_config_or_fail(config)
    name = cfg.crm(crm).name if crm and _known(cfg, crm) else None
    engine = open_state_or_fail(cfg)
    counts = quarantine_retry(engine, name, ids=ids or (), stream=stream)
    engine.dispose()
    if not counts:
        typer.echo("nothing to retry")
        return
    for s, n in sorted(counts.items()):
        typer.echo(f"{s}: {n} put back for the next run")
    if counts.keys() & {"contacts", "activities"}:
        typer.echo("records the adapter could not read are pulled again by `connector sync --resync` (fix the mapping first)")


def register(app: typer.Typer) -> None:
    """Add the sync engine's commands to ``app``."""
    app.command("sync")(sync_command)
    app.command("status")(status_command)
    app.command("explain")(explain_command)
    quarantine_app.command("list")(quarantine_list_command)
    quarantine_app.command("retry")(quarantine_retry_command)
    app.add_typer(quarantine_app, name="quarantine")
