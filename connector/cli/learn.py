"""CLI: ``connector learn`` -- learn a points model and a probability score from labelled contacts.

Thin: parses options, checks that the ``learn`` extra is installed, calls
:func:`connector.learn.pipeline.learn`, writes the model and the report, prints the figures.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import pathlib
import typing as t

import typer

__all__ = ["register"]

INSTALL_HINT = "connector learn needs scikit-learn and matplotlib: pip install 'connector[learn]' (or: pip install scikit-learn matplotlib)"


def _split(values: t.Sequence[str] | None) -> tuple[str, ...]:
    """Accept both ``--exclude A --exclude B`` and ``--exclude A,B``."""
    out: list[str] = []
    for value in values or ():
        out += [v.strip() for v in value.split(",") if v.strip()]
    return tuple(out)


def learn_command(
    contacts: pathlib.Path | None = typer.Option(None, "--contacts", help="Labelled contacts: .csv or .jsonl, one contact per row."),
    label: str | None = typer.Option(None, "--label", help="Outcome column: 1/0, yes/no or true/false; blank = unknown (skipped). With --crm: outcome kinds counted as converted (customer, closed_won, converted; comma-separated)."),
    output: pathlib.Path | None = typer.Option(None, "--output", help="Scoring-model YAML to write; the probability model goes beside it as <name>.probability.json."),
    crm: str | None = typer.Option(None, "--crm", help="Learn from this configured CRM's stored contacts, activity and outcomes instead of a file (writes a draft; see `connector models`)."),
    config: str | None = typer.Option(None, "--config", "-c", help="connector.yaml, with --crm (default: $CONNECTOR_CONFIG or ./connector.yaml)."),
    activities: pathlib.Path | None = typer.Option(None, "--activities", help="Activities (.csv/.jsonl: contact_id, type, occurred_at) for count and recency features."),
    id_column: str | None = typer.Option(None, "--id-column", help="Column holding the contact id (matches contact_id in --activities)."),
    exclude: list[str] | None = typer.Option(None, "--exclude", help="Columns never to learn from (comma-separated or repeated)."),
    allow_leaky: list[str] | None = typer.Option(None, "--allow-leaky", help="Keep a column even though it alone predicts the label."),
    placeholder: list[str] | None = typer.Option(None, "--placeholder", help="Value meaning 'not answered' (repeatable; default: Select)."),
    target_conversion: float = typer.Option(0.8, "--target-conversion", help="Conversion rate the hot (sql) stage must reach."),
    seed: int = typer.Option(0, "--seed", help="Random seed: same data + same seed = same model."),
    trees: int = typer.Option(200, "--trees", min=1, help="Most trees the probability model may use; inner cross-validation picks how many (fewer = faster)."),
    folds: int = typer.Option(5, "--folds", min=2, max=20, help="Cross-validation folds (outer and inner)."),
    repeats: int = typer.Option(1, "--repeats", min=1, max=20, help="Repeat the outer cross-validation with new folds; the figures are the mean (each repeat adds the time of one run)."),
    report: pathlib.Path | None = typer.Option(None, "--report", help="Directory for report.md, thresholds.csv and lift_gain.png."),
    as_of: str | None = typer.Option(None, "--as-of", help="Count activities up to this ISO 8601 instant (default: the latest activity in --activities)."),
) -> None:
    """Learn a readable points model and a calibrated probability score from contacts with known outcomes."""
    needed = ("sklearn", "matplotlib") if report is not None else ("sklearn",)
    if any(importlib.util.find_spec(m) is None for m in needed):
        typer.echo(f"error: {INSTALL_HINT}", err=True)
        raise typer.Exit(2)
    if crm is not None:
        from connector.cli.models import learn_crm

        learn_crm(config, crm, label)
        return
    if contacts is None or label is None or output is None:
        typer.echo("error: give --contacts, --label and --output (or --crm NAME to learn from a configured CRM)", err=True)
        raise typer.Exit(2)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from connector.learn.dataset import DataError
    from connector.learn.pipeline import DEFAULT_PLACEHOLDERS, LearnOptions, learn
    from connector.learn.probability import BoostingParams
    from connector.learn.report import summary_lines, write_report
    from connector.learn.writer import write_model

    when = None
    if as_of is not None:
        try:
            when = dt.datetime.fromisoformat(as_of.strip().replace("Z", "+00:00"))
        except ValueError:
            typer.echo(f"error: --as-of {as_of!r} is not an ISO 8601 date-time (e.g. 2026-03-01T00:00:00Z)", err=True)
            raise typer.Exit(2) from None
    options = LearnOptions(
        contacts=contacts,
        label=label,
        activities=activities,
        id_column=id_column,
        exclude=_split(exclude),
        allow_leaky=_split(allow_leaky),
        placeholders=_split(placeholder) or DEFAULT_PLACEHOLDERS,
        target_conversion=target_conversion,
        seed=seed,
        folds=folds,
        repeats=repeats,
        boosting=BoostingParams(trees=trees),
        as_of=when,
    )
    typer.echo(f"learning from {contacts} (nested {folds}-fold cross-validation x {repeats}, at most {trees} trees, seed {seed}) ...", err=True)
    try:
        with Progress(TextColumn("cross-validating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("folds", total=folds * repeats + 1)
            learned = learn(options, on_fold=lambda done, total: progress.update(task, completed=done, total=total))
    except DataError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for warning in learned.warnings:
        typer.echo(f"warning: {warning}", err=True)
    for excluded in learned.excluded:
        typer.echo(f"left out: {excluded.column}: {excluded.reason}", err=True)
    for line in summary_lines(learned):
        typer.echo(line)
    written = write_model(learned, output)
    typer.echo(f"wrote {written.yaml} ({len(learned.points.rules)} rules) and {written.json}")
    if report is not None:
        paths = write_report(learned, report, written.yaml)
        typer.echo(f"wrote report: {', '.join(str(p) for p in paths)}")


def register(app: typer.Typer) -> None:
    """Add ``learn`` to the app."""
    app.command("learn")(learn_command)
