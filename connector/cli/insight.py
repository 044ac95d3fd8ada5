"""CLI of the RevOps admin's tools: ``adjust``, ``history`` and ``whatif``.

Thin: parse, build, call :mod:`connector.sync.adjustments`, :mod:`connector.sync.history` and
:mod:`connector.sync.whatif`, format. Expected failures print one plain line and exit non-zero.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import typing as t

import typer
from rich.console import Console
from rich.table import Table

from connector.cli.common import fail, load_config_or_fail, open_state_or_fail

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from connector.scoring.model import ScoringModel
    from connector.sync.config import ConnectorConfig, CRMConfig

__all__ = ["register"]

ConfigOpt = t.Annotated[str | None, typer.Option("--config", "-c", help="connector.yaml (default: $CONNECTOR_CONFIG or ./connector.yaml)")]
CrmOpt = t.Annotated[str | None, typer.Option("--crm", help="Which configured CRM (default: the only one)")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _crm(cfg: ConnectorConfig, crm: str | None) -> CRMConfig:
    try:
        return cfg.crm(crm)
    except KeyError as exc:
        fail(str(exc.args[0]))


def _models(entry: CRMConfig) -> list[ScoringModel]:
    from connector.scoring.loader import load_models
    from connector.yamlfile import YamlFileError

    try:
        return load_models(entry.models)
    except YamlFileError as exc:
        fail(f"the CRM's models are not valid:\n{exc}")


def _contact(engine: sa.Engine, crm: str, ref: str) -> str:
    from connector.sync.adjustments import resolve

    found = resolve(engine, crm, [ref]).get(ref.strip())
    if found is None:
        fail(f"contact '{ref}' is not in the state store of CRM '{crm}' (an id or an e-mail address; has it been synced?)")
    return found


# -- adjust ---------------------------------------------------------------------------------------


def _user() -> str:
    """Who gives the points when ``--by`` is left out: the logged-in user."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        fail("cannot tell who you are: pass --by NAME", 2)


def adjust_command(
    contact: t.Annotated[str | None, typer.Argument(help="The contact's id in the CRM, or its e-mail address")] = None,
    model: t.Annotated[str | None, typer.Option("--model", help="The model whose dimension is adjusted")] = None,
    dimension: t.Annotated[str | None, typer.Option("--dimension", help="The dimension to add points to (or take from)")] = None,
    points: t.Annotated[float | None, typer.Option("--points", help="Points to add (negative: take away)")] = None,
    reason: t.Annotated[str | None, typer.Option("--reason", help="Why (shown in explain, history and the reasons)")] = None,
    by: t.Annotated[str | None, typer.Option("--by", help="Who gives the points (default: your user name)")] = None,
    expires: t.Annotated[str | None, typer.Option("--expires", help="ISO 8601 instant it stops counting (default: never)")] = None,
    csv_file: t.Annotated[str | None, typer.Option("--csv", help="Bulk: a CSV/JSONL file with columns contact, model, dimension, points, reason[, by, expires]")] = None,
    where: t.Annotated[str | None, typer.Option("--where", help="Segment: every contact matching this condition, e.g. '{property: industry, op: eq, value: Software}'")] = None,
    dry_run: t.Annotated[bool, typer.Option("--dry-run", help="List who would be adjusted; record nothing")] = False,
    withdraw: t.Annotated[list[int] | None, typer.Option("--withdraw", help="End these adjustments now (ids from `connector history --json` or explain --json)")] = None,
    config: ConfigOpt = None,
    crm: CrmOpt = None,
) -> None:
    """Give or take points by hand (one contact, a CSV, or a segment); the next sync counts them."""
    from connector.sync import adjustments

    forms = [f for f, given in (("CONTACT", contact), ("--csv", csv_file), ("--where", where), ("--withdraw", withdraw)) if given]
    if len(forms) != 1:
        fail("give exactly one of CONTACT, --csv FILE, --where CONDITION or --withdraw ID", 2)
    cfg = load_config_or_fail(config)
    entry = _crm(cfg, crm)
    if withdraw:
        engine = open_state_or_fail(cfg)
        ended = adjustments.withdraw(engine, entry.name, withdraw, _now())
        engine.dispose()
        unknown = sorted(set(withdraw) - set(ended))
        if ended:
            typer.echo(f"withdrew adjustment(s) {', '.join(map(str, ended))}; the next `connector sync --crm {entry.name}` rescores their contacts")
        if unknown:
            fail(f"no live adjustment of CRM '{entry.name}' with id {', '.join(map(str, unknown))} (unknown, or already expired)")
        return
    models = _models(entry)
    engine = open_state_or_fail(cfg)
    now = _now()
    author = by or _user()
    try:
        if csv_file:
            planned, problems = adjustments.read_csv(csv_file, engine, entry.name, models, default_by=author, now=now)
            if problems:
                for problem in problems[:50]:
                    typer.echo(problem, err=True)
                more = f" (first 50 of {len(problems)} shown)" if len(problems) > 50 else ""
                fail(f"{len(problems)} bad row(s){more}: nothing recorded; fix the file and run again")
        else:
            missing = [o for o, v in (("--model", model), ("--dimension", dimension), ("--points", points), ("--reason", reason)) if v is None]
            if missing:
                fail(f"missing {', '.join(missing)}", 2)
            if contact:
                targets = [_contact(engine, entry.name, contact)]
                source = "cli"
            else:
                targets = [cid for cid, _ in adjustments.segment(engine, entry.name, _condition(t.cast(str, where)), _placeholders(models, t.cast(str, model)))]
                source = f"segment: {where}"
            expiry = adjustments.parse_expiry(expires)
            planned = [
                adjustments.plan(
                    models, contact_id=cid, model=t.cast(str, model), dimension=t.cast(str, dimension), points=t.cast(float, points),
                    reason=t.cast(str, reason), by=author, expires_at=expiry, source=source, now=now,
                )
                for cid in targets
            ]
    except ValueError as exc:
        fail(str(exc))
    if not planned:
        typer.echo("no contact matches: nothing to record")
        return
    if dry_run:
        table = Table(title=f"Would adjust {len(planned)} contact(s) (dry run: nothing recorded)")
        for c in ("contact", "model", "dimension", "points", "reason", "by", "expires"):
            table.add_column(c, justify="right" if c == "points" else "left")
        for item in planned:
            until = item.expires_at.isoformat() if item.expires_at else "never"
            table.add_row(item.contact_id, item.model, item.dimension, f"{item.points:+g}", item.reason, item.by, until)
        Console().print(table)
        return
    ids = adjustments.add(engine, entry.name, planned, now)
    engine.dispose()
    typer.echo(f"recorded {len(ids)} adjustment(s) for {len({item.contact_id for item in planned})} contact(s); the next `connector sync --crm {entry.name}` counts them")


