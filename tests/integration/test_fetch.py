"""fetch.Fetcher against real HTTP on 127.0.0.1: the loopback server for ordinary
routes, small asyncio servers written here for hostile ones."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from aggregator.errors import FetchError, Gone, RateLimited
from aggregator.fetch import ACCEPT, Fetcher
from aggregator.models import FetchResult, NotModified
from tests.loopback import LoopbackServer

UA = "aggregator-test/1.0 (+https://example.invalid/about)"
KB = 1024
MB = 1024 * 1024

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def make_fetcher(
    *, timeout: float = 3.0, max_body_size: int = MB, max_concurrency: int = 4
) -> Fetcher:
    # Every server here is on 127.0.0.1 and one host: no address check, no spacing.
    return Fetcher(
        user_agent=UA,
        timeout=timeout,
        max_body_size=max_body_size,
        max_concurrency=max_concurrency,
        per_host_limit=max_concurrency,
        per_host_delay=0,
        allow_private=True,
    )


async def fetch_once(url: str, **kwargs: Any) -> FetchResult | NotModified:
    options = {k: kwargs.pop(k) for k in ("timeout", "max_body_size") if k in kwargs}
    async with make_fetcher(**options) as fetcher:
        return await fetcher.fetch("src", url, **kwargs)


def get(url: str, **kwargs: Any) -> FetchResult:
    result = asyncio.run(fetch_once(url, **kwargs))
    assert isinstance(result, FetchResult), result
    return result


def fails(url: str, **kwargs: Any) -> FetchError:
    return fails_with(fetch_once(url, **kwargs))


def fails_with(coro: Coroutine[Any, Any, object]) -> FetchError:
    with pytest.raises(FetchError) as info:
        asyncio.run(coro)
    assert info.value.source_id == "src"
    return info.value


@asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """An HTTP-ish server on an ephemeral port that does whatever `handler` does."""
    writers: list[asyncio.StreamWriter] = []

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, as it should
        finally:
            writer.close()

    server = await asyncio.start_server(connected, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def read_head(reader: asyncio.StreamReader) -> str:
    """The request's path."""
    head = await reader.readuntil(b"\r\n\r\n")
    return head.split(b" ", 2)[1].decode()


