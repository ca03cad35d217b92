"""`aggregator run` as a subprocess against loopback sources."""

from __future__ import annotations

import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import feedparser
import pytest

from tests.e2e.daemon import Daemon, poll
from tests.feeds import Item, atom, rss
from tests.loopback import LoopbackServer

NOW = datetime.now(UTC).replace(microsecond=0)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, _lower(exc.headers.items()), exc.read()


def _lower(items: list[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def entries(path: Path) -> list[tuple[str, str, str]]:
    return [(e.id, e.title, e.link) for e in feedparser.parse(path.read_bytes()).entries]


@pytest.fixture
def installation(tmp_path: Path, server: LoopbackServer) -> Path:
    server.route(
        "/a.xml",
        rss("Alpha", "https://alpha.example/", [
            Item("1", "Libya oil exports resume", "https://wire.example/x?utm_medium=rss",
                 NOW - timedelta(hours=2), "Crude flows again."),
            Item("2", "Tripoli talks on a unified government", "https://alpha.example/2",
                 NOW - timedelta(hours=3)),
        ]),
        etag='"a1"',
    )  # fmt: skip
    server.route(
        "/b.atom",
        atom("Beta", "https://beta.example/", [
            Item("urn:b:1", "Libyan oil exports resume", "https://wire.example/x",
                 NOW - timedelta(hours=1)),
        ]),
        etag='"b1"',
    )  # fmt: skip
    server.route("/dead", b"", status=404)
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[aggregator]
tick = "1s"
allow_private_addresses = true  # the sources are on loopback
per_host_delay = 0

[sources.alpha]
url = "{server.url("/a.xml")}"
title = "Alpha"

[sources.beta]
url = "{server.url("/b.atom")}"
title = "Beta"

[sources.dead]
url = "{server.url("/dead")}"

[topics.oil]
title = "Oil"
any = ["oil", "crude"]

[topics.libya]
title = "Libya politics"
any = ["Libya", "Libyan", "Tripoli"]
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def daemon(installation: Path) -> Iterator[Daemon]:
    d = Daemon(installation)
    yield d
    d.kill()


def test_daemon_publishes_serves_and_stops_cleanly(installation: Path, daemon: Daemon) -> None:
    feeds = installation.parent / "feeds"
    poll(lambda: (feeds / "oil.atom").exists() and (feeds / "index.html").exists(),
         what="the first publish")  # fmt: skip

    status, headers, body = get(daemon.url + "oil.atom")
    assert status == 200
    assert headers["content-type"].startswith("application/atom+xml")
    doc = feedparser.parse(body)
    assert not doc.bozo
    # Links follow the address actually served (the test listens on port 0).
    assert {(link.rel, link.href) for link in doc.feed.links} >= {("self", daemon.url + "oil.atom")}
    (entry,) = doc.entries  # one story, two outlets
    assert entry.title in {"Libya oil exports resume", "Libyan oil exports resume"}
    assert entry.link.startswith("https://wire.example/x")

    status, headers, _ = get(daemon.url + "libya.rss")
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")

    status, first, _ = get(daemon.url + "oil.atom")
    status, _, again = get(daemon.url + "oil.atom", {"If-None-Match": first["etag"]})
    assert status == 304 and again == b""
    status, _, _ = get(daemon.url + "oil.atom", {"If-Modified-Since": first["last-modified"]})
    assert status == 304

    status, headers, page = get(daemon.url)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'rel="alternate"' in page and b"oil.atom" in page
    assert get(daemon.url + "nothing-here.atom")[0] == 404
    assert get(daemon.url + "../config.toml")[0] == 404

    # The failing source is recorded and did not stop the others.
    assert "source dead failed" in daemon.log()
    assert daemon.stop(signal.SIGTERM) == 0
    assert "stopped" in daemon.log()


def test_sigint_also_exits_zero_and_a_restart_keeps_state(installation: Path) -> None:
    feeds = installation.parent / "feeds"
    first = Daemon(installation)
    try:
        poll(lambda: (feeds / "oil.atom").exists(), what="the first publish")
        assert first.stop(signal.SIGINT) == 0
    finally:
        first.kill()
    before = entries(feeds / "oil.atom")
    stale = feeds / ".oil.atom.x1y2.aggregator-tmp"  # as a kill -9 mid-publish leaves it
    stale.write_bytes(b"<feed")
    second = Daemon(installation)
    try:
        # Nothing is due after a restart: next fetch times live in the database.
        poll(lambda: "cycle done" in second.log(), what="a cycle")
        assert "0 sources" in second.log()
        # Same stories under the same ids (links differ: each run listens on a new port).
        assert entries(feeds / "oil.atom") == before
        assert not stale.exists()
        assert second.stop() == 0
    finally:
        second.kill()


def test_daemon_pings_the_hub_once_per_published_feed(
    installation: Path, server: LoopbackServer
) -> None:
    server.route("/hub", status=204)
    text = installation.read_text(encoding="utf-8")
    installation.write_text(
        text.replace("[aggregator]\n", f'[aggregator]\nhub = "{server.url("/hub")}"\n', 1),
        encoding="utf-8",
    )
    d = Daemon(installation)
    try:
        # Two topics, three formats each: six feeds, each announced once.
        hub_urls = poll(
            lambda: [r.body for r in server.requests_for("/hub")] if len(
                server.requests_for("/hub")) >= 6 else None,
            what="six hub pings",
        )  # fmt: skip
        poll(lambda: "cycle done" in d.log(), what="the first cycle")
        status, _, body = get(d.url + "oil.atom")
        assert status == 200
        assert f'href="{server.url("/hub")}" rel="hub"'.encode() in body
        assert d.stop() == 0
    finally:
        d.kill()
    forms = [parse_qs(body.decode()) for body in server_bodies(server)]
    assert sorted(f["hub.url"][0].removeprefix(d.url) for f in forms) == [
        "libya.atom",
        "libya.json",
        "libya.rss",
        "oil.atom",
        "oil.json",
        "oil.rss",
    ]
    assert {f["hub.mode"][0] for f in forms} == {"publish"}
    assert len(hub_urls) == 6


def test_a_story_min_age_held_back_is_published_without_another_fetch(
    installation: Path, server: LoopbackServer
) -> None:
    # Dated ahead: the story is dated when first seen, min_age from the fetch.
    fresh = Item("3", "Oil tanker leaves port", "https://alpha.example/3",
                 datetime.now(UTC) + timedelta(hours=1))  # fmt: skip
    server.route("/a.xml", rss("Alpha", "https://alpha.example/", [fresh]), etag='"a2"')
    text = installation.read_text(encoding="utf-8")
    installation.write_text(
        text.replace('any = ["oil", "crude"]\n', 'any = ["oil", "crude"]\nmin_age = "3s"\n'),
        encoding="utf-8",
    )
    oil = installation.parent / "feeds" / "oil.atom"
    d = Daemon(installation)
    try:
        poll(lambda: "cycle done" in d.log(), what="the first publish")
        assert "Oil tanker leaves port" not in [title for _, title, _ in entries(oil)]
        poll(lambda: "Oil tanker leaves port" in [title for _, title, _ in entries(oil)],
             what="the held-back story")  # fmt: skip
        assert len(server.requests_for("/a.xml")) == 1
        assert d.stop() == 0
    finally:
        d.kill()


def server_bodies(server: LoopbackServer) -> list[bytes]:
    return [r.body for r in server.requests_for("/hub")]
