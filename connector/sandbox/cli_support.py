"""What every ``connector/sandbox/<crm>/cli.py`` does alike: start a sandbox, print its settings, serve until stopped.

Vendor-neutral, like :mod:`connector.sandbox.http`: a bad option or a busy port exits 2 with the
reason; Ctrl-C and SIGTERM stop the sandbox cleanly (temporary files removed).
"""

from __future__ import annotations

import typing as t

import typer

if t.TYPE_CHECKING:
    from connector.sandbox.serving import Served

__all__ = ["serve_until_stopped", "started_or_exit"]


_S = t.TypeVar("_S", bound="Served")


def started_or_exit(build: t.Callable[[], _S], port: int) -> _S:
    """Build and start a sandbox; a bad option or a busy port exits 2 with the reason."""
    try:
        sandbox = build()
        sandbox.start()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"error: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    return sandbox


def serve_until_stopped(sandbox: Served, env: dict[str, str], banner: str) -> None:
    """Print the ``NAME=value`` settings, then serve until Ctrl-C or SIGTERM (both stop cleanly, removing temp files)."""
    import signal
    import threading

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # The handlers first and the settings inside ``try``: whoever reads the settings may stop the
    # sandbox at once (a test does), and an interrupt while they are printed must stop it too.
    # SIGINT explicitly, as the service does: a shell starting a background job (``&`` in a script,
    # a CI runner) hands it SIGINT ignored, and Python then installs no KeyboardInterrupt for it.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    try:
        for name, value in env.items():
            typer.echo(f"{name}={value}")
        typer.echo(f"# {banner} ; Ctrl-C to stop", err=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
