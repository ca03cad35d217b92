"""WebSub: a hub stub on loopback receives exactly one ping per changed feed,
and a failing hub is retried later without holding anything up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

from aggregator import config
from aggregator.dedup import key_entries
from aggregator.fetch import Fetcher
from aggregator.models import ParsedEntry
from aggregator.pipeline import hub_pings, publish_all
from aggregator.store import Store
from aggregator.websub import HubNotifier
from tests.loopback import LoopbackServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def flush(notifier: HubNotifier) -> int:
    async def go() -> int:
        # The stub hub is on 127.0.0.1: a private address the test allows.
        async with Fetcher(user_agent="test", timeout=5, max_body_size=1 << 16,
                           max_concurrency=4, allow_private=True) as fetcher:  # fmt: skip
            return await notifier.flush(fetcher)

    return asyncio.run(go())


def pinged(server: LoopbackServer) -> list[tuple[str, str]]:
    out = []
    for r in server.requests_for("/hub"):
        form = parse_qs(r.body.decode())
        assert r.headers["content-type"] == "application/x-www-form-urlencoded"
        out.append((form["hub.mode"][0], form["hub.url"][0]))
    return out


def setup(tmp_path: Path, hub: str) -> tuple[config.Config, Store]:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[aggregator]
base_url = "https://feeds.example/"
hub = "{hub}"
allow_private_addresses = true
[sources.wire]
url = "https://wire.example/feed"
[topics.oil]
any = ["oil"]
[topics.gas]
any = ["gas"]
formats = ["atom"]
""",
        encoding="utf-8",
    )
    cfg = config.load(path)
    store = Store.open(cfg.settings.database)
    store.sync_sources(cfg.sources)
    return cfg, store


def add(store: Store, guid: str, title: str) -> None:
    entry = ParsedEntry(guid=guid, link=f"https://wire.example/{guid}", title=title,
                        published=NOW - timedelta(hours=1))  # fmt: skip
    store.store_entries(
        "wire", key_entries([entry]), now=NOW, next_fetch=NOW, status=200, etag=None,
        last_modified=None, body_hash=None, effective_url=None, feed_title=None, feed_link=None,
    )  # fmt: skip


def test_one_ping_per_changed_feed(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/hub", status=204)
    cfg, store = setup(tmp_path, server.url("/hub"))
    notifier = HubNotifier(clock=Clock())
    add(store, "1", "oil rises")
    add(store, "2", "gas falls")
    notifier.queue(hub_pings(cfg, publish_all(cfg, store, NOW)))
    assert flush(notifier) == 4
    assert sorted(pinged(server)) == [
        ("publish", "https://feeds.example/gas.atom"),
        ("publish", "https://feeds.example/oil.atom"),
        ("publish", "https://feeds.example/oil.json"),
        ("publish", "https://feeds.example/oil.rss"),
    ]
    # Nothing changed: nothing to ping.
    notifier.queue(hub_pings(cfg, publish_all(cfg, store, NOW)))
    assert flush(notifier) == 0
    assert len(pinged(server)) == 4
    # Only the oil topic changes: its three feeds, once each.
    add(store, "3", "oil again")
    notifier.queue(hub_pings(cfg, publish_all(cfg, store, NOW)))
    assert flush(notifier) == 3
    assert sorted(pinged(server)[4:]) == [
        ("publish", f"https://feeds.example/oil.{ext}") for ext in ("atom", "json", "rss")
    ]


def test_a_failing_hub_is_retried_later(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/hub", status=503)
    cfg, store = setup(tmp_path, server.url("/hub"))
    clock = Clock()
    notifier = HubNotifier(clock=clock)
    add(store, "2", "gas falls")
    written = publish_all(cfg, store, NOW)
    assert (cfg.settings.output_dir / "gas.atom") in written  # publishing did not wait
    notifier.queue(hub_pings(cfg, written))
    assert flush(notifier) == 0
    assert len(pinged(server)) == 4  # the empty oil feeds were written for the first time too
    hub = server.url("/hub")
    assert notifier.pending() == [
        (hub, f"https://feeds.example/{name}") for name in ("gas.atom", "oil.atom", "oil.json",
                                                            "oil.rss")
    ]  # fmt: skip
    # Not due yet: no second request.
    assert flush(notifier) == 0
    assert len(pinged(server)) == 4
    server.route("/hub", status=202)
    clock.now += timedelta(minutes=1)
    assert flush(notifier) == 4
    assert len(pinged(server)) == 8
    assert notifier.pending() == []


def test_an_unreachable_hub_fails_the_ping_only(tmp_path: Path) -> None:
    notifier = HubNotifier(clock=Clock())
    notifier.queue([("http://127.0.0.1:9/hub", "https://feeds.example/oil.atom")])
    assert flush(notifier) == 0
    assert len(notifier.pending()) == 1
