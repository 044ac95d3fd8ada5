"""CLI commands ``connector score`` and ``connector validate``.

Thin on purpose: read files with :mod:`connector.scoring.readers`, score with
:class:`connector.scoring.engine.Scorer`, write JSON Lines (and, with ``--state``, the state file of
:mod:`connector.scoring.statefile`). Bad input lines are reported with
file:line and skipped, so one broken export line never stops a run (``--strict`` stops it).
"""

from __future__ import annotations

import collections
import dataclasses as dc
import datetime as dt
import json
import pathlib
import sys
import typing as t

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from connector.cli.common import parse_as_of
from connector.scoring import readers, statefile
from connector.scoring.engine import Scorer
from connector.scoring.identity import resolve
from connector.scoring.loader import load_model, load_models, load_predictors
from connector.scoring.records import Activity, Adjustment
from connector.scoring.result import ScoreResult
from connector.yamlfile import FileProblem, YamlFileError, load_yaml

__all__ = ["MAX_LISTED", "PROGRESS_FROM", "VALIDATORS", "register", "score_command", "validate_command"]

#: Show a progress bar from this many contacts on (small runs finish before it would draw).
PROGRESS_FROM = 2000
#: Input problems listed one by one; the rest are counted.
MAX_LISTED = 50

R = t.TypeVar("R")


def _validate_mapping(path: pathlib.Path) -> str:
    """A CRM mapping (top-level ``crm:``), checked by its adapter's loader."""
    from connector.adapters import load_mapping

    load_mapping(path)
    return "CRM mapping"


def _validate_config(path: pathlib.Path) -> str:
    """A ``connector.yaml`` (top-level ``crms:``), with every model and mapping it names."""
    from connector.sync.config import validate_config

    return validate_config(path)


def _validate_model(path: pathlib.Path) -> str:
    model = load_model(path)
    load_predictors(model, path)
    return f"scoring model '{model.model}': {len(model.dimensions)} dimensions, {len(model.rules)} rules"


#: Which loader checks a file, chosen by its top-level key: a scoring model (``model``), a CRM
#: mapping (``crm``, dispatched on to the CRM's own loader) or a connector config (``crms``).
#: Each loader raises :class:`YamlFileError` listing every problem with file, line and key.
VALIDATORS: dict[str, t.Callable[[pathlib.Path], str]] = {
    "model": _validate_model,
    "crm": _validate_mapping,
    "crms": _validate_config,
}


def _expand(paths: t.Sequence[pathlib.Path]) -> list[pathlib.Path]:
    """Directories stand for the YAML files inside them (recursively)."""
    out: list[pathlib.Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in (".yaml", ".yml"))
        else:
            out.append(path)
    return out


def validate_command(files: list[pathlib.Path] = typer.Argument(..., help="YAML files (or directories) to check: scoring models, CRM mappings, connector configs.")) -> None:
    """Check model/mapping/config files; list every problem as file:line: key: message."""
    console = Console(highlight=False)
    problems: list[FileProblem] = []
    model_files: list[pathlib.Path] = []
    paths = _expand(files)
    if not paths:
        console.print("no YAML files found")
        raise typer.Exit(2)
    offline = False  # a mapping was checked without its CRM
    for path in paths:
        try:
            data, _ = load_yaml(path)
            kind = next((k for k in VALIDATORS if isinstance(data, dict) and k in data), None)
            if kind is None:
                raise YamlFileError([FileProblem(str(path), 1, "", f"unknown kind of file: expected a top-level key {', '.join(repr(k) for k in VALIDATORS)}")])
            offline = offline or kind in ("crm", "crms")
            what = VALIDATORS[kind](path)
            if kind == "model":
                model_files.append(path)
            console.print(f"[green]ok[/green] {path}: {what}", soft_wrap=True)
        except YamlFileError as exc:
            problems.extend(exc.problems)
    if len(model_files) > 1:
        try:
            load_models(model_files)
        except YamlFileError as exc:
            problems.extend(exc.problems)
    for problem in problems:
        console.print(f"[red]error[/red] {problem}", soft_wrap=True)
    if offline:
        console.print(
            "[yellow]note[/yellow] the CRM was not consulted: validate reads files only, so a mapped property or field the CRM "
            "does not have passes here; `connector check --crm NAME` compares the mapping with the CRM's real properties",
            soft_wrap=True,
        )
    if problems:
        console.print(f"{len(problems)} problem(s) in {len({p.file for p in problems})} file(s)")
        raise typer.Exit(1)


