"""How ``connector status`` and ``quarantine list`` lay out the state: readable in 80 columns, on a terminal or not.

A table with one column per figure (the old layout, 15 columns) cut every header to one or two
characters at 80 columns, which is also the width rich assumes when the output is not a terminal
(a cron mail, a CI log, a pipe). So each CRM gets a block of ``key  value`` lines, and its last runs
a table of the nine figures an operator reads first, whose headers always fit; the rest (retries,
429s, errors, why a run was abandoned) goes on lines under it. ``connector sync`` prints the rest.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from rich import box
from rich.markup import escape
from rich.table import Table

from connector.cli.common import command_line
from connector.sync.lease import owner_gone
from connector.sync.summary import status_label

if t.TYPE_CHECKING:
    from rich.console import Console

    from connector.sync.admin import CRMStatus

__all__ = ["RUN_COLUMNS", "print_quarantine", "print_status", "when"]

#: The runs table's columns and their widths: 75 characters with the separators, so every header
#: and figure fits whole at 80 columns (wider values fold inside their cell, nothing is cut).
RUN_COLUMNS = (("run", 4), ("started", 10), ("took", 7), ("status", 11), ("pulled", 10), ("scored", 7), ("written", 7), ("failed", 6), ("calls", 6))

_STYLE = {"ok": "green", "partial": "yellow", "stopped": "yellow", "running": "cyan"}


def when(value: dt.datetime | None) -> str:
    """A UTC time as the CLI shows it (``-`` for none)."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _took(secs: float | None) -> str:
    if secs is None:
        return "-"
    return f"{secs:.1f} s" if secs < 100 else f"{secs:,.0f} s"


def _lease(lease: tuple[str, dt.datetime] | None) -> str:
    """Who holds the lease until when, and whether it is a leftover of a killed run."""
    if lease is None:
        return "-"
    owner, expires = lease
    text = f"{owner} until {when(expires)}"
    if expires <= dt.datetime.now(dt.UTC):
        return text + " (expired: the next run takes it)"
    if owner_gone(owner):
        return text + " (its process is gone: the next run takes it at once)"
    return text


def print_status(console: Console, st: CRMStatus, next_run: dt.datetime | None, *, config: str | None = None) -> None:
    """Print one CRM's overview and its last runs (``config``: the ``--config`` given, for the commands it suggests)."""
    console.print(f"[bold]{st.crm}[/bold]", highlight=False)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(no_wrap=True)
    facts.add_column()
    quarantined = ", ".join(f"{k}: {v:,}" for k, v in sorted(st.quarantine.items()))
    facts.add_row("contacts", f"{st.contacts:,}")
    facts.add_row("cursors", f"contacts {when(st.cursors.get('contacts'))}, activities {when(st.cursors.get('activities'))}")
    facts.add_row("pending", f"writes {st.pending_writes:,}, trigger actions {st.pending_actions:,}")
    facts.add_row("quarantined", f"{quarantined} (see `{command_line('quarantine', 'list', '--crm', st.crm, config=config)}`)" if quarantined else "0")
    facts.add_row("lease", _lease(st.lease))
    facts.add_row("next scheduled run", when(next_run) if next_run else "not scheduled")
    console.print(facts, highlight=False)
    if not st.runs:
        console.print("no run yet\n")
        return
    runs = Table(title=f"Last runs of {st.crm} (UTC)", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 0), pad_edge=False)
    for name, width in RUN_COLUMNS:
        runs.add_column(name, width=width, overflow="fold", justify="left" if name in ("started", "status") else "right")
    notes: list[str] = []
    for r in st.runs:
        secs = (r["ended_at"] - r["started_at"]).total_seconds() if r["ended_at"] else None
        label = status_label(r["status"], r["quarantined"] + r["rejected"])
        style = _STYLE.get(r["status"], "red")
        runs.add_row(
            str(r["id"]), f"{r['started_at']:%Y-%m-%d}\n{r['started_at']:%H:%M:%S}", _took(secs), f"[{style}]{label}[/{style}]",
            f"{r['pulled_contacts']:,}\n+{r['pulled_activities']:,}", f"{r['scored']:,}", f"{r['written']:,}", f"{r['failed']:,}", f"{r['api_calls']:,}",
        )
        extra = []
        if r.get("retired"):
            extra.append(f"{r['retired']:,} retired (deleted, merged or converted in the CRM)")
        if r["retries"] or r["rate_limited"]:
            extra.append(f"{r['retries']:,} retries, {r['rate_limited']:,} x 429")
        if r["error"]:
            extra.append(str(r["error"]))
        if extra:
            notes.append(f"run {r['id']}: " + "; ".join(extra))
    console.print(runs)
    console.print("pulled: contacts + activities; calls: API calls", highlight=False)
    for note in notes:
        console.print(note, highlight=False)
    console.print()


def print_quarantine(console: Console, rows: t.Sequence[t.Mapping[str, t.Any]]) -> None:
    """Quarantined records, one block each: what and when on the first line, the whole reason under it.

    A seven-column table cut the reason -- the one thing to read -- to a word per line at 80 columns.
    """
    console.print(f"[bold]Quarantine[/bold] ({len(rows):,} entries, newest first)", highlight=False)
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for r in rows:
        head = f"{r['stream']}, record {r['record_id'] or '-'}  {when(r['created_at'])}  {r['status']}  crm {r['crm']}"
        grid.add_row(f"#{r['id']}", head)
        grid.add_row("", f"[dim]{escape(r['reason'])}[/dim]")
    console.print(grid, highlight=False)
