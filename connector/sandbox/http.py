"""A tiny route table and a threaded HTTP server on 127.0.0.1 for the sandbox CRMs.

Why not a web framework: the sandboxes must speak a vendor's exact wire protocol (status codes,
headers, a socket dropped without an answer), run inside a test process on a free port, and add
no dependency. One ``Router`` per vendor maps ``(method, path pattern)`` to a small handler; the
server turns each HTTP exchange into a ``Request`` and writes back whatever ``Response`` the
application returns. Nothing here knows HubSpot or Salesforce.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import socketserver
import ssl
import sys
import threading
import typing as t
import urllib.parse

__all__ = [
    "App",
    "Handler",
    "HttpServer",
    "Request",
    "Response",
    "RouteMatch",
    "Router",
]


@dataclasses.dataclass
class Request:
    """One HTTP request as the application sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    path_params: dict[str, str] = dataclasses.field(default_factory=dict)
    route: str = ""

    def header(self, name: str, default: str = "") -> str:
        """A header value, looked up case-insensitively."""
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, comma-separated values split too."""
        out: list[str] = []
        for value in self.query.get(name, []):
            out.extend(v for v in value.split(",") if v)
        return out

    def json(self) -> t.Any:
        """The body parsed as JSON; raises ``ValueError`` with a readable reason when it is not."""
        if not self.body:
            raise ValueError("request body is empty; a JSON body is required")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from exc

    def form(self) -> dict[str, str]:
        """The body parsed as ``application/x-www-form-urlencoded``."""
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)


@dataclasses.dataclass
class Response:
    """What the application answers; ``drop=True`` closes the socket without answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    drop: bool = False
    delay_seconds: float = 0.0

    @classmethod
    def json(cls, payload: t.Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        """A JSON answer with the right content type."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        merged = {"Content-Type": "application/json;charset=utf-8"}
        merged.update(headers or {})
        return cls(status=status, body=body, headers=merged)

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        """An answer without a body (e.g. 204 No Content)."""
        return cls(status=status)


Handler = t.Callable[[Request], Response]
App = t.Callable[[Request], Response]


@dataclasses.dataclass(frozen=True)
class RouteMatch:
    """A handler found for a request, with the values of its ``{placeholders}``."""

    handler: Handler
    params: dict[str, str]
    pattern: str


class Router:
    """Routes ``(method, path)`` to handlers; patterns use ``{name}`` placeholders for one segment.

    Trailing slashes are ignored, because generated SDKs call e.g. ``/crm/v3/owners/``.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register handler for method and pattern (first match wins)."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/")) + "/?$"
        self._routes.append((method.upper(), re.compile(regex), pattern, handler))

    def route(self, method: str, pattern: str) -> t.Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def register(handler: Handler) -> Handler:
            self.add(method, pattern, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> RouteMatch | str | None:
        """The route for a request; ``"method"`` when the path exists under another method."""
        path_found = False
        for route_method, regex, pattern, handler in self._routes:
            found = regex.match(path)
            if not found:
                continue
            if route_method != method.upper():
                path_found = True
                continue
            params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
            return RouteMatch(handler, params, pattern)
        return "method" if path_found else None

    @property
    def patterns(self) -> list[tuple[str, str]]:
        """Every ``(method, pattern)`` registered, for docs and tests."""
        return [(m, p) for m, _, p, _ in self._routes]


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    """Adapts ``http.server`` to the ``App`` callable; HTTP/1.1 keep-alive like a real API."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes; no 40 ms delayed-ACK stalls
    server_version = "sandbox"
    sys_version = ""

    def version_string(self) -> str:
        """The ``Server`` header."""
        return "sandbox"

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log; the application keeps its own record."""

    def _handle(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            path=urllib.parse.unquote(split.path) or "/",
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        app: App = self.server.app  # type: ignore[attr-defined]
        response = app(request)
        if response.delay_seconds:
            threading.Event().wait(response.delay_seconds)
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status not in (204, 304):  # RFC 9110: no Content-Length on 204
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class _ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    tls: ssl.SSLContext | None = None
    handshake_timeout_s = 10.0

    def get_request(self) -> tuple[t.Any, t.Any]:
        """Accept a connection; with TLS, wrap it without handshaking (the worker thread does that)."""
        sock, address = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def finish_request(self, request: t.Any, client_address: t.Any) -> None:
        """Handshake in the worker thread, so a slow or broken client never blocks the accept loop."""
        if isinstance(request, ssl.SSLSocket):
            request.settimeout(self.handshake_timeout_s)
            request.do_handshake()
            request.settimeout(None)
        super().finish_request(request, client_address)

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """A client that hung up, timed out or refused our certificate is normal here, not an error to print."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)


class HttpServer:
    """Serves an ``App`` on 127.0.0.1 in a background thread; ``port=0`` picks a free port.

    With ``tls`` (a server-side ``ssl.SSLContext``, e.g. from :class:`connector.sandbox.tls.TestAuthority`)
    it speaks HTTPS, for SDKs that only build ``https://`` URLs.
    """

    def __init__(self, app: App, port: int = 0, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self._server = _ThreadingServer((host, port), _RequestHandler)
        self._server.app = app  # type: ignore[attr-defined]
        self._server.tls = tls
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with TLS)."""
        scheme = "https" if self._server.tls is not None else "http"
        return f"{scheme}://{self._server.server_address[0]!s}:{self.port}"

    def start(self) -> None:
        """Serve in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI), until interrupted."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