@dc.dataclass
class _Tally:
    """Running figures per model for the summary table (results are not kept in memory)."""

    contacts: int = 0
    score_sum: float = 0.0
    excluded: int = 0
    triggers: int = 0
    grades: collections.Counter[str] = dc.field(default_factory=collections.Counter)
    stages: collections.Counter[str] = dc.field(default_factory=collections.Counter)

    def add(self, result: ScoreResult) -> None:
        self.contacts += 1
        self.score_sum += result.score
        self.excluded += 1 if result.excluded else 0
        self.triggers += len(result.triggers)
        if result.grade:
            self.grades[result.grade] += 1
        if result.stage:
            self.stages[result.stage] += 1


def _summary_table(tallies: t.Mapping[str, _Tally]) -> Table:
    """Per model: how many contacts, mean score, grade and stage counts, exclusions, triggers."""
    table = Table(title="Scoring summary")
    table.add_column("model", overflow="fold")
    table.add_column("contacts", justify="right")
    table.add_column("mean", justify="right")
    table.add_column("grades", no_wrap=True)
    table.add_column("stages", no_wrap=True)
    table.add_column("excluded", justify="right")
    table.add_column("triggers", justify="right")
    for name, tally in tallies.items():
        table.add_row(
            name,
            str(tally.contacts),
            f"{tally.score_sum / tally.contacts if tally.contacts else 0.0:.1f}",
            "\n".join(f"{k} {v}" for k, v in sorted(tally.grades.items())) or "-",
            "\n".join(f"{k} {v}" for k, v in tally.stages.most_common()) or "-",
            str(tally.excluded),
            str(tally.triggers),
        )
    return table


