"""What every command group of the CLI shares: one way to fail, to load the config, to open the state.

Expected failures (a bad config, a missing credential, a busy CRM) print one plain line -- never
wrapped, so ``file:line: key: message`` stays copy-pasteable -- and exit non-zero, never with a
traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import re
import shlex
import shutil
import sys
import typing as t

import typer

if t.TYPE_CHECKING:
    import sqlalchemy as sa

    from connector.sync.config import ConnectorConfig

__all__ = ["EXIT_FAILED", "EXIT_QUARANTINED", "EXIT_USAGE", "as_typed", "command_line", "connector_command", "fail", "load_config_or_fail", "open_state_or_fail", "parse_as_of"]

#: Exit codes a scheduler can tell apart (``connector sync --help`` and docs/sync.md list them):
#: a run that did not finish (``failed``, ``partial``, ``stopped``) or an expected error;
EXIT_FAILED = 1
#: a usage or setup problem (bad option, configuration, missing credential);
EXIT_USAGE = 2
#: every run ended ``ok``, but records were quarantined (see ``connector quarantine list``).
EXIT_QUARANTINED = 3

#: The password part of a database URL in an error message.
_PASSWORD = re.compile(r"://([^:/@\s]+):[^@\s]+@")


def fail(message: str, code: int = 1) -> t.NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: a usage or setup problem)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_config_or_fail(path: str | None, *, code: int = 1) -> ConnectorConfig:
    """``connector.yaml`` from ``--config``, ``$CONNECTOR_CONFIG`` or ``./connector.yaml``, validated."""
    from connector.sync.config import config_path, load_config
    from connector.yamlfile import YamlFileError

    where = config_path(path)
    if not where.exists():
        fail(f"no configuration at {where}: pass --config FILE or set CONNECTOR_CONFIG (see connector.example.yaml)", code)
    try:
        return load_config(where)
    except YamlFileError as exc:
        fail(f"the configuration is not valid:\n{exc}", code)


def open_state_or_fail(config: ConnectorConfig) -> sa.Engine:
    """The state database (schema upgraded); its URL's password never printed."""
    from connector.sync.db import open_database

    try:
        return open_database(config.effective_database_url())
    except Exception as exc:  # noqa: BLE001 - database URL or server problems, reported plainly
        first = _PASSWORD.sub(r"://\1:***@", str(exc).splitlines()[0] if str(exc) else "")
        fail(f"cannot open the state database: {type(exc).__name__}: {first}")


def connector_command(
    argv0: str | None = None, *, executable: str | None = None, search_path: str | None = None, cwd: pathlib.Path | None = None, absolute: bool = False
) -> str:
    """How to run ``connector`` from the user's shell, for commands we print for them to paste.

    ``connector`` when that is what the shell finds (an active virtual environment, an installed
    tool), else the script this process runs from, as short as it stays right:
    ``.venv/bin/connector`` after ``make demo`` (the README's way), an absolute path elsewhere.
    Computed from ``sys.argv[0]`` (the script, when run as ``connector``) or ``sys.executable``
    (its ``bin/`` holds the script of the same environment). ``absolute``: a path that works from
    any folder (for commands meant for another shell).
    """
    first = sys.argv[0] if argv0 is None else argv0
    python = sys.executable if executable is None else executable
    here = cwd or pathlib.Path.cwd()
    candidates = [here / first] if pathlib.Path(first).name == "connector" else []  # argv[0] is relative to the working folder
    candidates.append(pathlib.Path(python).parent / "connector")
    for script in candidates:
        if not script.is_file():
            continue
        found = shutil.which("connector", path=search_path if search_path is not None else os.environ.get("PATH", ""))
        if found is not None and pathlib.Path(found).resolve() == script.resolve():
            return "connector"
        typed = str(script.absolute()) if absolute else as_typed(script, here)
        return shlex.quote(typed if "/" in typed else f"./{typed}")  # without a slash the shell would search PATH
    return "connector"


def as_typed(path: pathlib.Path, cwd: pathlib.Path | None = None) -> str:
    """``path`` as a user would type it from ``cwd``: relative below it, absolute elsewhere."""
    here = (cwd or pathlib.Path.cwd()).absolute()
    full = path.absolute()
    try:
        return str(full.relative_to(here))
    except ValueError:
        return str(full)


def parse_as_of(value: str | None) -> dt.datetime:
    """``--as-of``: an ISO 8601 instant (naive means UTC); ``None``: now.

    Raises:
        typer.BadParameter: not a readable instant.
    """
    from connector.scoring import readers

    if value is None:
        return dt.datetime.now(dt.UTC)
    try:
        return readers.parse_datetime(value, "--as-of")
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--as-of") from None


def command_line(*args: str, config: str | os.PathLike[str] | None = None) -> str:
    """A ``connector`` command to print for the user, runnable as printed (with ``--config`` when one was given)."""
    words = [*args, *(("--config", as_typed(pathlib.Path(config))) if config is not None else ())]
    return " ".join([connector_command(), *(shlex.quote(w) for w in words)])
