"""``connector sandbox salesforce``: serve a local Salesforce org over HTTPS until Ctrl-C.

Thin: parses options, builds :class:`connector.sandbox.salesforce.SalesforceSandbox`, prints the
``SALESFORCE_*`` settings a connector needs. Found by the connector's CLI by its place
(``connector/sandbox/<crm>/cli.py``).
"""

from __future__ import annotations

import typer

from connector.sandbox.cli_support import serve_until_stopped, started_or_exit

__all__ = ["app", "serve"]


def serve(
    port: int = typer.Option(8766, "--port", help="Port on 127.0.0.1 (0 = any free port); HTTPS with a CA generated at start."),
    seed: str = typer.Option("demo", "--seed", help="Org content: demo (generated org) or empty (users only)."),
    seed_leads: int = typer.Option(5000, "--seed-leads", min=0, help="Leads in the demo org."),
    seed_contacts: int = typer.Option(2000, "--seed-contacts", min=0, help="Contacts in the demo org (converted leads add more)."),
    random_seed: int = typer.Option(42, "--random-seed", help="Seed of the demo data (same seed, same org)."),
    faults: float = typer.Option(0.0, "--faults", min=0.0, max=1.0, help="Share of API requests answered with a fault."),
    fault_seed: int = typer.Option(0, "--fault-seed", help="Seed of the fault draws (reproducible runs)."),
    fault_kinds: str = typer.Option("500,502,503,drop,slow", "--fault-kinds", help="Comma-separated fault kinds to draw from."),
    fault_writes: str = typer.Option("skip", "--fault-writes", help="A faulted write: skip (not applied) or apply (applied, then the fault)."),
    slow_seconds: float = typer.Option(1.0, "--slow-seconds", min=0.0, help="How long a 'slow' fault waits."),
    daily_limit: int = typer.Option(100_000, "--daily-limit", min=1, help="DailyApiRequests allowance (rolling 24 h of org time)."),
    long_request_limit: int = typer.Option(25, "--long-request-limit", min=0, help="Concurrent long-running requests allowed (0 = no limit)."),
    long_request_seconds: float = typer.Option(20.0, "--long-request-seconds", min=0.0, help="A request running this long counts as long-running."),
    session_ttl: float = typer.Option(7200.0, "--session-ttl", min=1.0, help="Seconds of inactivity (org time) after which a session expires."),
    bulk_delay: float = typer.Option(0.5, "--bulk-delay", min=0.0, help="Seconds per Bulk API 2.0 job step (UploadComplete -> InProgress -> done)."),
    frozen_at: str | None = typer.Option(None, "--frozen-at", help="Freeze the org clock at this ISO-8601 instant (moved by /_sandbox/clock/advance)."),
    start_at: str | None = typer.Option(None, "--start-at", help="Start the org clock at this ISO-8601 instant and let it run (same seeded org on every start)."),
    work_dir: str | None = typer.Option(None, "--work-dir", help="Where to write ca.pem and the JWT key (default: a temp dir removed at exit)."),
    pubsub_port: int | None = typer.Option(None, "--pubsub-port", min=-1,
                                           help="Pub/Sub API (gRPC over TLS, Lead/Contact change events) port (default: --port + 1, any free port with --port 0; 0 = any; -1 = off)."),
    pubsub_keepalive: float = typer.Option(270.0, "--pubsub-keepalive", min=0.5, help="Seconds without events before a subscription gets an empty keepalive FetchResponse."),
) -> None:
    """Serve a Salesforce sandbox org over HTTPS on 127.0.0.1 and print the SALESFORCE_* settings."""
    from connector.sandbox.clock import SandboxClock
    from connector.sandbox.salesforce import SalesforceSandbox
    from connector.sandbox.salesforce.timefmt import parse_datetime

    if seed not in ("demo", "empty"):
        raise typer.BadParameter("must be 'demo' or 'empty'", param_hint="--seed")
    instants: dict[str, int] = {}
    for hint, text in (("--frozen-at", frozen_at), ("--start-at", start_at)):
        if text is not None:
            try:
                instants[hint] = parse_datetime(text)
            except ValueError as exc:
                raise typer.BadParameter(f"{text!r} is not an ISO-8601 date-time", param_hint=hint) from exc
    if len(instants) > 1:
        raise typer.BadParameter("give --frozen-at or --start-at, not both", param_hint="--start-at")
    if pubsub_port is None:
        pubsub_port = port + 1 if port else 0
    clock = SandboxClock(frozen_ms=instants.get("--frozen-at"), start_ms=instants.get("--start-at"))
    sandbox = started_or_exit(lambda: SalesforceSandbox(
        seed=seed, seed_leads=seed_leads, seed_contacts=seed_contacts, random_seed=random_seed, port=port, daily_limit=daily_limit,
        session_ttl_s=session_ttl, faults=faults, fault_seed=fault_seed, fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()),
        fault_writes=fault_writes, slow_seconds=slow_seconds, long_request_limit=long_request_limit, long_request_seconds=long_request_seconds,
        bulk_delay_s=bulk_delay, clock=clock, work_dir=work_dir, pubsub_port=None if pubsub_port < 0 else pubsub_port, pubsub_keepalive_s=pubsub_keepalive,
    ), port)
    counts = sandbox.org.counts()
    serve_until_stopped(sandbox, sandbox.env(), f"serving {counts['Lead']} leads and {counts['Contact']} contacts ({seed}) over HTTPS; trust SALESFORCE_CA_BUNDLE; "
                                   f"admin API under {sandbox.instance_url}/_sandbox/")


#: The command line of this sandbox (one command: its options follow ``connector sandbox salesforce``).
app = typer.Typer(name="salesforce", add_completion=False, pretty_exceptions_show_locals=False)
app.command()(serve)
