"""A real HTTP server on 127.0.0.1 with an ephemeral port, for tests.

Routes are set per path; each answers with a fixed status, headers and body, and
(when asked) honours If-None-Match / If-Modified-Since with a 304. Every request
is recorded so tests can assert what the client sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    # False: a server that ignores conditional requests.
    conditional: bool = True
    delay: float = 0.0  # seconds before answering: a slow server


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, body: bytes = b"", **kwargs: object) -> Route:
        route = Route(body=body, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.routes[path] = route
        return route

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def do_HEAD(self) -> None:
                self._answer(send_body=False)

            def do_GET(self) -> None:
                self._answer(send_body=True)

            def do_POST(self) -> None:
                # A WebSub hub stub: the route's status answers every POST.
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Request("POST", self.path, headers, body))
                    route = server.routes.get(self.path)
                status = route.status if route is not None else 404
                self._send(status, {"Content-Type": "text/plain"}, b"", True)

            def _answer(self, send_body: bool) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.requests.append(Request(self.command, self.path, headers))
                    route = server.routes.get(self.path)
                if route is not None and route.delay:
                    time.sleep(route.delay)
                if route is None:
                    self._send(404, {"Content-Type": "text/plain"}, b"not found", send_body)
                    return
                out = dict(route.headers)
                if route.etag:
                    out["ETag"] = route.etag
                if route.last_modified:
                    out["Last-Modified"] = route.last_modified
                if route.conditional and route.status == 200 and self._not_modified(route, headers):
                    self._send(
                        304, {k: v for k, v in out.items() if k != "Content-Type"}, b"", False
                    )
                    return
                self._send(route.status, out, route.body, send_body)

            @staticmethod
            def _not_modified(route: Route, headers: dict[str, str]) -> bool:
                if "if-none-match" in headers:
                    return route.etag is not None and headers["if-none-match"] == route.etag
                since = headers.get("if-modified-since")
                return since is not None and since == route.last_modified

            def _send(self, status: int, headers: dict[str, str], body: bytes, send: bool) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send and status != 304:
                    self.wfile.write(body)

        return Handler


def serve() -> Iterator[LoopbackServer]:
    """Generator for a pytest fixture: yields a started server, stops it after."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()