def _condition(text: str) -> t.Any:
    """A ``--where`` condition in the models' syntax (YAML or JSON), validated like a model's ``when``."""
    import pydantic
    import yaml

    from connector.scoring.model import When

    try:
        data = yaml.safe_load(text)
        return pydantic.TypeAdapter(When).validate_python(data)
    except (yaml.YAMLError, pydantic.ValidationError) as exc:
        raise ValueError(f"--where: not a condition ({str(exc).splitlines()[0]}); e.g. '{{property: industry, op: eq, value: Software}}'") from None


def _placeholders(models: t.Sequence[ScoringModel], name: str) -> list[str]:
    from connector.sync.adjustments import model_named

    return list(model_named(models, name).placeholders)


# -- history --------------------------------------------------------------------------------------


def history_command(
    contact: t.Annotated[str, typer.Argument(help="The contact's id in the CRM, or its e-mail address")],
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    model: t.Annotated[str | None, typer.Option("--model", help="Only this model")] = None,
    as_json: t.Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table")] = False,
) -> None:
    """Every stage change, trigger firing and manual adjustment of a contact, with time, old/new value and reason."""
    from connector.sync.history import contact_history

    cfg = load_config_or_fail(config)
    entry = _crm(cfg, crm)
    models = _models(entry)
    engine = open_state_or_fail(cfg)
    cid = _contact(engine, entry.name, contact)
    events = contact_history(engine, entry.name, cid, models, now=_now(), model=model)
    engine.dispose()
    if as_json:
        for e in events:
            typer.echo(json.dumps(e.to_dict(), default=str))
        return
    if not events:
        typer.echo(f"{cid}: no stage change, trigger firing or adjustment recorded yet")
        return
    table = Table(title=f"History of {cid} (CRM {entry.name})")
    for c in ("when (UTC)", "model", "what", "subject", "old", "new", "reason", "detail"):
        table.add_column(c, overflow="fold")
    for e in events:
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.model, e.kind, e.subject, e.old or "-", e.new or "-", e.reason, e.detail or "")
    Console(width=200).print(table)


# -- whatif ---------------------------------------------------------------------------------------


