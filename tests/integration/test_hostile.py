"""The hostile-server suite: one test per way a server or document can attack or break
us. Each runs two real cycles (tests/hostile.py) against a raw asyncio server on
127.0.0.1 and asserts, for the hostile source's second cycle: the error kind and
detail, a bound on time, a bound on this process's peak memory, that the event loop
kept running, that a healthy source in the same cycle was stored, and that the hostile
source's stored rows and published files did not change.

`pytest -s` or the terminal summary prints each case's time and peak memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests import hostile as h
from tests.feeds import Item, rss
from tests.hostile import MB, World, feed, redirect, response, send

# What each case measured, for the summary table (tests/conftest.py).
RESULTS: list[tuple[str, str, float, float, float]] = []

Routes = Callable[[World], dict[str, h.Handler]]
LOOPBACK_URL = "http://127.0.0.1:{port}/hostile"


@dataclass(frozen=True)
class Case:
    id: str
    routes: Routes
    kind: str  # the hostile source's outcome: an error kind, or "unchanged"/"new"
    detail: str = ""  # in the error
    seconds: float = 2.5  # bound on the whole second cycle
    mb: float = 40.0  # bound on this process's peak RSS growth
    url: str = LOOPBACK_URL
    rows_same: bool = True
    settings: str = ""
    source: str = ""
    max_body: int = MB
    parse_memory: int = 128 * MB
    parse_timeout: int = 2
    resolver: dict[str, list[str] | None] = field(default_factory=dict)  # None: hangs
    tls: bool = False
    titles: tuple[str, ...] | None = None  # the hostile source's stored titles after
    refused_before_connecting: str | None = None  # a path that must not be requested


def at(path: str, handler: h.Handler) -> Routes:
    return lambda world: {path: handler}


def redirect_to(location: str) -> Routes:
    # The target path answers a feed, so reaching it would be visible (and wrong).
    return lambda world: {
        "/hostile": redirect(location.format(port=world.port, tls_port=world.tls_port)),
        "/internal": feed(h.HOSTILE_GOOD),
    }


def html_page() -> bytes:
    return (
        b"<!DOCTYPE html><html><head><title>Just a moment...</title>"
        b'<link rel="alternate" type="application/rss+xml" href="/real-feed.xml">'
        b"</head><body>Checking your browser</body></html>"
    )


def attributes(n: int) -> bytes:
    attrs = b" ".join(b'a%d="1"' % i for i in range(n))
    return h.HOSTILE_GOOD.replace(
        b"<title>Hostile 0</title>", b"<title %s>Hostile 0</title>" % attrs
    )


def big_feed(items: int) -> bytes:
    one = b"<item><title>t%d</title><description>" + b"x" * 50 + b"</description></item>"
    body = b"".join(one % i for i in range(items))
    return b'<rss version="2.0"><channel><title>big</title>' + body + b"</channel></rss>"


def with_doctype(subset: bytes) -> bytes:
    return h.HOSTILE_GOOD.replace(
        b'<rss version="2.0">', b"<!DOCTYPE rss [" + subset + b']><rss version="2.0">'
    )


LAUGHS = b'<!ENTITY a "lol">' + b"".join(
    b'<!ENTITY %c "%s">' % (ord("b") + i, (b"&%c;" % (ord("a") + i)) * 10) for i in range(9)
)
BIG_ENTITY = b'<!ENTITY big "' + b"x" * 100_000 + b'">'
TITLE_REFS = h.HOSTILE_GOOD.replace(b"Hostile 0", b"Hostile 0 &#xD800;&#x110000;&#99999999999;")
CP1252 = (
    '<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel><title>C</title>'
    "<item><guid>x0</guid><title>Caf\u00e9 \u201cquoted\u201d</title></item></channel></rss>"
).encode("cp1252")
UTF16 = (
    '\ufeff<rss version="2.0"><channel><title>C</title>'
    "<item><guid>x0</guid><title>Caf\u00e9 \u00fcber</title></item></channel></rss>"
).encode("utf-16-le")
TRUNCATED = rss("Hostile", "https://hostile.example/", [
    Item("x9", "Hostile fresh", "https://hostile.example/9", h.NOW), *h.HOSTILE_ITEMS[:2],
])[:-60]  # fmt: skip
NO_LENGTH_HEAD = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"

CASES = [
    # -- time ---------------------------------------------------------------------------
    Case("slow-drip-body",
         at("/hostile", h.drip(b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n")),
         "fetch", "timed out after 1s"),
    Case("slow-headers", at("/hostile", h.drip(b"HTTP/1.1 200 OK\r\nX-Slow: ", b"a", 0.05)),
         "fetch", "timed out after 1s"),
    Case("never-answers", at("/hostile", h.silent), "fetch", "timed out after 1s"),
    Case("dns-fails", at("/hostile", feed(h.HOSTILE_GOOD)), "fetch", "DNS: cannot resolve",
         url="http://feeds.broken.test:{port}/hostile",
         resolver={"feeds.broken.test": []}),
    Case("dns-hangs", at("/hostile", feed(h.HOSTILE_GOOD)), "fetch", "timed out after 1s",
         url="http://feeds.slow.test:{port}/hostile", resolver={"feeds.slow.test": None}),
    Case("connection-reset", at("/hostile", h.reset), "fetch", "error"),
    # -- size ---------------------------------------------------------------------------
    Case("content-length-over-limit",
         at("/hostile", send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n<rss>",
                             then_hang=True)),
         "fetch", f"body exceeds the limit of {MB} bytes", seconds=1.0),
    Case("endless-chunked", at("/hostile", h.endless_chunks()), "fetch", "body exceeds"),
    Case("no-length-over-limit", at("/hostile", send(NO_LENGTH_HEAD + b"<" * (3 * MB))),
         "fetch", "body exceeds"),
    Case("gzip-bomb",
         at("/hostile", send(response(200, h.gzip_bomb(200 * MB), {"Content-Encoding": "gzip"}))),
         "fetch", "body exceeds", mb=20),
    Case("deflate-bomb-zlib",
         at("/hostile", send(response(200, h.gzip_bomb(200 * MB, 15),
                                      {"Content-Encoding": "deflate"}))),
         "fetch", "body exceeds", mb=20),
    Case("deflate-bomb-raw",
         at("/hostile", send(response(200, h.gzip_bomb(200 * MB, -15),
                                      {"Content-Encoding": "deflate"}))),
         "fetch", "body exceeds", mb=20),
    Case("brotli-never-asked-for",
         at("/hostile", send(response(200, b"\x1b\xff\xff" * 100, {"Content-Encoding": "br"}))),
         "fetch", "unsupported Content-Encoding ['br']"),
    Case("stacked-encodings",
         at("/hostile", send(response(200, h.gz(h.gz(h.gzip_bomb(50 * MB))),
                                      {"Content-Encoding": "gzip, gzip"}))),
         "fetch", "unsupported Content-Encoding ['gzip', 'gzip']", mb=20),
    Case("gzip-file-bomb-served-plain",  # a .gz file served without Content-Encoding
         at("/hostile", feed(h.gzip_bomb(200 * MB), "application/gzip")),
         "parse", "", mb=20),
    # -- redirects ----------------------------------------------------------------------
    Case("redirect-loop", lambda w: {"/hostile": redirect("/hostile2", 302),
                                     "/hostile2": redirect("/hostile", 302)},
         "fetch", "redirect loop"),
    Case("redirect-chain-too-long",
         lambda w: {"/hostile": redirect("/r1"),
                    **{f"/r{i}": redirect(f"/r{i + 1}") for i in range(1, 7)},
                    "/r7": feed(h.HOSTILE_GOOD)},
         "fetch", "more than 5 redirects"),
    Case("redirect-to-file-scheme", redirect_to("file:///etc/passwd"), "fetch",
         "redirect to a non-http(s) URL: file:"),
    Case("redirect-https-to-http", redirect_to("http://127.0.0.1:{port}/internal"), "fetch",
         "redirect from https to http refused", url="https://127.0.0.1:{tls_port}/hostile",
         tls=True, refused_before_connecting="/internal"),
    # -- address safety -----------------------------------------------------------------
    *[
        Case(f"ssrf-redirect-to-{name}", redirect_to(f"http://{host}:{{port}}/internal"),
             "fetch", detail, refused_before_connecting="/internal",
             resolver={"evil.test": ["127.0.0.1"], "metadata.test": ["169.254.169.254"],
                       "mixed.test": ["93.184.215.14", "10.0.0.1"]})
        for name, host, detail in [
            ("localhost", "localhost", "localhost resolves to 127.0.0.1, which is a loopback"),
            ("name-resolving-to-loopback", "evil.test", "evil.test resolves to 127.0.0.1"),
            ("cloud-metadata", "metadata.test", "169.254.169.254, which is a link-local"),
            ("round-robin-with-a-private-answer", "mixed.test", "10.0.0.1, which is a private"),
            ("decimal-ip", "2130706433", "2130706433 resolves to 127.0.0.1, which is a loopback"),
            ("hex-ip", "0x7f.1", "0x7f.1 resolves to 127.0.0.1, which is a loopback"),
            ("octal-ip", "0177.0.0.1", "Invalid IPv4 address"),  # httpx refuses it outright
            ("short-ip", "127.1", "127.1 resolves to 127.0.0.1, which is a loopback"),
            ("ipv4-mapped-ipv6", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1 is a loopback"),
            ("ipv6-loopback", "[::1]", "blocked address: ::1 is a loopback"),
            ("unspecified", "0.0.0.0", "0.0.0.0 is a unspecified"),
        ]
    ],
    # -- parser abuse (in worker processes) --------------------------------------------
    Case("quadratic-attributes", at("/hostile", feed(attributes(50_000))), "parse",
         "parser worker exceeded 2 s", seconds=4.0),
    Case("memory-hungry-document", at("/hostile", feed(big_feed(60_000))), "parse",
         "parser worker exceeded 32 MB", seconds=8.0,
         max_body=10 * MB, parse_memory=32 * MB, parse_timeout=20),
    Case("billion-laughs", at("/hostile", feed(with_doctype(LAUGHS))), "unchanged", seconds=3.0),
    # Defused, not expanded: the title keeps the unexpanded references.
    Case("big-entity-referenced-often",
         at("/hostile", feed(with_doctype(BIG_ENTITY).replace(b"Hostile 1", b"&big;" * 2000))),
         "unchanged", seconds=3.0, rows_same=False),
    Case("odd-character-references", at("/hostile", feed(TITLE_REFS)), "unchanged",
         rows_same=False, titles=("Hostile 0 \ufffd\ufffd\ufffd", "Hostile 1", "Hostile 2")),
    # -- not a feed ---------------------------------------------------------------------
    Case("html-bot-challenge", at("/hostile", feed(html_page(), "text/html")), "parse",
         "an HTML page, not a feed; it links to: http://127.0.0.1:"),
    Case("empty-body", at("/hostile", feed(b"")), "parse", "empty document"),
    Case("json-not-json-feed", at("/hostile", feed(b'{"hello": [1, 2]}', "application/json")),
         "parse", "not a JSON Feed"),
    Case("binary", at("/hostile", feed(bytes(range(256)) * 64, "application/octet-stream")),
         "parse", "not an RSS, Atom or JSON feed"),
    # -- encodings ----------------------------------------------------------------------
    Case("http-charset-contradicts-body",
         at("/hostile", feed(CP1252, "application/rss+xml; charset=utf-8")), "unchanged",
         rows_same=False, titles=("Café “quoted”", "Hostile 1", "Hostile 2")),
    Case("utf16-bom-no-declaration", at("/hostile", feed(UTF16, "application/rss+xml")),
         "unchanged", rows_same=False, titles=("Café über", "Hostile 1", "Hostile 2")),
    # -- broken documents ---------------------------------------------------------------
    Case("truncated-xml-keeps-what-it-can", at("/hostile", feed(TRUNCATED)), "new",
         rows_same=False, titles=("Hostile 0", "Hostile 1", "Hostile 2", "Hostile fresh")),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile(case: Case, tmp_path: Path) -> None:
    world = World(tmp_path, settings=case.settings, source=case.source, max_body=case.max_body,
                  parse_memory=case.parse_memory, parse_timeout=case.parse_timeout)  # fmt: skip
    world.dns = dict(case.resolver)
    if case.tls:
        contexts = h.self_signed(tmp_path)
        if contexts is None:
            pytest.skip("openssl is not installed")
        world.tls, world.trust = contexts
    m = asyncio.run(world.run(case.routes, url=case.url))
    RESULTS.append((case.id, m.outcome.outcome, m.seconds, m.peak_mb, m.lag))

    assert m.outcome.outcome == case.kind, m.outcome
    assert case.detail in (m.outcome.error or ""), m.outcome.error
    assert m.seconds < case.seconds, f"{m.seconds:.2f}s"
    assert m.peak_mb < case.mb, f"peak grew by {m.peak_mb:.1f} MB"
    assert m.lag < 0.5, f"event loop stalled for {m.lag:.2f}s"
    # The healthy source in the same cycle was fetched, parsed and stored.
    assert (m.healthy.outcome, m.healthy.new) == ("new", 1), m.healthy
    if case.rows_same:
        assert m.rows_after == m.rows_before
        assert m.files_after == m.files_before
    else:  # nothing stored is ever lost: every earlier entry is still there
        assert {r[0] for r in m.rows_before} <= {r[0] for r in m.rows_after}
    assert {"hostile-only.atom", "hostile-only.rss", "hostile-only.json"} <= set(m.files_before)
    if case.titles is not None:
        assert sorted(m.titles) == sorted(case.titles)
    if case.refused_before_connecting:
        assert case.refused_before_connecting not in m.requests, m.requests
