"""``connector sandbox hubspot``: serve a local HubSpot sandbox until Ctrl-C.

Thin: parses options, builds :class:`connector.sandbox.hubspot.HubSpotSandbox`, prints the
``NAME=value`` settings a connector needs (so ``eval`` or a ``.env`` file can pick them up). The
connector's CLI finds this module by its place (``connector/sandbox/<crm>/cli.py``) and hands it the
arguments after ``connector sandbox hubspot``.
"""

from __future__ import annotations

import typer

from connector.sandbox.cli_support import serve_until_stopped, started_or_exit

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
    webhook_url: str | None = typer.Option(None, "--webhook-url", help="Send contact changes as signed HubSpot webhooks to this URL "
                                           "(e.g. http://127.0.0.1:8080/webhooks/hubspot), keyed with HUBSPOT_CLIENT_SECRET as printed."),
    webhook_properties: str | None = typer.Option(None, "--webhook-properties", help="Comma-separated properties whose changes are sent "
                                                  "(default: all)."),
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
    sandbox = started_or_exit(lambda: HubSpotSandbox(
        seed=seed, seed_contacts=seed_contacts, random_seed=random_seed, token=token, port=port,
        rate_limit=rate_limit, search_rate=search_rate, faults=faults, fault_seed=fault_seed,
        fault_kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()), fault_writes=fault_writes,
        clock=clock, tier=tier, events_per_record_only=events_per_record_only,
    ), port)
    if webhook_url:
        wanted = [p.strip() for p in webhook_properties.split(",") if p.strip()] if webhook_properties else None
        sandbox.send_webhooks(webhook_url, properties=wanted)
    counts = sandbox.store.summary()["objects"]
    serve_until_stopped(sandbox, sandbox.env(), f"serving {counts['contacts']} contacts ({seed}, {sandbox.portal.tier.name} tier, clock at "
                                   f"{iso_ms(sandbox.clock.now_ms())}); admin API under {sandbox.base_url}/_sandbox/")


#: The command line of this sandbox (one command: its options follow ``connector sandbox hubspot``).
app = typer.Typer(name="hubspot", add_completion=False, pretty_exceptions_show_locals=False)
app.command()(serve)
