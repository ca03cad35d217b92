"""The built-in server over real HTTP on 127.0.0.1: every header it promises."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aggregator import config, serve
from aggregator.models import ParsedEntry
from aggregator.pipeline import publish_all
from aggregator.store import Store
from tests.factories import store_wire

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TICK = 90


class Running:
    def __init__(self, output_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            serve.start(output_dir, "127.0.0.1", 0, max_age=TICK), self.loop
        ).result(timeout=10)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body
        finally:
            conn.close()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Running]:
    path = tmp_path / "config.toml"
    path.write_text(
        """
[aggregator]
base_url = "https://feeds.example/"
allow_private_addresses = true
[sources.wire]
url = "https://wire.example/feed"
[topics.oil]
any = ["oil"]
max_items = 4
archive_page_size = 2
""",
        encoding="utf-8",
    )
    cfg = config.load(path)
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    entries = [
        ParsedEntry(guid=f"g{n}", link=f"https://wire.example/{n}", title=f"oil {n} " + "x" * 500,
                    published=NOW - timedelta(hours=n))
        for n in range(1, 8)
    ]  # fmt: skip
    store_wire(store, entries, NOW)
    publish_all(cfg, store, NOW)
    store.close()
    (cfg.settings.output_dir / ".hidden.atom").write_text("secret")
    (tmp_path / "outside.atom").write_text("secret")
    running = Running(cfg.settings.output_dir)
    yield running
    running.stop()


TYPES = {
    "/oil.atom": "application/atom+xml; charset=utf-8",
    "/oil.rss": "application/rss+xml; charset=utf-8",
    "/oil.json": "application/feed+json; charset=utf-8",
    "/topics.opml": "text/x-opml; charset=utf-8",
    "/sources.opml": "text/x-opml; charset=utf-8",
    "/oil.html": "text/html; charset=utf-8",
    "/": "text/html; charset=utf-8",
    "/oil/archive/1.atom": "application/atom+xml; charset=utf-8",
}


@pytest.mark.parametrize("path", TYPES)
def test_get_and_head_answer_with_type_validators_and_safety_headers(
    site: Running, path: str
) -> None:
    status, headers, body = site.request("GET", path)
    assert status == 200
    assert headers["content-type"] == TYPES[path]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["etag"] and headers["last-modified"]
    assert int(headers["content-length"]) == len(body) > 0
    if "/archive/" in path:
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
    else:
        assert headers["cache-control"] == f"public, max-age={TICK}"
    if headers["content-type"].startswith("text/html"):
        csp = headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        assert "frame-ancestors 'none'" in csp
    else:
        assert "content-security-policy" not in headers
    h_status, h_headers, h_body = site.request("HEAD", path)
    assert (h_status, h_body) == (200, b"")
    assert h_headers["etag"] == headers["etag"]
    assert h_headers["content-type"] == headers["content-type"]


def test_conditional_requests_get_304(site: Running) -> None:
    _, headers, _ = site.request("GET", "/oil.atom")
    status, again, body = site.request("GET", "/oil.atom", {"If-None-Match": headers["etag"]})
    assert (status, body) == (304, b"")
    assert again["etag"] == headers["etag"]
    status, _, _ = site.request("GET", "/oil.atom", {"If-Modified-Since": headers["last-modified"]})
    assert status == 304
    status, _, body = site.request("GET", "/oil.atom", {"If-None-Match": '"other"'})
    assert status == 200 and body


def test_gzip_when_asked_identity_otherwise(site: Running) -> None:
    _, plain_headers, plain = site.request("GET", "/oil.rss")
    assert "content-encoding" not in plain_headers
    status, headers, body = site.request("GET", "/oil.rss", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["vary"] == "Accept-Encoding"
    assert headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert len(body) < len(plain)
    assert gzip.decompress(body) == plain
    # The compressed representation has its own validator, and answers 304 too.
    assert headers["etag"] != plain_headers["etag"]
    status, _, _ = site.request(
        "GET", "/oil.rss", {"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]}
    )
    assert status == 304


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [
        ("gzip;q=0, identity", False),
        ("gzip; q=0.000", False),
        ("*;q=0, identity", False),
        ("br, gzip;q=0.5", True),
        ("*", False),  # identity is acceptable too, and gzip is sent only when named
        ("GZIP", True),
        ("identity;q=1, *;q=0", False),
    ],
)
def test_gzip_only_at_a_q_value_above_zero(site: Running, accept: str, gzipped: bool) -> None:
    _, _, plain = site.request("GET", "/oil.rss")
    status, headers, body = site.request("GET", "/oil.rss", {"Accept-Encoding": accept})
    assert status == 200
    assert ("content-encoding" in headers) is gzipped
    assert (gzip.decompress(body) if gzipped else body) == plain


def test_ranges_are_served_only_when_they_cannot_splice_versions(site: Running) -> None:
    _, headers, plain = site.request("GET", "/oil.atom")
    status, _, body = site.request("GET", "/oil.atom", {"Range": "bytes=0-9"})
    assert (status, body) == (206, plain[:10])
    # An entity tag in If-Range (matching or not): the whole current document.
    for tag in ('"bogus"', headers["etag"]):
        status, _, body = site.request("GET", "/oil.atom", {"Range": "bytes=0-9", "If-Range": tag})
        assert (status, body) == (200, plain)
    # Several ranges: the whole document, not 416.
    status, _, body = site.request("GET", "/oil.atom", {"Range": "bytes=0-1,5-6"})
    assert (status, body) == (200, plain)


def test_a_malformed_request_is_one_line_at_info(
    site: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiohttp.server")
    with socket.create_connection(("127.0.0.1", site.server.port), timeout=10) as conn:
        conn.sendall(b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = conn.recv(100)
    assert answer.split(b" ", 2)[1] == b"400"
    deadline = time.monotonic() + 10
    while not [r for r in caplog.records if r.name == "aiohttp.server"]:
        assert time.monotonic() < deadline, "the bad request was not logged"
        time.sleep(0.01)
    (record,) = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert record.levelno == logging.INFO and record.exc_info is None
    assert record.getMessage().startswith("bad request from 127.0.0.1: ")


@pytest.mark.parametrize(
    "path",
    [
        "/missing.atom", "/oil.atom.gz", "/.hidden.atom", "/../outside.atom",
        "/%2e%2e/outside.atom", "/oil/../../outside.atom", "/config.toml",
        "/aggregator.sqlite", "/oil/archive/99.atom", "/oil/archive/", "/..%2foutside.atom",
    ],
)  # fmt: skip
def test_everything_else_is_404(site: Running, path: str) -> None:
    status, _, body = site.request("GET", path)
    assert status == 404
    assert b"secret" not in body


def test_post_is_refused(site: Running) -> None:
    status, _, _ = site.request("POST", "/oil.atom")
    assert status == 405


def test_urls_in_feeds_are_where_the_server_serves_them(site: Running) -> None:
    _, _, body = site.request("GET", "/oil.json")
    assert b'"feed_url": "https://feeds.example/oil.json"' in body
    path = urlsplit("https://feeds.example/oil/archive/1.json").path
    assert site.request("GET", path)[0] == 200