def score_command(
    model: list[pathlib.Path] = typer.Option(..., "--model", help="Scoring model YAML; repeat for several models."),
    contacts: pathlib.Path = typer.Option(..., "--contacts", help="Contacts, JSON Lines or CSV."),
    output: pathlib.Path = typer.Option(..., "--output", help="Where to write one JSON object per contact and model (JSON Lines; '-' for stdout)."),
    activities: pathlib.Path | None = typer.Option(None, "--activities", help="Activities, JSON Lines or CSV (without: fit-only scoring, no activity counts)."),
    adjustments: pathlib.Path | None = typer.Option(None, "--adjustments", help="Manual adjustments, JSON Lines or CSV."),
    identities: pathlib.Path | None = typer.Option(None, "--identities", help="anonymous_id -> contact_id links, JSON Lines or CSV."),
    state: pathlib.Path | None = typer.Option(
        None, "--state", help="State file (JSON Lines) carrying stages and trigger arming from run to run: read if it exists, then written back."
    ),
    id_column: str | None = typer.Option(None, "--id-column", help="Name of the contact id column in a contacts CSV (default: id)."),
    placeholder: list[str] | None = typer.Option(None, "--placeholder", help="A value meaning 'not answered' (repeatable; default: Select)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Score as of this ISO 8601 instant (default: now; naive means UTC)."),
    strict: bool = typer.Option(False, "--strict", help="Stop with exit code 1 on the first bad input line instead of skipping it."),
) -> None:
    """Score contacts with one or more models and write the results as JSON Lines."""
    to_stdout = str(output) == "-"
    console = Console(stderr=to_stdout, highlight=False)
    when = parse_as_of(as_of)
    try:
        scorers = [Scorer(m, load_predictors(m, p)) for m, p in zip(load_models(model), model, strict=False)]
    except YamlFileError as exc:
        for problem in exc.problems:
            console.print(f"[red]error[/red] {problem}", soft_wrap=True)
        raise typer.Exit(1) from None
    except ValueError as exc:
        console.print(f"[red]error[/red] {exc}", soft_wrap=True)
        raise typer.Exit(1) from None

    errors: list[readers.RecordError] = []
    placeholders = frozenset(placeholder) if placeholder else readers.DEFAULT_PLACEHOLDERS

    def read_all(path: pathlib.Path, records: t.Iterable[R]) -> list[R]:
        """Every good record of one file; a file with problems and no good record stops the run."""
        before = len(errors)
        try:
            out = list(records)
        except readers.RecordError as exc:  # --strict: the first bad line stops everything
            console.print(f"[red]error[/red] {exc}", soft_wrap=True)
            raise typer.Exit(1) from None
        if not out and len(errors) > before:
            _print_problems(console, errors)
            console.print(f"[red]error[/red] nothing could be read from {path}")
            raise typer.Exit(1)
        return out

    on_error = None if strict else errors.append
    contact_list = read_all(contacts, readers.read_contacts(contacts, id_column=id_column, placeholders=placeholders, on_error=on_error))
    if not contact_list:
        console.print(f"[red]error[/red] no contact in {contacts}")
        raise typer.Exit(1)
    act_list = read_all(activities, readers.read_activities(activities, placeholders=placeholders, on_error=on_error)) if activities else []
    adj_list = read_all(adjustments, readers.read_adjustments(adjustments, on_error=on_error)) if adjustments else []
    links = read_all(identities, readers.read_identities(identities, on_error=on_error)) if identities else []
    states = _read_state(console, state, [s.model.model for s in scorers], {c.id for c in contact_list}, when) if state else {}

    known_dims = {d for s in scorers for d in s.model.dimensions}
    for adj in adj_list:
        if adj.dimension not in known_dims:
            errors.append(readers.RecordError(str(adjustments), None, f"adjustment for contact {adj.contact_id!r} names dimension {adj.dimension!r}, which no model has (known: {', '.join(sorted(known_dims))}); not applied"))
    by_contact: dict[str, list[Activity]] = collections.defaultdict(list)
    for act in resolve(act_list, links):
        by_contact[t.cast(str, act.contact_id)].append(act)
    adj_by_contact: dict[str, list[Adjustment]] = collections.defaultdict(list)
    for adj in adj_list:
        adj_by_contact[adj.contact_id].append(adj)

    tallies = {s.model.model: _Tally() for s in scorers}
    try:
        sink = sys.stdout if to_stdout else output.open("w", encoding="utf-8")
    except OSError as exc:
        console.print(f"[red]error[/red] cannot write {output}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    try:
        with Progress(
            TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True, disable=len(contact_list) < PROGRESS_FROM,
        ) as progress:
            task = progress.add_task("scoring", total=len(contact_list))
            for contact in contact_list:
                acts, adjs = by_contact.get(contact.id, []), adj_by_contact.get(contact.id, [])
                for scorer in scorers:
                    key = (scorer.model.model, contact.id)
                    previous = states.get(key)
                    result = scorer.score(contact, acts, adjs, when, previous.state if previous else None)
                    if state is not None:
                        states[key] = statefile.Entry(result.state, result.as_of)
                    tallies[scorer.model.model].add(result)
                    sink.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
                progress.advance(task)
    finally:
        if not to_stdout:
            sink.close()

    console.print(_summary_table(tallies))
    if not to_stdout:
        console.print(f"wrote {sum(x.contacts for x in tallies.values())} result(s) to {output}")
    if state is not None:
        try:
            statefile.write_states(state, states)
        except OSError as exc:
            console.print(f"[red]error[/red] cannot write the state file {state}: {exc.strerror or exc}")
            raise typer.Exit(1) from None
        console.print(f"state of {len(states)} contact(s) and model(s) saved to {state}")
    _print_problems(console, errors)


def _read_state(console: Console, path: pathlib.Path, models: t.Collection[str], contact_ids: t.Collection[str], as_of: dt.datetime) -> dict[statefile.Key, statefile.Entry]:
    """The state file's entries; any problem in it, or a state newer than ``as_of``, stops the run.

    A bad line is not skipped as an input line would be: the file is written back after the run,
    and skipping would silently reset that contact's stage and triggers.
    """
    entries, problems = statefile.read_states(path)
    ahead = [(key, e) for key, e in entries.items() if e.as_of > as_of and key[0] in models and key[1] in contact_ids]
    if ahead:
        (model, cid), entry = ahead[0]
        problems.append(readers.RecordError(
            str(path), None,
            f"{len(ahead)} state(s) were written by a later scoring than --as-of {as_of.isoformat()} (e.g. contact {cid!r}, model {model!r}, "
            f"as of {entry.as_of.isoformat()}); score as of that instant or later, or start another state file",
        ))  # fmt: skip
    if problems:
        for problem in problems[:MAX_LISTED]:
            console.print(f"[red]error[/red] {problem}", soft_wrap=True)
        console.print(f"[red]error[/red] the state file {path} cannot be used as it is; nothing was scored (fix the lines above, or start another state file)")
        raise typer.Exit(1)
    return entries


def _print_problems(console: Console, errors: t.Sequence[readers.RecordError]) -> None:
    """List skipped input problems, the first :data:`MAX_LISTED` of them, then a count."""
    if not errors:
        return
    console.print(f"[yellow]{len(errors)} input problem(s), skipped:[/yellow]")
    for error in errors[:MAX_LISTED]:
        console.print(f"  {error}", soft_wrap=True)
    if len(errors) > MAX_LISTED:
        console.print(f"  ... and {len(errors) - MAX_LISTED} more")


def register(app: typer.Typer) -> None:
    """Add ``score`` and ``validate`` to the ``connector`` command line."""
    app.command("score")(score_command)
    app.command("validate")(validate_command)
