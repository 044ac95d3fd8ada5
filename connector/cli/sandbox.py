"""CLI commands: ``connector sandbox <crm>`` serves a local sandbox CRM until Ctrl-C.

Every sandbox package with a ``cli`` module (``connector/sandbox/<crm>/cli.py``, exposing a Typer
``app``) becomes a command; its module is imported only when that command runs, and the arguments
after ``connector sandbox <crm>`` (``--help`` included) are its own. A new sandbox needs no line here.
"""

from __future__ import annotations

import importlib
import pathlib
import pkgutil
import typing as t

import typer

import connector.sandbox

__all__ = ["register", "sandbox_names"]


def sandbox_names() -> list[str]:
    """The sandbox packages that have a command line (found without importing them)."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules(connector.sandbox.__path__)
        if info.ispkg and (pathlib.Path(next(iter(connector.sandbox.__path__))) / info.name / "cli.py").is_file()
    )


def _forward(name: str) -> t.Callable[[typer.Context], None]:
    def run(ctx: typer.Context) -> None:
        module = importlib.import_module(f"connector.sandbox.{name}.cli")
        module.app(ctx.args, prog_name=f"connector sandbox {name}")

    run.__doc__ = f"Serve a local {name} sandbox on 127.0.0.1 and print the settings to reach it (--help: its options)."
    return run


def register(app: typer.Typer) -> None:
    """Add ``connector sandbox ...`` to app."""
    group = typer.Typer(name="sandbox", help="Local sandbox CRMs speaking the vendors' wire protocol.", no_args_is_help=True)
    for name in sandbox_names():
        group.command(name, context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)(_forward(name))
    app.add_typer(group, name="sandbox")
