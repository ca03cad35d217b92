"""A hostile world on 127.0.0.1 for tests: a raw asyncio HTTP server whose routes can
lie, stall, reset and redirect, and a harness that runs two real pipeline cycles
(healthy first, then hostile) and measures the second: time, peak memory, event loop
lag, what was stored and what was published.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import struct
import subprocess
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator import config
from aggregator.fetch import Fetcher
from aggregator.fetch._address import system_resolver
from aggregator.parse_workers import ParseWorkers
from aggregator.pipeline import CycleReport, Pipeline, SourceOutcome, publish_all
from aggregator.store import Store
from tests.feeds import Item, rss

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
MB = 1024 * 1024
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _day(n: int) -> datetime:
    return NOW - timedelta(days=n)


HEALTHY_1 = [Item("h1", "Healthy one", "https://healthy.example/1", _day(2))]
HEALTHY_2 = [Item("h2", "Healthy two", "https://healthy.example/2", _day(1)), *HEALTHY_1]
HOSTILE_ITEMS = [
    Item(f"x{i}", f"Hostile {i}", f"https://hostile.example/{i}", _day(3 + i)) for i in range(3)
]
HOSTILE_GOOD = rss("Hostile", "https://hostile.example/", HOSTILE_ITEMS)


# -- responses ------------------------------------------------------------------------


async def read_head(reader: asyncio.StreamReader) -> str:
    head = await reader.readuntil(b"\r\n\r\n")
    return head.split(b" ", 2)[1].decode()


def response(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    out = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    lines = "".join(f"{k}: {v}\r\n" for k, v in out.items())
    return f"HTTP/1.1 {status} X\r\n{lines}\r\n".encode("latin-1") + body


def send(data: bytes, *, then_hang: bool = False) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        if then_hang:
            await reader.read()

    return handler


def feed(body: bytes, content_type: str = "application/rss+xml", **headers: str) -> Handler:
    return send(response(200, body, {"Content-Type": content_type, **headers}))


def redirect(location: str, status: int = 301) -> Handler:
    return send(response(status, b"", {"Location": location}))


def drip(head: bytes, byte: bytes = b"x", every: float = 0.05) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head)
        while True:
            writer.write(byte)
            await writer.drain()
            await asyncio.sleep(every)

    return handler


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


def endless_chunks(chunk_size: int = 64 * 1024) -> Handler:
    chunk = b"%x\r\n%s\r\n" % (chunk_size, b"<" * chunk_size)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            writer.write(chunk)
            await writer.drain()

    return handler


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<rss>")
    await writer.drain()
    transport = writer.transport
    sock = transport.get_extra_info("socket")
    if sock is not None:  # SO_LINGER 0: close sends RST, not FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def gzip_bomb(size: int, wbits: int = 31) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MB)
    return b"".join(packer.compress(zeros) for _ in range(size // MB)) + packer.flush()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


# -- the world ------------------------------------------------------------------------


@dataclass
class Measured:
    outcome: SourceOutcome
    healthy: SourceOutcome
    seconds: float  # the second cycle, start to end
    peak_mb: float  # growth of this process's peak RSS during it
    lag: float  # the longest the event loop went without running a 10 ms ticker
    rows_before: list[tuple[object, ...]]
    rows_after: list[tuple[object, ...]]
    files_before: dict[str, bytes]
    files_after: dict[str, bytes]
    requests: list[str]  # paths asked for in the second cycle
    titles: list[str]  # the hostile source's stored titles after it


@dataclass
class World:
    tmp_path: Path
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    port: int = 0
    tls_port: int = 0
    settings: str = ""  # extra [aggregator] lines
    max_body: int = MB
    parse_memory: int = 128 * MB
    parse_timeout: int = 2
    source: str = ""  # extra [sources.hostile] lines
    # Names the fake resolver knows, per cycle (None: it never answers; []: NXDOMAIN);
    # other names go to the system resolver. Cycle 1 sends every known name to loopback.
    dns: dict[str, list[str] | None] = field(default_factory=dict)
    tls: ssl.SSLContext | None = None  # server side
    trust: ssl.SSLContext | None = None  # client side

    _second_cycle: bool = False

    async def _resolve(self, host: str, port: int) -> list[str]:
        if host not in self.dns:
            return await system_resolver(host, port)
        if not self._second_cycle:
            return ["127.0.0.1"]
        answer = self.dns[host]
        if answer is None:
            await asyncio.Event().wait()  # a resolver that never answers
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answer

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            path = await read_head(reader)
            self.requests.append(path)
            handler = self.routes.get(path) or send(response(404, b"not found"))
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client hung up, as it should
        finally:
            writer.close()

    def write_config(self, hostile_url: str) -> config.Config:
        text = f"""
