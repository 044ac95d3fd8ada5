"""The FastAPI app of ``connector serve``: webhooks, first-party events, health and metrics.

:func:`create_app` takes built objects (tests hand in a fake CRM's adapter factory and a clock);
:func:`app_from_environment` builds them from ``CONNECTOR_CONFIG`` (what uvicorn's worker
processes import). Workers start with the app and stop with it (lifespan). Anything unexpected in
a handler answers 500 with a fixed message -- never a traceback, a secret or the request's content.
"""

from __future__ import annotations

import contextlib
import logging
import typing as t

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.server import events, webhooks
from connector.server.metrics import CONTENT_TYPE

if t.TYPE_CHECKING:
    from connector.server.state import ServerState

__all__ = ["app_from_environment", "create_app"]

log = logging.getLogger(__name__)


def create_app(state: ServerState, *, start_workers: bool = True) -> FastAPI:
    """The app over ``state``; its workers run while the app does (unless ``start_workers`` is off)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> t.AsyncIterator[None]:
        if start_workers:
            state.start()
        try:
            yield
        finally:
            state.stop()

    app = FastAPI(title="connector", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.connector = state
    app.include_router(webhooks.router)
    app.include_router(events.router)

    @app.get("/health")
    async def health() -> JSONResponse:
        """200 when the state database answers; 503 otherwise."""
        try:
            depth = await run_in_threadpool(_depths, state)
        except Exception as exc:  # noqa: BLE001 - any database failure makes the server unhealthy
            log.warning("health: state database unavailable: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "queue": depth})

    @app.get("/metrics")
    async def metrics() -> Response:
        """Prometheus text format."""
        body = await run_in_threadpool(state.metrics.render)
        return Response(body, media_type=CONTENT_TYPE)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        reason = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        state.metrics.reject("other", reason)
        return JSONResponse({"error": reason, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        state.metrics.reject("other", "invalid_request")
        return JSONResponse({"error": "invalid_request", "message": "the request does not fit this endpoint"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        state.metrics.reject("other", "internal_error")
        return JSONResponse({"error": "internal_error", "message": "the server could not handle this request; it was logged"}, status_code=500)

    return app


def _depths(state: ServerState) -> dict[str, int]:
    return {crm: state.queue(crm).depth() for crm in state.workers_by_crm}


def app_from_environment() -> FastAPI:
    """The app for ``CONNECTOR_CONFIG`` (uvicorn ``--factory``, one per worker process)."""
    from connector.server.state import build_state
    from connector.sync.config import config_path, load_config
    from connector.sync.db import open_database
    from connector.sync.service import setup_logging

    config = load_config(config_path())
    setup_logging(config.log_format, config.log_level)
    engine = open_database(config.effective_database_url())
    return create_app(build_state(config, engine))
