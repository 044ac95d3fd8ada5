"""CLI: ``connector learn --crm NAME`` and ``connector models list|promote``: models learned from a CRM's outcomes.

Thin: the learning, the drafts and the promotion are :mod:`connector.sync.modelversions`'.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import typer

from connector.cli.common import fail, load_config_or_fail, open_state_or_fail

__all__ = ["learn_crm", "register"]

models_app = typer.Typer(help="Models learned from a CRM's outcomes: drafts, the live one, promotion.", no_args_is_help=True)

ConfigOpt = t.Annotated[str | None, typer.Option("--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG or ./connector.yaml)")]
CrmOpt = t.Annotated[str | None, typer.Option("--crm", help="Which configured CRM (default: the only one)")]
KINDS = ("customer", "closed_won", "converted")


def _crm(config: str | None, crm: str | None) -> t.Any:
    cfg = load_config_or_fail(config, code=2)
    try:
        return cfg, cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]), code=2)


def learn_crm(config: str | None, crm: str, label: str | None) -> None:
    """``connector learn --crm``: learn a draft from the stored outcomes, print how it compares."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from connector.learn import DataError
    from connector.sync.modelversions import NotConfigured, learn_from_crm

    cfg, entry = _crm(config, crm)
    if entry.learn is None:
        fail(f"CRM '{entry.name}' has no 'learn' section in {config or 'connector.yaml'}: add `learn: {{path: models/learned.yaml}}` (see docs/learning.md)", code=2)
    if label is not None:
        kinds = [k.strip() for k in label.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            fail(f"--label {', '.join(unknown)}: with --crm, the label is outcome kinds: {', '.join(KINDS)}", code=2)
        entry = entry.model_copy(update={"learn": entry.learn.model_copy(update={"label": kinds})})
    engine = open_state_or_fail(cfg)
    try:
        with Progress(TextColumn("cross-validating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("folds", total=None)
            result = learn_from_crm(engine, entry, now=dt.datetime.now(dt.UTC), on_fold=lambda done, total: progress.update(task, completed=done, total=total))
    except (DataError, NotConfigured) as exc:
        fail(str(exc), code=2)
    finally:
        engine.dispose()
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for excluded in result.excluded:
        typer.echo(f"left out: {excluded}", err=True)
    typer.echo(f"learned {result.name} from {result.contacts:,} contacts ({result.converted:,} converted): draft {result.draft}")
    current = f"{result.current_auc:.3f} ({result.current_model})" if result.current_auc is not None else "n/a"
    typer.echo(f"held-out ROC AUC: draft {result.draft_auc:.3f}, current {current}")
    if result.promoted:
        typer.echo(f"promoted: {result.name} is live at {entry.learn.path}")
    else:
        typer.echo(f"not live yet: connector models promote {result.name}")


@models_app.command("list")
def list_command(config: ConfigOpt = None, crm: CrmOpt = None) -> None:
    """Learned models of the CRM, newest first, with their held-out figures."""
    from rich.console import Console
    from rich.table import Table

    from connector.sync.modelversions import list_versions

    cfg, entry = _crm(config, crm)
    engine = open_state_or_fail(cfg)
    try:
        rows = list_versions(engine, entry.name)
    finally:
        engine.dispose()
    table = Table(title=f"Learned models of {entry.name}")
    for col in ("name", "status", "created", "contacts", "converted", "draft AUC", "current AUC"):
        table.add_column(col, no_wrap=col == "name")
    for r in rows:
        m = r["metrics"] or {}
        cur = "" if m.get("current_roc_auc") is None else f"{m['current_roc_auc']:.3f} ({m.get('current_model')})"
        table.add_row(r["name"], r["status"], r["created_at"].strftime("%Y-%m-%d %H:%M"), str(m.get("contacts", "")), str(m.get("converted", "")), f"{m.get('draft_roc_auc', 0):.3f}", cur)
    Console().print(table)
    typer.echo("ROC AUC on held-out outcomes: the draft's from nested cross-validation, the current model's on the same contacts (docs/learning.md)")
    if not rows:
        typer.echo(f"no learned model yet: connector learn --crm {entry.name}")


@models_app.command("promote")
def promote_command(name: str = typer.Argument(..., help="The draft's name (see `connector models list`)."), config: ConfigOpt = None, crm: CrmOpt = None) -> None:
    """Make a learned draft the live model (its files replace the learn.path model; the old ones are kept as .bak)."""
    from connector.sync.modelversions import NotConfigured, promote

    cfg, entry = _crm(config, crm)
    engine = open_state_or_fail(cfg)
    try:
        live = promote(engine, entry, name, now=dt.datetime.now(dt.UTC))
    except NotConfigured as exc:
        fail(str(exc), code=2)
    finally:
        engine.dispose()
    typer.echo(f"{name} is live: {live}")
    if live not in entry.models:
        typer.echo(f"note: {live} is not among the models of '{entry.name}' in connector.yaml: add it there to score with it", err=True)
    else:
        typer.echo("the next sync scores with it (restart `connector run` if it is running)")


def register(app: typer.Typer) -> None:
    """Add ``models`` to the app."""
    app.add_typer(models_app, name="models")