def respond_with(head: bytes, body: bytes = b"", *, then_hang: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(head + body)
        await writer.drain()
        if then_hang:
            await reader.read()  # until the client gives up

    return handler


# -- success and validators ------------------------------------------------------------


def test_200_returns_body_validators_and_lowercased_headers(server: LoopbackServer) -> None:
    server.route(
        "/feed",
        b"<rss>hello</rss>",
        etag='"v1"',
        last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
        headers={"Content-Type": "application/rss+xml; charset=utf-8", "X-Custom": "yes"},
    )
    result = get(server.url("/feed"))
    assert result.status == 200
    assert result.body == b"<rss>hello</rss>"
    assert result.url == result.final_url == server.url("/feed")
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 21 Oct 2015 07:28:00 GMT"
    assert result.permanent_url is None
    assert type(result.headers) is dict
    assert result.headers["x-custom"] == "yes"
    assert "X-Custom" not in result.headers


def test_request_headers_user_agent_accept_no_cookies(server: LoopbackServer) -> None:
    server.route("/feed", b"x", headers={"Set-Cookie": "session=abc; Path=/"})

    async def twice() -> None:
        async with make_fetcher() as fetcher:
            await fetcher.fetch("src", server.url("/feed"))
            await fetcher.fetch("src", server.url("/feed"))

    asyncio.run(twice())
    first, second = server.requests_for("/feed")
    assert first.headers["user-agent"] == UA
    assert first.headers["accept"] == ACCEPT
    assert first.headers["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in first.headers
    assert "if-modified-since" not in first.headers
    # A cookie set for one fetch must not ride along on the next.
    assert "cookie" not in second.headers


def test_conditional_request_replays_validators_exactly(server: LoopbackServer) -> None:
    # Opaque values: a comma, a weak prefix, a latin-1 byte, a Last-Modified that is no date.
    etag = 'W/"caf\xe9, 1"'
    last_modified = "yesterday-ish"
    server.route("/feed", b"<rss/>", etag=etag, last_modified=last_modified)
    first = get(server.url("/feed"))
    assert (first.etag, first.last_modified) == (etag, last_modified)

    second = asyncio.run(
        fetch_once(server.url("/feed"), etag=first.etag, last_modified=first.last_modified)
    )
    assert second == NotModified(url=server.url("/feed"), etag=etag, last_modified=last_modified)
    sent = server.requests_for("/feed")[1].headers
    assert sent["if-none-match"] == etag
    assert sent["if-modified-since"] == last_modified


def test_if_modified_since_alone_gets_not_modified(server: LoopbackServer) -> None:
    server.route("/feed", b"<rss/>", last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    result = asyncio.run(
        fetch_once(server.url("/feed"), last_modified="Wed, 21 Oct 2015 07:28:00 GMT")
    )
    assert isinstance(result, NotModified)
    changed = asyncio.run(
        fetch_once(server.url("/feed"), last_modified="Thu, 22 Oct 2015 07:28:00 GMT")
    )
    assert isinstance(changed, FetchResult)


def test_304_without_validators_keeps_the_ones_sent(server: LoopbackServer) -> None:
    server.route("/feed", status=304)
    result = asyncio.run(fetch_once(server.url("/feed"), etag='"e"', last_modified="lm"))
    assert result == NotModified(url=server.url("/feed"), etag='"e"', last_modified="lm")


def test_304_to_an_unconditional_request_is_an_error(server: LoopbackServer) -> None:
    server.route("/feed", status=304)
    error = fails(server.url("/feed"))
    assert error.status == 304 and "without validators" in error.detail


# -- redirects -------------------------------------------------------------------------


def test_permanent_redirect_chain_sets_permanent_url(server: LoopbackServer) -> None:
    server.route("/dir/old", status=301, headers={"Location": "next"})  # relative
    server.route("/dir/next", status=308, headers={"Location": server.url("/feed")})
    server.route("/feed", b"<rss/>", etag='"v"')
    result = get(server.url("/dir/old"), etag='"stale"')
    assert result.url == server.url("/dir/old")
    assert result.final_url == server.url("/feed")
    assert result.permanent_url == server.url("/feed")
    assert result.body == b"<rss/>"
    assert [r.path for r in server.requests] == ["/dir/old", "/dir/next", "/feed"]
    # Validators follow the feed to its new address.
    assert server.requests_for("/feed")[0].headers["if-none-match"] == '"stale"'


@pytest.mark.parametrize("temporary", [302, 303, 307])
def test_one_temporary_hop_clears_permanent_url(server: LoopbackServer, temporary: int) -> None:
    server.route("/a", status=301, headers={"Location": "/b"})
    server.route("/b", status=temporary, headers={"Location": "/c"})
    server.route("/c", status=308, headers={"Location": "/feed"})
    server.route("/feed", b"<rss/>")
    result = get(server.url("/a"))
    assert result.final_url == server.url("/feed")
    assert result.permanent_url is None


def chain(server: LoopbackServer, prefix: str, redirects: int) -> str:
    for i in range(redirects):
        server.route(f"/{prefix}{i}", status=301, headers={"Location": f"/{prefix}{i + 1}"})
    server.route(f"/{prefix}{redirects}", b"end")
    return server.url(f"/{prefix}0")


def test_five_redirects_are_followed(server: LoopbackServer) -> None:
    result = get(chain(server, "h", 5))
    assert result.body == b"end"
    assert result.permanent_url == server.url("/h5")


def test_six_redirects_fail(server: LoopbackServer) -> None:
    error = fails(chain(server, "h", 6))
    assert "more than 5 redirects" in error.detail
    assert server.requests_for("/h6") == []


@pytest.mark.parametrize("hops", [["/loop"], ["/l1", "/l2", "/l3"]])
def test_redirect_loop_fails(server: LoopbackServer, hops: list[str]) -> None:
    for here, there in zip(hops, hops[1:] + hops[:1], strict=True):
        server.route(here, status=302, headers={"Location": there})
    error = fails(server.url(hops[0]))
    assert "loop" in error.detail
    assert len(server.requests) == len(hops)


@pytest.mark.parametrize(
    "location", ["ftp://example.com/feed.xml", "file:///etc/passwd", "javascript:alert(1)"]
)
def test_redirect_to_other_scheme_fails(server: LoopbackServer, location: str) -> None:
    server.route("/feed", status=301, headers={"Location": location})
    error = fails(server.url("/feed"))
    assert error.detail.startswith("redirect to")
    if location.startswith(("ftp:", "file:")):  # httpx itself refuses a host-less javascript:
        assert location.split("/")[0] in error.detail


def test_redirect_without_location_fails(server: LoopbackServer) -> None:
    server.route("/feed", status=302)
    assert "without a Location" in fails(server.url("/feed")).detail


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "not a url", "http:///feed"])
def test_non_http_url_fails(url: str) -> None:
    assert fails(url).url == url


# -- status codes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail"), [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error")]
)
def test_error_status_fails(server: LoopbackServer, status: int, detail: str) -> None:
    server.route("/feed", b"oops", status=status)
    error = fails(server.url("/feed"))
    assert type(error) is FetchError
    assert error.detail == detail
    assert error.status == status


