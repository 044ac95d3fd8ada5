"""The lifecycle every sandbox shares: bind a port, serve in a thread or in the foreground, stop.

A sandbox class sets ``self.app`` (the ``Request -> Response`` callable), ``self._port`` and
``self.request_log`` and inherits start/stop/``with``; it may override :meth:`Served._tls` (HTTPS),
:meth:`Served._bound` (learn the URL once the port is known) and :meth:`Served._stopped` (release
its own resources). Vendor-neutral.
"""

from __future__ import annotations

import ssl
import typing as t

from connector.sandbox.http import App, HttpServer
from connector.sandbox.requestlog import RequestLog, RequestRecord

__all__ = ["Served"]


class Served:
    """Start/stop of a sandbox served by :class:`connector.sandbox.http.HttpServer` on 127.0.0.1."""

    app: App
    request_log: RequestLog
    _port: int = 0
    _server: HttpServer | None = None

    def _tls(self) -> ssl.SSLContext | None:
        """The server TLS context (None: plain HTTP)."""
        return None

    def _bound(self, server: HttpServer) -> None:
        """Called once the port is bound (the URL is known)."""

    def _stopped(self) -> None:
        """Called after the server stopped."""

    def _bind(self) -> HttpServer:
        if self._server is None:
            self._server = HttpServer(self.app, self._port, tls=self._tls())
            self._bound(self._server)
        return self._server

    def start(self) -> t.Self:
        """Bind the port and serve in a background thread."""
        if self._server is None:
            self._bind().start()
        return self

    def stop(self) -> None:
        """Stop serving and release what the sandbox holds."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stopped()

    def serve_forever(self) -> None:
        """Serve in the calling thread (CLI) until KeyboardInterrupt."""
        try:
            self._bind().serve_forever()
        finally:
            self.stop()

    def __enter__(self) -> t.Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The served base URL; ``RuntimeError`` before :meth:`start`."""
        if self._server is None:
            raise RuntimeError("the sandbox is not started; use it as a context manager or call start()")
        return self._server.base_url

    @property
    def requests(self) -> list[RequestRecord]:
        """Every API request served so far (admin requests excluded)."""
        return self.request_log.snapshot()

    def requests_clear(self) -> None:
        """Forget the request log."""
        self.request_log.clear()
