"""``connector sandbox hubspot``: serve a local HubSpot sandbox until Ctrl-C.

Thin: parses options, builds :class:`connector.sandbox.hubspot.HubSpotSandbox`, prints the
``NAME=value`` settings a connector needs (so ``eval`` or a ``.env`` file can pick them up). The
connector's CLI finds this module by its place (``connector/sandbox/<crm>/cli.py``) and hands it the
arguments after ``connector sandbox hubspot``.
"""

from __future__ import annotations

import typer

__all__ = ["app", "serve"]


def serve(
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0 = any free port)."),
    seed: str = typer.Option("demo", "--seed", help="Portal content: demo (generated portal) or empty."),
    seed_contacts: int = typer.Option(5000, "--seed-contacts", min=0, help="Contacts in the demo portal."),
    random_seed: int = typer.Option(42, "--random-seed", help="Seed of the demo data (same seed, same portal)."),
    faults: float = typer.Option(0.0, "--faults", min=0.0, max=1.0, help="Share of API requests answered with a fault."),
    fault_seed: int = typer.Option(0, "--fault-seed", help="Seed of the fault draws (reproducible runs)."),
    fault_kinds: str = typer.Option("429,500,502,503,drop,slow", "--fault-kinds", help="Comma-separated fault kinds to draw from."),
    fault_writes: str = typer.Option("skip", "--fault-writes", help="A faulted write: skip (not applied) or apply (applied, then the fault)."),
    rate_limit: str = typer.Option("190/10s", "--rate-limit", help="General limit, e.g. 190/10s; 'none' disables."),
    search_rate: str = typer.Option("5/s", "--search-rate", help="CRM search limit, e.g. 5/s; 'none' disables."),
    token: str | None = typer.Option(None, "--token", help="Private-app token to accept (default: random)."),
) -> None:
    """Serve a HubSpot sandbox on 127.0.0.1 and print HUBSPOT_BASE_URL / HUBSPOT_ACCESS_TOKEN."""
    from connector.sandbox.hubspot import HubSpotSandbox, parse_rate

    if seed not in ("demo", "empty"):
        raise typer.BadParameter("must be 'demo' or 'empty'", param_hint="--seed")
    for hint, value in (("--rate-limit", rate_limit), ("--search-rate", search_rate)):
        try:
            parse_rate(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=hint) from exc
    try:
        sandbox = HubSpotSandbox(
            seed=seed, seed_contacts=seed_contacts, random_seed=random_seed, token=token, port=port,
            rate_limit=rate_limit, search_rate=search_rate, faults=faults, fault_seed=fault_seed,
            fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()), fault_writes=fault_writes,
        )
        sandbox.start()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"error: cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    for name, value in sandbox.env().items():
        typer.echo(f"{name}={value}")
    counts = sandbox.store.summary()["objects"]
    typer.echo(f"# serving {counts['contacts']} contacts ({seed}); admin API under {sandbox.base_url}/_sandbox/ ; Ctrl-C to stop", err=True)
    try:
        import threading

        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


#: The command line of this sandbox (one command: its options follow ``connector sandbox hubspot``).
app = typer.Typer(name="hubspot", add_completion=False, pretty_exceptions_show_locals=False)
app.command()(serve)