def test_410_is_gone(server: LoopbackServer) -> None:
    server.route("/feed", status=410)
    with pytest.raises(Gone) as info:
        asyncio.run(fetch_once(server.url("/feed")))
    assert info.value.url == server.url("/feed")
    assert info.value.status == 410


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"),
    [
        (429, "120", (120.0, 120.0)),
        (503, " 7 ", (7.0, 7.0)),
        (429, "{in 90s}", (85.0, 90.0)),
        (503, "{in -3600s}", (0.0, 0.0)),
        (429, "soon, promise", None),
        (429, "-5", None),
        (503, None, None),
    ],
)
def test_rate_limited_parses_retry_after(
    server: LoopbackServer,
    status: int,
    retry_after: str | None,
    expected: tuple[float, float] | None,
) -> None:
    if retry_after and retry_after.startswith("{in "):  # an HTTP-date, made now
        when = datetime.now(UTC) + timedelta(seconds=int(retry_after[4:-2]))
        retry_after = format_datetime(when, usegmt=True)
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    server.route("/feed", status=status, headers=headers)
    with pytest.raises(RateLimited) as info:
        asyncio.run(fetch_once(server.url("/feed")))
    assert str(status) in info.value.detail
    if expected is None:
        assert info.value.retry_after is None
    else:
        assert info.value.retry_after is not None
        assert expected[0] <= info.value.retry_after <= expected[1]


# -- sizes and encodings ---------------------------------------------------------------


def test_body_at_the_limit_passes_and_one_byte_more_fails(server: LoopbackServer) -> None:
    server.route("/ok", b"x" * 2000)
    server.route("/big", b"x" * 2001)
    assert len(get(server.url("/ok"), max_body_size=2000).body) == 2000
    assert "2000 bytes" in fails(server.url("/big"), max_body_size=2000).detail


def test_content_length_over_limit_fails_before_reading() -> None:
    # Promises a gigabyte, sends 10 bytes, then waits: reading would hit the timeout.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n"

    async def scenario() -> None:
        async with raw_server(respond_with(head, b"x" * 10, then_hang=True)) as url:
            await fetch_once(url + "/feed", timeout=3.0, max_body_size=1000)

    started = time.monotonic()
    error = fails_with(scenario())
    assert "1000 bytes" in error.detail
    assert time.monotonic() - started < 1.5


def test_endless_chunked_body_fails_at_limit() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n%s\r\n" % (64 * KB, b"x" * 64 * KB)

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(head)
        while True:
            writer.write(chunk)
            await writer.drain()

    async def scenario() -> None:
        async with raw_server(endless) as url:
            await fetch_once(url + "/feed", timeout=3.0, max_body_size=MB)

    started = time.monotonic()
    error = fails_with(scenario())
    assert f"{MB} bytes" in error.detail
    assert time.monotonic() - started < 2.0


def test_gzip_bomb_is_bounded_while_decoding() -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    zeros = bytes(MB)
    bomb = b"".join(packer.compress(zeros) for _ in range(50)) + packer.flush()
    assert len(bomb) < 100 * KB  # 50 MB of zeros, squeezed
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb)

    async def scenario() -> None:
        async with raw_server(respond_with(head, bomb)) as url:
            await fetch_once(url + "/feed", timeout=3.0, max_body_size=MB)

    started = time.monotonic()
    tracemalloc.start()
    try:
        error = fails_with(scenario())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{MB} bytes" in error.detail
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"
    assert time.monotonic() - started < 3.0


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # zlib framing, as the RFC says
        ("deflate", lambda data: zlib.compress(data, wbits=-15)),  # raw, as some servers do
        ("identity", lambda data: data),
    ],
)
def test_compressed_body_is_decoded(
    server: LoopbackServer, coding: str, compress: Callable[[bytes], bytes]
) -> None:
    feed = b"<rss>" + b"<item>entry</item>" * 5000 + b"</rss>"
    server.route("/feed", compress(feed), headers={"Content-Encoding": coding})
    result = get(server.url("/feed"))
    assert result.body == feed
    assert result.headers["content-encoding"] == coding


def test_decoded_size_is_what_counts(server: LoopbackServer) -> None:
    body = gzip.compress(b"x" * 5000)
    server.route("/feed", body, headers={"Content-Encoding": "gzip"})
    assert len(body) < 1000
    assert "1000 bytes" in fails(server.url("/feed"), max_body_size=1000).detail