def whatif_command(
    model: t.Annotated[str, typer.Option("--model", help="The draft model file (YAML)")],
    against: t.Annotated[str | None, typer.Option("--against", help="The current model file (default: the CRM's configured model of the same name)")] = None,
    config: ConfigOpt = None,
    crm: CrmOpt = None,
    as_of: t.Annotated[str | None, typer.Option("--as-of", help="Score as of this ISO 8601 instant (default: now)")] = None,
    top: t.Annotated[int, typer.Option("--top", help="How many biggest movers to list")] = 10,
    converted: t.Annotated[str | None, typer.Option("--converted", help="Outcome as a property condition, e.g. '{property: lifecyclestage, op: eq, value: customer}' (default: the outcomes pulled from the CRM, if any)")] = None,
    as_json: t.Annotated[bool, typer.Option("--json", help="Print JSON instead of tables")] = False,
) -> None:
    """Rescore the stored contacts with a draft model next to the current one; writes nothing."""
    import pathlib

    from connector.scoring.loader import load_model
    from connector.sync import whatif
    from connector.yamlfile import YamlFileError

    cfg = load_config_or_fail(config)
    entry = _crm(cfg, crm)
    when = _now()
    if as_of:
        from connector.scoring.readers import parse_datetime

        try:
            when = parse_datetime(as_of, "--as-of")
        except ValueError as exc:
            fail(str(exc), 2)
    try:
        outcome = _condition(converted) if converted is not None else None
    except ValueError as exc:
        fail(str(exc), 2)
    try:
        if against is None:
            name = load_model(model).model
            configured = {m.model: path for m, path in zip(_models(entry), entry.models, strict=True)}
            if name not in configured:
                fail(f"CRM '{entry.name}' has no model named '{name}' (its models: {', '.join(configured)}): pass --against CURRENT.yaml", 2)
            against = str(configured[name])
        engine = open_state_or_fail(cfg)
        found = whatif.compare_files(engine, entry.name, against, model, as_of=when, converted=outcome, top=top)
    except YamlFileError as exc:
        fail(f"a model is not valid:\n{exc}")
    engine.dispose()
    if not found.contacts:
        fail(f"the state store has no contact of CRM '{entry.name}': run `connector sync --crm {entry.name}` first")
    if converted is not None:
        found.outcome_source = f"--converted {converted}"
    if as_json:
        typer.echo(json.dumps(found.to_dict(), default=str, indent=2))
        return
    _print_whatif(found, pathlib.Path(against).name, pathlib.Path(model).name)


def _print_whatif(found: t.Any, current_file: str, draft_file: str) -> None:
    console = Console(width=200)
    console.print(
        f"[bold]What-if[/bold] {found.contacts} stored contacts as of {found.as_of.isoformat()}: current {found.current_model} ({current_file}) "
        f"vs draft {found.draft_model} ({draft_file}); nothing written",
        highlight=False,
    )
    table = Table(title="Contacts per stage")
    for c in ("stage", "current", "draft", "change"):
        table.add_column(c, justify="left" if c == "stage" else "right")
    for row in found.stages:
        table.add_row(row.stage, str(row.current), str(row.draft), f"{row.draft - row.current:+d}")
    console.print(table)
    for what, rows in (("stage", found.crossings), ("grade", found.grades)):
        if not rows:
            console.print(f"nobody changes {what}")
            continue
        table = Table(title=f"Who changes {what} (current -> draft)")
        for c in ("current", "draft", "contacts", "e.g."):
            table.add_column(c, justify="right" if c == "contacts" else "left")
        for x in rows:
            table.add_row(x.current, x.draft, str(x.count), ", ".join(x.examples))
        console.print(table)
    if found.triggers:
        table = Table(title="Triggers firing at this scoring")
        for c in ("trigger", "current", "draft", "only under draft (e.g.)", "only under current (e.g.)"):
            table.add_column(c, justify="right" if c in ("current", "draft") else "left")
        for trig in found.triggers:
            table.add_row(trig.trigger, str(trig.current), str(trig.draft), ", ".join(trig.only_draft) or "-", ", ".join(trig.only_current) or "-")
        console.print(table)
    if found.movers:
        table = Table(title="Biggest movers")
        for c in ("contact", "e-mail", "current", "draft", "change", "what moved them (draft - current)"):
            table.add_column(c, justify="right" if c in ("current", "draft", "change") else "left", overflow="fold")
        for m in found.movers:
            why = "; ".join(f"{p:+g} {what}" + (f" ({dim})" if dim else "") if p else what for what, dim, p in m.because[:4])
            table.add_row(m.contact_id, m.email or "", f"{m.current:g}", f"{m.draft:g}", f"{m.delta:+g}", why)
        console.print(table)
    else:
        console.print("no total changes")
    if found.bands_current is not None and found.bands_draft is not None:
        table = Table(title=f"Conversion by score band (fifths of contacts by score; outcomes: {found.outcome_source})")
        for c in ("band", "current: scores", "current: converted", "draft: scores", "draft: converted"):
            table.add_column(c, justify="right")
        for a, b in zip(found.bands_current, found.bands_draft, strict=True):
            table.add_row(
                f"{a.band} ({'top' if a.band == 1 else 'next'} 20%)" if a.band < 5 else "5 (bottom 20%)",
                f"{a.min_score:g}-{a.max_score:g}", f"{a.converted}/{a.contacts} = {a.rate:.1%}",
                f"{b.min_score:g}-{b.max_score:g}", f"{b.converted}/{b.contacts} = {b.rate:.1%}",
            )
        console.print(table)
    else:
        console.print("conversion by score band: no outcomes known (pull outcomes from the CRM, or pass --converted CONDITION)")
    console.print(f"timings: {found.seconds}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``adjust``, ``history`` and ``whatif`` to ``app``."""
    app.command("adjust")(adjust_command)
    app.command("history")(history_command)
    app.command("whatif")(whatif_command)
