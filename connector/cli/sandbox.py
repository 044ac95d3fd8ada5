"""CLI commands: ``connector sandbox hubspot`` and ``connector sandbox salesforce`` serve a local CRM until Ctrl-C.

Thin: parses options, builds :class:`connector.sandbox.hubspot.HubSpotSandbox` or
:class:`connector.sandbox.salesforce.SalesforceSandbox`, prints the ``NAME=value`` settings a
connector needs (so ``eval`` or a ``.env`` file can pick them up).
"""

from __future__ import annotations

import typing as t

import typer

if t.TYPE_CHECKING:
    from connector.sandbox.serving import Served

__all__ = ["hubspot_command", "register", "salesforce_command"]


def hubspot_command(
    port: int = typer.Option(8765, "--port", help="Port on 127.0.0.1 (0 = any free port)."),
    seed: str = typer.Option("demo", "--seed", help="Portal content: demo (generated portal) or empty."),
    seed_contacts: int = typer.Option(5000, "--seed-contacts", min=0, help="Contacts in the demo portal."),
    random_seed: int = typer.Option(42, "--random-seed", help="Seed of the demo data (same seed, same portal)."),
    faults: float = typer.Option(0.0, "--faults", min=0.0, max=1.0, help="Share of API requests answered with a fault."),
    fault_seed: int = typer.Option(0, "--fault-seed", help="Seed of the fault draws (reproducible runs)."),
    fault_kinds: str = typer.Option("429,500,502,503,drop,slow", "--fault-kinds", help="Comma-separated fault kinds to draw from."),
    fault_writes: str = typer.Option("skip", "--fault-writes", help="A faulted write: skip (not applied) or apply (applied, then the fault)."),
    rate_limit: str = typer.Option("tier", "--rate-limit", help="General limit, e.g. 190/10s; 'none' disables; default: the tier's."),
    search_rate: str = typer.Option("5/s", "--search-rate", help="CRM search limit, e.g. 5/s; 'none' disables."),
    token: str | None = typer.Option(None, "--token", help="Private-app token to accept (default: random)."),
    tier: str = typer.Option("enterprise", "--tier", help="The portal's plan: free, starter (100 requests/10 s), professional "
                             "(190/10 s) or enterprise (190/10 s); below enterprise the web-analytics events API answers 403."),
    events_per_record_only: bool = typer.Option(False, "--events-per-record-only",
                                                help="Refuse web-event queries without objectId (older HubSpot documentation)."),
    frozen_at: str | None = typer.Option(None, "--frozen-at", help="Freeze the portal's clock at this ISO-8601 instant "
                                         "(moved only by POST /_sandbox/clock/advance): two runs see the same portal and timestamps."),
    start_at: str | None = typer.Option(None, "--start-at", help="Start the portal's clock at this ISO-8601 instant and let it "
                                        "run: the same seeded portal on every start, later writes still later."),
) -> None:
    """Serve a HubSpot sandbox on 127.0.0.1 and print HUBSPOT_BASE_URL / HUBSPOT_ACCESS_TOKEN."""
    from connector.sandbox.hubspot import TIERS, HubSpotSandbox, SandboxClock, iso_ms, parse_rate, parse_time_ms

    if seed not in ("demo", "empty"):
        raise typer.BadParameter("must be 'demo' or 'empty'", param_hint="--seed")
    if tier.lower() not in TIERS:
        raise typer.BadParameter(f"must be one of {', '.join(TIERS)}", param_hint="--tier")
    for hint, value in (("--rate-limit", rate_limit), ("--search-rate", search_rate)):
        try:
            if value != "tier" or hint != "--rate-limit":
                parse_rate(value)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint=hint) from exc
    instants: dict[str, int] = {}
    for hint, text in (("--frozen-at", frozen_at), ("--start-at", start_at)):
        if text is not None:
            try:
                instants[hint] = parse_time_ms(text)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint=hint) from exc
    if len(instants) > 1:
        raise typer.BadParameter("give --frozen-at or --start-at, not both", param_hint="--start-at")
    clock = SandboxClock(frozen_ms=instants.get("--frozen-at"), start_ms=instants.get("--start-at"))
    sandbox = _started(lambda: HubSpotSandbox(
        seed=seed, seed_contacts=seed_contacts, random_seed=random_seed, token=token, port=port,
        rate_limit=rate_limit, search_rate=search_rate, faults=faults, fault_seed=fault_seed,
        fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()), fault_writes=fault_writes,
        clock=clock, tier=tier, events_per_record_only=events_per_record_only,
    ), port)
    counts = sandbox.store.summary()["objects"]
    _serve(sandbox, sandbox.env(), f"serving {counts['contacts']} contacts ({seed}, {sandbox.portal.tier.name} tier, clock at "
                                   f"{iso_ms(sandbox.clock.now_ms())}); admin API under {sandbox.base_url}/_sandbox/")


def salesforce_command(
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
    clock = SandboxClock(frozen_ms=instants.get("--frozen-at"), start_ms=instants.get("--start-at"))
    sandbox = _started(lambda: SalesforceSandbox(
        seed=seed, seed_leads=seed_leads, seed_contacts=seed_contacts, random_seed=random_seed, port=port, daily_limit=daily_limit,
        session_ttl_s=session_ttl, faults=faults, fault_seed=fault_seed, fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()),
        fault_writes=fault_writes, slow_seconds=slow_seconds, long_request_limit=long_request_limit, long_request_seconds=long_request_seconds,
        bulk_delay_s=bulk_delay, clock=clock, work_dir=work_dir,
    ), port)
    counts = sandbox.org.counts()
    _serve(sandbox, sandbox.env(), f"serving {counts['Lead']} leads and {counts['Contact']} contacts ({seed}) over HTTPS; trust SALESFORCE_CA_BUNDLE; "
                                   f"admin API under {sandbox.instance_url}/_sandbox/")


_S = t.TypeVar("_S", bound="Served")


def _started(build: t.Callable[[], _S], port: int) -> _S:
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


def _serve(sandbox: Served, env: dict[str, str], banner: str) -> None:
    """Print the ``NAME=value`` settings, then serve until Ctrl-C or SIGTERM (both stop cleanly, removing temp files)."""
    import signal
    import threading

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    for name, value in env.items():
        typer.echo(f"{name}={value}")
    typer.echo(f"# {banner} ; Ctrl-C to stop", err=True)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def register(app: typer.Typer) -> None:
    """Add ``connector sandbox ...`` to app."""
    group = typer.Typer(name="sandbox", help="Local sandbox CRMs speaking the vendors' wire protocol.", no_args_is_help=True)
    group.command("hubspot")(hubspot_command)
    group.command("salesforce")(salesforce_command)
    app.add_typer(group, name="sandbox")