@pytest.mark.parametrize(
    ("coding", "body", "detail"),
    [
        ("gzip, gzip", gzip.compress(gzip.compress(b"<rss/>")), "unsupported Content-Encoding"),
        ("br", b"\x0b\x02\x80<rss/>\x03", "unsupported Content-Encoding"),
        ("gzip", b"\x1f\x8bthis is not gzip", "cannot decode"),
    ],
)
def test_bad_encoding_fails(server: LoopbackServer, coding: str, body: bytes, detail: str) -> None:
    server.route("/feed", body, headers={"Content-Encoding": coding})
    assert detail in fails(server.url("/feed")).detail


# -- time ------------------------------------------------------------------------------


def test_drip_body_hits_the_total_deadline() -> None:
    # A byte every 50 ms keeps any per-read timeout happy for the 50 s this would take.
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_head(reader)
        writer.write(head)
        for _ in range(1000):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)

    async def scenario() -> None:
        async with raw_server(drip) as url:
            await fetch_once(url + "/feed", timeout=0.5)

    started = time.monotonic()
    error = fails_with(scenario())
    elapsed = time.monotonic() - started
    assert error.detail == "timed out after 0.5s"
    assert 0.45 <= elapsed < 1.5


def test_server_that_never_answers_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()

    async def scenario() -> None:
        async with raw_server(silent) as url:
            await fetch_once(url + "/feed", timeout=0.5)

    started = time.monotonic()
    error = fails_with(scenario())
    assert "timed out after 0.5s" in error.detail
    assert time.monotonic() - started < 1.5


# -- transport failures ----------------------------------------------------------------


def test_connection_refused_fails() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: nobody else gets the port
        port = sock.getsockname()[1]
        error = fails(f"http://127.0.0.1:{port}/feed")
    assert error.detail.startswith("cannot connect")


@pytest.mark.parametrize(
    "reply",
    [b"", b"SSH-2.0-OpenSSH_9.6\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"],
)
def test_broken_replies_fail(reply: bytes) -> None:
    async def scenario() -> None:
        async with raw_server(respond_with(reply)) as url:
            await fetch_once(url + "/feed")

    error = fails_with(scenario())
    assert "protocol error" in error.detail


# -- concurrency and lifecycle ---------------------------------------------------------


def test_concurrency_is_used_and_bounded() -> None:
    limit, total = 3, 20  # below the 5 connections of one client: the global limit must hold
    state = {"active": 0, "peak": 0}
    overflow, release = asyncio.Event(), asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        path = await read_head(reader)
        state["active"] += 1
        state["peak"] = max(state["peak"], state["active"])
        if state["active"] > limit:
            overflow.set()
        if state["active"] == limit and not release.is_set():
            # All held at once proves parallelism; a fetcher ignoring the limit would send
            # more now, so give it a moment (a correct one passes however long this is).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await overflow.wait()
            release.set()
        await release.wait()
        state["active"] -= 1  # before answering, so the next request cannot overtake it
        body = path.encode()
        head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)
        await writer.drain()

    async def scenario() -> list[FetchResult | NotModified]:
        async with raw_server(handler) as url, make_fetcher(max_concurrency=limit) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"s{i}", f"{url}/feed/{i}") for i in range(total))
            )

    results = asyncio.run(scenario())
    assert [r.body for r in results if isinstance(r, FetchResult)] == [
        f"/feed/{i}".encode() for i in range(total)
    ]
    assert state["peak"] == limit


def test_many_parallel_fetches_over_several_clients(server: LoopbackServer) -> None:
    for i in range(60):
        server.route(f"/feed/{i}", f"feed {i}".encode())

    async def scenario() -> list[FetchResult | NotModified]:
        async with make_fetcher(max_concurrency=16) as fetcher:
            return await asyncio.gather(
                *(fetcher.fetch(f"s{i}", server.url(f"/feed/{i}")) for i in range(60))
            )

    results = asyncio.run(scenario())
    assert [r.body for r in results if isinstance(r, FetchResult)] == [
        f"feed {i}".encode() for i in range(60)
    ]


def test_fetch_outside_context_is_a_programming_error(server: LoopbackServer) -> None:
    fetcher = make_fetcher()
    with pytest.raises(RuntimeError):
        asyncio.run(fetcher.fetch("src", server.url("/feed")))

    async def after_exit() -> None:
        async with fetcher:
            pass
        await fetcher.fetch("src", server.url("/feed"))

    with pytest.raises(RuntimeError):
        asyncio.run(after_exit())
    assert server.requests == []
