"""Politeness and source states against real loopback servers: per-host limits and
spacing, what publishers ask for (cache hints, <ttl>, Retry-After), 410 retires,
404 backs off, a permanent redirect is trusted only when seen consistently, and
addresses are vetted where the connection is made."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import config, health, schedule
from aggregator.errors import FetchError, ParseError
from aggregator.fetch import Fetcher
from aggregator.models import Ingested
from aggregator.parse_workers import ParseWorkers
from aggregator.pipeline import PERMANENT_AFTER, Pipeline, SourceOutcome, fetcher
from aggregator.store import Store
from tests.feeds import Item, rss
from tests.loopback import LoopbackServer

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FEED = rss("F", "https://f.example/", [Item("1", "One", "https://f.example/1", NOW)])


# -- per-host limit and spacing --------------------------------------------------------


def test_per_host_limit_and_spacing_hold_while_other_hosts_go_on() -> None:
    starts: dict[int, list[float]] = {}
    active: dict[int, int] = {}
    peak: dict[int, int] = {}

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        await reader.readuntil(b"\r\n\r\n")
        starts.setdefault(port, []).append(time.monotonic())
        active[port] = active.get(port, 0) + 1
        peak[port] = max(peak.get(port, 0), active[port])
        await asyncio.sleep(0.15)  # long enough for a third request to pile up
        active[port] -= 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    async def scenario() -> float:
        one = await asyncio.start_server(handler, "127.0.0.1", 0)
        two = await asyncio.start_server(handler, "127.0.0.1", 0)
        urls = [f"http://127.0.0.1:{s.sockets[0].getsockname()[1]}/f" for s in (one, two)]
        async with Fetcher(
            user_agent="t", timeout=5, max_body_size=1000, max_concurrency=16,
            per_host_limit=2, per_host_delay=0.05, allow_private=True,
        ) as f:  # fmt: skip
            started = time.monotonic()
            await asyncio.gather(
                *(f.fetch(f"a{i}", f"{urls[0]}{i}") for i in range(6)),
                f.fetch("b", urls[1], per_host_limit=1),
            )
            elapsed = time.monotonic() - started
        one.close()
        two.close()
        return elapsed

    elapsed = asyncio.run(scenario())
    busy = max(starts, key=lambda p: len(starts[p]))
    assert len(starts[busy]) == 6
    assert peak[busy] == 2  # never more than two in flight to one host:port
    gaps = [b - a for a, b in zip(starts[busy], starts[busy][1:], strict=False)]
    # Starts are spaced per_host_delay (0.05 s) apart when sent; arrivals jitter on a
    # loaded machine (one gap of 0.011 s has been seen). Without spacing, the two
    # requests of each round would arrive together: three gaps near zero.
    assert sorted(gaps)[1] >= 0.03
    assert sum(gaps) / len(gaps) >= 0.045
    assert elapsed < 1.5  # three rounds of 0.15 s, plus spacing: limited, not serialised


def test_a_name_is_connected_to_the_address_that_was_vetted(server: LoopbackServer) -> None:
    # The system cannot resolve feeds.test: the request can only succeed if the
    # connection went to the address our resolver returned (no second lookup).
    server.route("/feed", FEED)
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    async def scenario(allow: bool) -> object:
        async with Fetcher(user_agent="t", timeout=5, max_body_size=10_000, max_concurrency=2,
                           allow_private=allow, resolver=resolver) as f:  # fmt: skip
            return await f.fetch("s", f"http://feeds.test:{server.port}/feed")

    result = asyncio.run(scenario(True))
    assert getattr(result, "body", None) == FEED and asked == ["feeds.test"]
    with pytest.raises(FetchError) as info:
        asyncio.run(scenario(False))
    assert "feeds.test resolves to 127.0.0.1, which is a loopback" in info.value.detail
    assert len(server.requests_for("/feed")) == 1  # the refused one never connected


def test_private_addresses_are_refused_by_default(server: LoopbackServer) -> None:
    server.route("/feed", FEED)

    async def scenario() -> object:
        async with Fetcher(user_agent="t", timeout=5, max_body_size=10_000,
                           max_concurrency=2) as f:  # fmt: skip
            return await f.fetch("s", server.url("/feed"))

    with pytest.raises(FetchError) as info:
        asyncio.run(scenario())
    assert "blocked address: 127.0.0.1 is a loopback address" in info.value.detail
    assert "allow_private_addresses is off" in info.value.detail
    assert server.requests == []


# -- the pipeline's policy -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def setup(tmp_path: Path, server: LoopbackServer, sources: str) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text(
        "[aggregator]\nallow_private_addresses = true\nper_host_delay = 0\n"
        'interval = "30m"\n' + sources.format(base=server.url("")),
        encoding="utf-8",
    )
    return config.load(path)


def run(cfg: config.Config, store: Store, clock: Clock, **kwargs: object) -> list[SourceOutcome]:
    async def go() -> list[SourceOutcome]:
        async with fetcher(cfg) as http:
            report = await Pipeline(cfg, store, http, clock=clock).update(**kwargs)  # type: ignore[arg-type]
        return report.outcomes

    return asyncio.run(go())


def test_cache_hints_ttl_and_retry_after_set_the_next_fetch(
    tmp_path: Path, server: LoopbackServer
) -> None:
    ttl_feed = FEED.replace(b"<channel>", b"<channel><ttl>180</ttl>")
    server.route("/cached", FEED, headers={"Cache-Control": "max-age=7200"})
    server.route("/ttl", ttl_feed)
    server.route("/limited", status=429, headers={"Retry-After": "10800"})
    server.route("/huge", FEED, headers={"Cache-Control": "max-age=99999999"})
    cfg = setup(tmp_path, server, "".join(
        f'[sources.{n}]\nurl = "{{base}}/{n}"\n' for n in ("cached", "ttl", "limited", "huge")
    ))  # fmt: skip
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        run(cfg, store, clock, everything=True)
        states = store.source_states()
    assert states["cached"].next_fetch == NOW + timedelta(hours=2)
    assert states["ttl"].next_fetch == NOW + timedelta(hours=3)
    assert states["ttl"].feed_ttl == 180
    assert states["limited"].next_fetch == NOW + timedelta(hours=3)
    assert states["huge"].next_fetch == NOW + timedelta(hours=24)  # clamped


def test_absurd_header_numbers_fail_no_one_but_their_source(
    tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/retry", status=429, headers={"Retry-After": "9" * 14})
    server.route("/age", FEED, headers={"Cache-Control": "max-age=60", "Age": "9" * 5000})
    server.route("/boom", FEED, headers={"X-Boom": "1"})
    server.route("/ok", FEED)
    cfg = setup(tmp_path, server, "".join(
        f'[sources.{n}]\nurl = "{{base}}/{n}"\n' for n in ("retry", "age", "boom", "ok")
    ))  # fmt: skip
    real = schedule.publisher_delay

    def buggy(headers: Mapping[str, str], ttl: int | None = None) -> timedelta:
        if "x-boom" in headers:  # stands for any bug met on one source's input
            raise OverflowError("date value out of range")
        return real(headers, ttl)

    monkeypatch.setattr(schedule, "publisher_delay", buggy)
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        outcomes = {o.source_id: o for o in run(cfg, store, clock, everything=True)}
        states = store.source_states()
        assert store.entry_count() == 2  # age and ok were stored
    assert outcomes["ok"].error is None and outcomes["age"].error is None
    assert states["age"].next_fetch == NOW + timedelta(minutes=30)  # stale: the interval
    assert outcomes["retry"].outcome == "rate-limited"
    assert states["retry"].next_fetch == NOW + timedelta(days=7)  # clamped, no overflow
    boom = outcomes["boom"].error or ""
    assert "unexpected OverflowError: date value out of range" in boom
    assert states["boom"].error_count == 1 and states["boom"].next_fetch is not None


def test_an_edited_interval_applies_at_once_within_the_publishers_wishes(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.route("/plain", FEED)
    server.route("/cached", FEED, headers={"Cache-Control": "max-age=7200"})
    server.route("/failing", status=500)
    sources = (
        '[sources.plain]\nurl = "{base}/plain"\ninterval = "6h"\n'
        '[sources.cached]\nurl = "{base}/cached"\n'
        '[sources.failing]\nurl = "{base}/failing"\ninterval = "12h"\n'  # backs off ~12 h
    )
    cfg = setup(tmp_path, server, sources)
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        run(cfg, store, clock, everything=True)
        clock.now += timedelta(minutes=45)
        assert run(cfg, store, clock) == []  # plain waits 6 h, cached 2 h, failing backs off
        # "6h" becomes 30 minutes (the [aggregator] interval), as a live reload does.
        path = tmp_path / "config.toml"
        path.write_text(path.read_text().replace('interval = "6h"\n', ""), encoding="utf-8")
        cfg = config.load(path)
        due = [o.source_id for o in run(cfg, store, clock)]
        # The failing source keeps its backoff; the cached one keeps the 2 hours its
        # publisher asked for, whatever the interval.
        assert due == ["plain"]
        status = health.snapshot(cfg, store, clock.now)
        when = {s["id"]: s["next_fetch"] for s in status["sources"]}
        assert when["plain"] == (clock.now + timedelta(minutes=30)).isoformat()
        assert when["cached"] == (NOW + timedelta(hours=2)).isoformat()
        # Lengthened again: the source waits the new interval from its last fetch.
        path.write_text(path.read_text().replace('interval = "30m"', 'interval = "3h"'))
        cfg = config.load(path)
        clock.now += timedelta(hours=2, minutes=30)  # 2.5 h after plain's last fetch
        assert [o.source_id for o in run(cfg, store, clock)] == ["cached"]
        assert store.source_states()["failing"].error_count == 1


def test_410_retires_the_source_and_keeps_its_articles(
    tmp_path: Path, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/feed", FEED)
    cfg = setup(tmp_path, server, '[sources.s]\nurl = "{base}/feed"\n')
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        run(cfg, store, clock, everything=True)
        server.route("/feed", status=410)
        clock.now += timedelta(hours=1)
        (outcome,) = run(cfg, store, clock, everything=True)
        assert outcome.outcome == "gone"
        state = store.source_states()["s"]
        assert state.retired_at == clock.now and state.next_fetch is None
        assert store.entry_count() == 1
        retired = [r for r in caplog.records if "is retired" in r.getMessage()]
        assert len(retired) == 1 and retired[0].levelname == "WARNING"
        # No more requests, however often the cycle runs and even with --all...
        for _ in range(3):
            clock.now += timedelta(days=2)
            assert run(cfg, store, clock, everything=True) == []
        assert len(server.requests_for("/feed")) == 2
        # ...until the operator names it: then a success brings it back.
        server.route("/feed", FEED)
        (back,) = run(cfg, store, clock, only=["s"])
        assert back.error is None and store.source_states()["s"].retired_at is None


def test_404_backs_off_and_never_deletes(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/feed", FEED)
    cfg = setup(tmp_path, server, '[sources.s]\nurl = "{base}/feed"\n')
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        run(cfg, store, clock, everything=True)
        server.route("/feed", status=404)
        delays = []
        for _ in range(4):
            clock.now += timedelta(days=3)
            (outcome,) = run(cfg, store, clock)
            assert outcome.outcome == "fetch" and "404" in (outcome.error or "")
            state = store.source_states()["s"]
            assert state.next_fetch is not None
            delays.append(state.next_fetch - clock.now)
        assert store.entry_count() == 1
        assert state.failing_since == NOW + timedelta(days=3)  # the first failure
        assert state.retired_at is None
        assert delays[0] < delays[1] < delays[2] < delays[3]  # exponential


def test_permanent_redirect_is_trusted_only_when_seen_consistently(
    tmp_path: Path, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.route("/old", status=301, headers={"Location": "/new"})
    server.route("/new", FEED, etag='"n"')
    server.route("/tmp", status=302, headers={"Location": "/new"})
    cfg = setup(
        tmp_path, server, '[sources.s]\nurl = "{base}/old"\n[sources.t]\nurl = "{base}/tmp"\n'
    )
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        for n in range(1, PERMANENT_AFTER + 1):
            effective = store.source_states().get("s")
            assert effective is None or effective.effective_url is None
            run(cfg, store, clock, everything=True)
            assert store.source_states()["s"].redirect_count == n
        states = store.source_states()
        assert states["s"].effective_url == server.url("/new")
        assert states["t"].effective_url is None  # 302: followed, never stored
        moved = [r for r in caplog.records if "moved permanently" in r.getMessage()]
        assert len(moved) == 1 and "update its url in" in moved[0].getMessage()
        before = len(server.requests_for("/old"))
        run(cfg, store, clock, everything=True)
        assert len(server.requests_for("/old")) == before  # fetched at its new address


def test_one_permanent_redirect_that_goes_away_is_forgotten(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.route("/old", status=301, headers={"Location": "/new"})
    server.route("/new", FEED)
    cfg = setup(tmp_path, server, '[sources.s]\nurl = "{base}/old"\n')
    clock = Clock()
    with Store.open(cfg.settings.database) as store:
        run(cfg, store, clock, everything=True)
        server.route("/old", FEED)  # a misconfigured deploy, fixed
        run(cfg, store, clock, everything=True)
        state = store.source_states()["s"]
        assert (state.redirect_count, state.effective_url) == (0, None)


# -- parser workers --------------------------------------------------------------------


def slow_document() -> bytes:
    attrs = b" ".join(b'a%d="1"' % i for i in range(50_000))
    return FEED.replace(b"<title>One</title>", b"<title %s>One</title>" % attrs)


def test_a_killed_worker_is_replaced_and_others_go_on() -> None:
    async def scenario() -> tuple[BaseException | object, ...]:
        async with ParseWorkers(2, timeout=20, max_memory=256 << 20) as pool:

            async def parse(body: bytes, sid: str) -> object:
                return await pool.parse(body, source_id=sid, url="http://x/", content_type=None)

            slow = asyncio.create_task(parse(slow_document(), "victim"))
            await _until(lambda: len(pool.pids) == 1)
            (pid,) = pool.pids
            await asyncio.sleep(0.3)  # it is parsing now
            os.kill(pid, signal.SIGKILL)
            results = await asyncio.gather(
                slow, parse(FEED, "a"), parse(FEED, "b"), return_exceptions=True
            )
            assert pid not in pool.pids
            return tuple(results)

    victim, a, b = asyncio.run(scenario())
    assert isinstance(victim, ParseError) and "parser worker died (signal 9" in victim.detail
    assert isinstance(a, Ingested) and isinstance(b, Ingested)
    assert a.feed.title == "F" and b.feed.title == "F" and len(a.entries) == len(a.feed.entries)


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
