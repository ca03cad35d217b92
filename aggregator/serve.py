"""HTTP for the published feeds (aiohttp): GET and HEAD, right content types,
ETag / Last-Modified with 304 answers, gzip from the `.gz` siblings publish
writes, caching tied to the tick, nothing outside the output directory.
Plus the daemon's own /status (JSON) and /metrics (Prometheus text)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# Our pages are static text and links with one inline style sheet: no
# scripts, frames, forms, images or plugins.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# RFC 5005 archives never change once written.
IMMUTABLE = "public, max-age=31536000, immutable"


StatusFn = Callable[[], Mapping[str, Any]]
MetricsFn = Callable[[], tuple[bytes, str]]  # (body, content type)


def make_app(
    output_dir: Path,
    *,
    max_age: int = 60,
    status: StatusFn | None = None,
    metrics: MetricsFn | None = None,
) -> web.Application:
    root = output_dir.resolve()

    async def handle(request: web.Request) -> web.StreamResponse:
        path = _resolve(root, request.match_info["path"])
        if path is None:
            raise web.HTTPNotFound(text="not found\n")
        archived = path.parent.name == "archive" and path.parent.parent.parent == root
        headers = {
            "Content-Type": CONTENT_TYPES[path.suffix],
            # Nothing changes between two ticks, so caches may keep a copy that long.
            "Cache-Control": IMMUTABLE if archived else f"public, max-age={max_age}",
            "X-Content-Type-Options": "nosniff",
            # Which body (gzip or not) depends on Accept-Encoding, for every client.
            "Vary": "Accept-Encoding",
        }
        if path.suffix == ".html":
            headers["Content-Security-Policy"] = CSP
        return _FileResponse(path, headers=headers)

    app = web.Application()
    # Names without a published suffix, so they can never shadow a feed.
    if status is not None:
        app.router.add_get("/status", _status_handler(status), allow_head=True)
    if metrics is not None:
        app.router.add_get("/metrics", _metrics_handler(metrics), allow_head=True)
    # add_get also answers HEAD; add_route("GET", ...) does not (405).
    app.router.add_get("/{path:.*}", handle, allow_head=True)
    return app


class _FileResponse(web.FileResponse):
    """aiohttp's file response, with the request's headers read as RFC 9110 says.

    aiohttp picks the .gz sibling whenever "gzip" appears in Accept-Encoding, even at
    q=0; it honours Range under an If-Range entity tag that does not match (only
    dates are compared), which would splice an old and a new version of a feed
    rewritten in between; and it answers several ranges with 416. The server may
    ignore Range, so it does in those cases, and serves gzip only when accepted.
    """

    async def prepare(self, request: web.BaseRequest) -> Any:
        headers = request.headers.copy()
        changed = False
        if "gzip" in headers.get("Accept-Encoding", "").lower() and not accepts_gzip(headers):
            headers["Accept-Encoding"] = "identity"
            changed = True
        if_range = headers.get("If-Range", "").strip()
        if "Range" in headers and (if_range.startswith(('"', "W/")) or "," in headers["Range"]):
            del headers["Range"]
            changed = True
        return await super().prepare(request.clone(headers=headers) if changed else request)


def accepts_gzip(headers: Mapping[str, str]) -> bool:
    """Whether Accept-Encoding admits gzip: listed (or `*`) with a q-value above 0."""
    weights: dict[str, float] = {}
    for item in headers.get("Accept-Encoding", "").split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name.strip():
            weights[name.strip().lower()] = q
    if "gzip" in weights or "x-gzip" in weights:
        return max(weights.get("gzip", 0.0), weights.get("x-gzip", 0.0)) > 0
    return weights.get("*", 0.0) > 0


class _QuietBadRequests(logging.Filter):
    """A malformed request (a scanner, an over-long line) is the client's fault, not
    an error of the daemon: one line at info, without aiohttp's traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg, record.args = "bad request from %s: %s", (remote, exc.message or exc)
        record.exc_info = record.exc_text = None
        return logging.getLogger(record.name).isEnabledFor(logging.INFO)


_QUIET = _QuietBadRequests()


def _status_handler(status: StatusFn) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        body = json.dumps(status(), indent=2, ensure_ascii=False) + "\n"
        return web.Response(
            text=body, content_type="application/json", headers={"Cache-Control": "no-store"}
        )

    return handle


def _metrics_handler(metrics: MetricsFn) -> Callable[[web.Request], Any]:
    async def handle(request: web.Request) -> web.Response:
        body, content_type = metrics()
        return web.Response(
            body=body, headers={"Content-Type": content_type, "Cache-Control": "no-store"}
        )

    return handle


def _resolve(root: Path, name: str) -> Path | None:
    """The published file a URL path names, or None; never a path outside root."""
    parts = [p for p in name.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
        return None  # dot-files (temp files, ..) are never served
    path = root.joinpath(*parts) if parts else root
    if path.is_dir():
        path = path / "index.html"
    if path.suffix not in CONTENT_TYPES:
        return None
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


@dataclass
class Server:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(
    output_dir: Path,
    host: str,
    port: int,
    *,
    max_age: int = 60,
    status: StatusFn | None = None,
    metrics: MetricsFn | None = None,
) -> Server:
    """Listen on host:port (0 picks a free port) and return the running server."""
    app = make_app(output_dir, max_age=max_age, status=status, metrics=metrics)
    logging.getLogger("aiohttp.server").addFilter(_QUIET)  # once: filters are a set
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    bound = port
    for address in runner.addresses:
        if isinstance(address, tuple):
            bound = int(address[1])
            break
    log.info("serving %s on http://%s:%s/", output_dir, host, bound)
    return Server(runner, host, bound)
