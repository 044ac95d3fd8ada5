"""The ``connector`` command line: thin, it parses arguments and calls into the library.

Each group of commands lives in its own module with a ``register(app)`` function, so the
commands of one capability stay together and this file only assembles them.
"""

from __future__ import annotations

import typer

from connector.cli import crm, demo, helpstyle, insight, learn, listen, models, report, sandbox, score, serve, service, sync

__all__ = ["app", "main"]

app = typer.Typer(
    name="connector",
    help="Lead scoring for HubSpot and Salesforce: pull contacts and activity, score them with YAML models, write the results back.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Lead scoring for HubSpot and Salesforce."""


@app.command()
def version() -> None:
    """Print the connector's version."""
    from importlib.metadata import version as _version

    typer.echo(_version("connector"))


for _module in (score, learn, crm, sandbox, sync, service, demo, insight, report, models, serve, listen):
    _module.register(app)
helpstyle.plain_flags()


def main() -> None:
    """Console-script entry point."""
    app()