[aggregator]
timeout = 1
max_body_size = {self.max_body}
allow_private_addresses = true  # loopback sources
per_host_delay = 0
per_host_limit = 8
parse_timeout = {self.parse_timeout}
parse_max_memory = {self.parse_memory}
{self.settings}

[sources.healthy]
url = "http://127.0.0.1:{self.port}/healthy"

[sources.hostile]
url = "{hostile_url}"
{self.source}

[topics.everything]
title = "Everything"

[topics.hostile-only]
title = "Hostile only"
sources = ["hostile"]
"""
        path = self.tmp_path / "config.toml"
        path.write_text(text, encoding="utf-8")
        return config.load(path)

    async def run(self, hostile: Callable[[World], dict[str, Handler]], *, url: str) -> Measured:
        """Cycle 1: everything healthy. Cycle 2: the routes `hostile` builds (once the
        ports are known), measured."""
        servers = [await asyncio.start_server(self._connected, "127.0.0.1", 0)]
        self.port = servers[0].sockets[0].getsockname()[1]
        if self.tls is not None:
            servers.append(
                await asyncio.start_server(self._connected, "127.0.0.1", 0, ssl=self.tls)
            )
            self.tls_port = servers[1].sockets[0].getsockname()[1]
        try:
            return await self._cycles(hostile, url.format(port=self.port, tls_port=self.tls_port))
        finally:
            for server in servers:
                server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    for server in servers:
                        await server.wait_closed()

    async def _cycles(self, hostile: Callable[[World], dict[str, Handler]], url: str) -> Measured:
        cfg = self.write_config(url)
        s = cfg.settings
        self.routes = {
            "/healthy": feed(rss("Healthy", "https://healthy.example/", HEALTHY_1)),
            "/hostile": feed(HOSTILE_GOOD),
        }
        out = s.output_dir
        async with (
            Fetcher(
                user_agent="aggregator-test/1", timeout=s.timeout.total_seconds(),
                max_body_size=s.max_body_size, max_concurrency=8,
                per_host_limit=s.per_host_limit, per_host_delay=0,
                allow_private=s.allow_private_addresses,
                ssl_context=self.trust,
                resolver=self._resolve,
            ) as fetcher,
            ParseWorkers(
                2, timeout=s.parse_timeout.total_seconds(), max_memory=s.parse_max_memory
            ) as parsers,
        ):  # fmt: skip
            with Store.open(s.database) as store:
                pipeline = Pipeline(cfg, store, fetcher, clock=lambda: NOW, parsers=parsers)
                first = await pipeline.update(everything=True)
                assert {o.outcome for o in first.outcomes} == {"new"}, first.outcomes
                publish_all(cfg, store, NOW)
                rows_before = _rows(store)
                files_before = _files(out)

                self.routes = {
                    "/healthy": feed(rss("Healthy", "https://healthy.example/", HEALTHY_2)),
                    **hostile(self),
                }
                self.requests.clear()
                self._second_cycle = True
                report, seconds, peak, lag = await _measured(pipeline.update(everything=True))
                publish_all(cfg, store, NOW)
                outcomes = {o.source_id: o for o in report.outcomes}
                return Measured(
                    outcome=outcomes["hostile"],
                    healthy=outcomes["healthy"],
                    seconds=seconds,
                    peak_mb=peak,
                    lag=lag,
                    rows_before=rows_before,
                    rows_after=_rows(store),
                    files_before=files_before,
                    files_after=_files(out),
                    requests=list(self.requests),
                    titles=[str(r[1]) for r in _rows(store)],
                )


async def _measured(work: Awaitable[CycleReport]) -> tuple[CycleReport, float, float, float]:
    lag = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        last = time.monotonic()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            lag = max(lag, now - last - 0.01)
            last = now

    before = _reset_peak()
    started = time.monotonic()
    tick = asyncio.create_task(ticker())
    try:
        report = await work
    finally:
        done.set()
        await tick
    seconds = time.monotonic() - started
    return report, seconds, (_status_kb("VmHWM") - before) / 1024, lag


def _reset_peak() -> int:
    """Resets the peak RSS (Linux: clear_refs 5) and returns the current RSS in kB."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _rows(store: Store) -> list[tuple[object, ...]]:
    return sorted(
        (e.key, e.title, e.link, e.summary, e.first_seen, e.sort_date)
        for e in store.stories()
        if e.source_id == "hostile"
    )


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in out.glob("hostile-only.*")}


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext] | None:
    """(server context, client context trusting it) for 127.0.0.1; None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
