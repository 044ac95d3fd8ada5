"""``GET /metrics``: what the server counts, and what the state database tells at scrape time.

Counted by this process (``prometheus-client`` counters and a histogram): events accepted,
duplicates, requests rejected by reason, the seconds from an event's arrival to its contact's
changes being written, API calls and 429s of the real-time runs. Read from the state database at
each scrape (so every process and the scheduled syncs are covered): queue depth, runs of the last
24 hours by status with their API calls and 429s, open quarantine entries. Metric names carry no personal data and no secret: labels are CRM names,
sources and fixed reason labels only.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connector.sync.tables import quarantine, realtime_events, runs

if t.TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from connector.sync.realtime import Batch

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StateCollector(Collector):
    """Gauges read from the state database when scraped."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def collect(self) -> t.Iterator[Metric]:
        depth = GaugeMetricFamily("connector_event_queue_depth", "Stored events waiting for a worker.", labels=["crm"])
        run_count = GaugeMetricFamily("connector_runs_24h", "Sync runs started in the last 24 hours, by status (scheduled and real-time).", labels=["crm", "status"])
        api = GaugeMetricFamily("connector_run_api_calls_24h", "CRM API calls of the runs started in the last 24 hours.", labels=["crm"])
        limited = GaugeMetricFamily("connector_run_rate_limited_24h", "429 answers met by the runs started in the last 24 hours.", labels=["crm"])
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        open_q = GaugeMetricFamily("connector_quarantine_open", "Open quarantine entries.", labels=["crm"])
        with self.engine.connect() as conn:
            for crm, n in conn.execute(sa.select(realtime_events.c.crm, sa.func.count()).where(realtime_events.c.status == "pending").group_by(realtime_events.c.crm)):
                depth.add_metric([crm], n)
            calls_by_crm: dict[str, list[int]] = {}
            for crm, status, n, calls, rl in conn.execute(
                sa.select(runs.c.crm, runs.c.status, sa.func.count(), sa.func.coalesce(sa.func.sum(runs.c.api_calls), 0), sa.func.coalesce(sa.func.sum(runs.c.rate_limited), 0))
                .where(runs.c.started_at >= since)
                .group_by(runs.c.crm, runs.c.status)
            ):
                run_count.add_metric([crm, status], n)
                totals = calls_by_crm.setdefault(crm, [0, 0])
                totals[0] += int(calls)
                totals[1] += int(rl)
            for crm, (calls, rl) in calls_by_crm.items():
                api.add_metric([crm], calls)
                limited.add_metric([crm], rl)
            for crm, n in conn.execute(sa.select(quarantine.c.crm, sa.func.count()).where(quarantine.c.status == "open").group_by(quarantine.c.crm)):
                open_q.add_metric([crm], n)
        yield from (depth, run_count, api, limited, open_q)


class Metrics:
    """The server's metrics, in a registry of its own (several apps in one test process do not mix)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("connector_events_accepted", "Events stored for processing.", ["crm", "source"], registry=self.registry)
        self.duplicates = Counter("connector_events_duplicate", "Events received again (already stored).", ["crm", "source"], registry=self.registry)
        self.rejected = Counter("connector_requests_rejected", "Requests or events refused, by reason.", ["endpoint", "reason"], registry=self.registry)
        self.latency = Histogram(
            "connector_event_to_crm_seconds",
            "Seconds from an event's arrival to its contact's new values being written to the CRM.",
            ["crm"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        self.api_calls = Counter("connector_realtime_api_calls", "CRM API calls of real-time runs in this process.", ["crm"], registry=self.registry)
        self.rate_limited = Counter("connector_realtime_rate_limited", "429 answers met by real-time runs in this process.", ["crm"], registry=self.registry)
        self.batches = Counter("connector_realtime_batches", "Real-time runs in this process, by status.", ["crm", "status"], registry=self.registry)
        self.registry.register(_StateCollector(engine))

    def reject(self, endpoint: str, reason: str, n: int = 1) -> None:
        """Count ``n`` refusals on ``endpoint`` for a fixed ``reason`` label."""
        self.rejected.labels(endpoint, reason).inc(n)

    def batch(self, batch: Batch) -> None:
        """Count one real-time run of the worker."""
        crm = batch.summary.crm
        self.batches.labels(crm, batch.summary.status).inc()
        self.api_calls.labels(crm).inc(batch.summary.api_calls)
        self.rate_limited.labels(crm).inc(batch.summary.rate_limited)
        for seconds in batch.latencies:
            self.latency.labels(crm).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
