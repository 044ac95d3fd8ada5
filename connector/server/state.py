"""What the server's routes share: the config, the state database, one queue, store and worker per CRM.

Built once per app by :func:`build_state`; the routes reach it as ``request.app.state.connector``.
The webhook secrets are read here from the variables each CRM entry names (or its adapter's
defaults), the way the adapters read theirs, and kept only in memory.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import logging
import pathlib
import typing as t

import sqlalchemy as sa

from connector.adapters.settings import read_settings
from connector.server.events import KeyLimiter
from connector.server.metrics import Metrics
from connector.server.webhooks import CRMWebhooks
from connector.sync.events import EventQueue
from connector.sync.realtime import RealtimeWorker
from connector.sync.store import Store

if t.TYPE_CHECKING:
    from connector.sync.config import ConnectorConfig
    from connector.sync.connect import AdapterFactory

__all__ = ["ServerState", "build_state"]

log = logging.getLogger(__name__)


@dc.dataclass
class ServerState:
    """Everything a request handler needs."""

    config: ConnectorConfig
    engine: sa.Engine
    metrics: Metrics
    clock: t.Callable[[], dt.datetime]
    webhooks: dict[str, CRMWebhooks]
    #: CRM name -> its worker (``None`` when this server only stores events).
    workers_by_crm: dict[str, RealtimeWorker | None]
    key_limiter: KeyLimiter = dc.field(default_factory=KeyLimiter)

    def queue(self, crm: str) -> EventQueue:
        """The CRM's event queue."""
        return EventQueue(self.engine, crm)

    def store(self, crm: str) -> Store:
        """The CRM's state."""
        return Store(self.engine, crm)

    def wake(self, crm: str) -> None:
        """Tell the CRM's worker that events were stored."""
        worker = self.workers_by_crm.get(crm)
        if worker is not None:
            worker.wake()

    def start(self) -> None:
        """Start the workers."""
        for worker in self.workers_by_crm.values():
            if worker is not None:
                worker.start()

    def stop(self) -> None:
        """Stop the workers after their batch in flight."""
        for worker in self.workers_by_crm.values():
            if worker is not None:
                worker.stop()


def _webhooks(config: ConnectorConfig, environ: t.Mapping[str, str] | None) -> dict[str, CRMWebhooks]:
    out: dict[str, CRMWebhooks] = {}
    for crm in config.crms:
        spec = crm.spec
        if spec.webhooks is None:
            continue
        settings = read_settings(
            spec,
            crm=crm.name,
            mapping=crm.mapping,
            variables=crm.credentials,
            env_file=config.env_file if config.env_file is not None else pathlib.Path(".env"),
            environ=environ,
        )
        role = spec.webhooks.secret_role
        secret = settings.secrets.get(role)
        variable = settings.variables.get(role, role)
        if secret is None:
            log.warning("crm %s: %s is not set; its webhooks will be refused (503) until it is", crm.name, variable)
        out[crm.name] = CRMWebhooks(spec.webhooks, secret.get_secret_value() if secret is not None else None, variable)
    return out


def build_state(
    config: ConnectorConfig,
    engine: sa.Engine,
    *,
    run_workers: bool = True,
    factory: AdapterFactory | None = None,
    clock: t.Callable[[], dt.datetime] | None = None,
    environ: t.Mapping[str, str] | None = None,
    poll_seconds: float = 1.0,
) -> ServerState:
    """The server's shared state for ``config`` (workers built, not started)."""
    now = clock or (lambda: dt.datetime.now(dt.UTC))
    metrics = Metrics(engine)
    workers: dict[str, RealtimeWorker | None] = {}
    for crm in config.crms:
        workers[crm.name] = (
            RealtimeWorker(
                config,
                crm.name,
                engine=engine,
                factory=factory,
                clock=now,
                batch_limit=config.serve.batch_limit,
                poll_seconds=poll_seconds,
                on_batch=metrics.batch,
                linger_seconds=config.serve.batch_wait_seconds,
            )
            if run_workers
            else None
        )
    return ServerState(config=config, engine=engine, metrics=metrics, clock=now, webhooks=_webhooks(config, environ), workers_by_crm=workers)
