"""The whole path against a real HTTP server on 127.0.0.1: overlapping sources,
one that errors, a second cycle of 304s that writes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from aggregator import config
from aggregator.pipeline import CycleReport, Pipeline, fetcher, parse_workers
from aggregator.store import Store
from tests.feeds import Item, atom, rss
from tests.loopback import LoopbackServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def day(n: int) -> datetime:
    return NOW - timedelta(days=n)


ALPHA = [
    Item("a-1", "Libya oil output hits a decade high", "https://wire.example/deal?utm_source=alpha",
         day(1), "NOC says crude output rose."),
    Item("a-2", "Olive harvest festival", "https://alpha.example/olives", day(2), "Nothing else."),
    Item("a-3", "OPEC+ meets in Vienna", "https://alpha.example/opec", day(3), "Oil ministers."),
]  # fmt: skip
BETA = [
    Item("tag:beta,2026:1", "Libya's oil output at decade high", "https://WIRE.example/deal#top",
         day(1) + timedelta(hours=2), "The same wire story."),
    Item("tag:beta,2026:2", "Brent crude slips", "https://beta.example/brent", day(4), "Prices."),
]  # fmt: skip


def write_config(tmp_path: Path, server: LoopbackServer) -> config.Config:
    text = f"""
[aggregator]
base_url = "https://feeds.example/"
allow_private_addresses = true  # the sources are on loopback
per_host_delay = 0
parse_timeout = "10s"
user_agent = "aggregator-test/1"

[sources.alpha]
url = "{server.url("/alpha.xml")}"
title = "Alpha News"

[sources.beta]
url = "{server.url("/beta.atom")}"

[sources.broken]
url = "{server.url("/broken")}"

[sources.html]
url = "{server.url("/page")}"

[topics.oil]
title = "Oil"
any = ["oil", "crude", "OPEC"]
none = ["olive"]
"""
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def serve_sources(server: LoopbackServer) -> None:
    server.route("/alpha.xml", rss("Alpha", "https://alpha.example/", ALPHA),
                 headers={"Content-Type": "application/rss+xml"}, etag='W/"alpha-1"')  # fmt: skip
    server.route("/beta.atom", atom("Beta", "https://beta.example/", BETA),
                 headers={"Content-Type": "application/atom+xml"},
                 last_modified="Fri, 20 Nov 2026 10:00:00 GMT")  # fmt: skip
    server.route("/broken", b"oops", status=500)
    server.route("/page", b"<html><head><title>Hi</title></head><body>no feed</body></html>",
                 headers={"Content-Type": "text/html"})  # fmt: skip


def cycle(cfg: config.Config, store: Store, *, parse_in_pool: bool = False) -> CycleReport:
    async def go() -> CycleReport:
        async with fetcher(cfg) as http:
            if parse_in_pool:
                async with parse_workers(cfg, 1) as pool:
                    return await Pipeline(cfg, store, http, clock=lambda: NOW,
                                          parsers=pool).update(everything=True)  # fmt: skip
            return await Pipeline(cfg, store, http, clock=lambda: NOW).update(everything=True)

    return asyncio.run(go())


def publish(cfg: config.Config, store: Store) -> list[Path]:
    from aggregator.pipeline import publish_all

    return publish_all(cfg, store, NOW)


@pytest.mark.parametrize("parse_in_pool", [False, True])
def test_first_cycle_stores_dedups_and_publishes(
    tmp_path: Path, server: LoopbackServer, parse_in_pool: bool
) -> None:
    serve_sources(server)
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        report = cycle(cfg, store, parse_in_pool=parse_in_pool)
        outcomes = {o.source_id: o for o in report.outcomes}
        assert (outcomes["alpha"].new, outcomes["beta"].new) == (3, 2)
        assert outcomes["broken"].outcome == "fetch" and "500" in (outcomes["broken"].error or "")
        assert outcomes["html"].outcome == "parse"
        states = store.source_states()
        assert states["broken"].error_count == 1 and "500" in (states["broken"].last_error or "")
        assert states["broken"].next_fetch is not None and states["broken"].next_fetch > NOW
        assert states["alpha"].error_count == 0 and states["alpha"].etag == 'W/"alpha-1"'
        written = publish(cfg, store)

    out = cfg.settings.output_dir
    assert {p.name for p in written} >= {"oil.atom", "oil.rss", "index.html", "topics.opml"}
    for name in ("oil.atom", "oil.rss"):
        doc = feedparser.parse((out / name).read_bytes())
        assert not doc.bozo, doc.bozo_exception
        titles = [e.title for e in doc.entries]
        # Newest first; the wire story appears once, whichever outlet was stored
        # first in this cycle publishes it and credits the other; olives excluded.
        wire = {"Libya oil output hits a decade high", "Libya's oil output at decade high"}
        assert titles[0] in wire
        assert titles[1:] == ["OPEC+ meets in Vienna", "Brent crude slips"]
        deal = doc.entries[0]
        body = deal.get("content", [{"value": deal.get("summary", "")}])[0]["value"]
        if deal.title == "Libya oil output hits a decade high":
            assert deal.link == "https://wire.example/deal?utm_source=alpha"
            assert 'Also reported by: <a href="https://WIRE.example/deal#top">Beta</a>' in body
        else:
            assert deal.link == "https://WIRE.example/deal#top"
            assert "Also reported by: <a href=" in body and "Alpha News</a>" in body
        assert len({e.id for e in doc.entries}) == 3


def test_second_cycle_of_304s_writes_nothing(tmp_path: Path, server: LoopbackServer) -> None:
    serve_sources(server)
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store)
        publish(cfg, store)
        before = snapshot(cfg.settings.database)
        files = {p.name: p.stat().st_mtime_ns for p in cfg.settings.output_dir.iterdir()}
        report = cycle(cfg, store)
        outcomes = {o.source_id: o.outcome for o in report.outcomes}
        assert outcomes["alpha"] == "not-modified" and outcomes["beta"] == "not-modified"
        assert publish(cfg, store) == []
    assert snapshot(cfg.settings.database) == before
    assert {p.name: p.stat().st_mtime_ns for p in cfg.settings.output_dir.iterdir()} == files
    (second_alpha,) = server.requests_for("/alpha.xml")[1:]
    assert second_alpha.headers["if-none-match"] == 'W/"alpha-1"'
    (second_beta,) = server.requests_for("/beta.atom")[1:]
    assert second_beta.headers["if-modified-since"] == "Fri, 20 Nov 2026 10:00:00 GMT"
    assert "aggregator-test/1" in second_alpha.headers["user-agent"]


def test_304_to_a_request_without_validators_is_a_failure(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """Stored as a success, the source would show ok with no entries for ever."""
    serve_sources(server)
    server.route("/beta.atom", status=304)
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        beta = {o.source_id: o for o in cycle(cfg, store).outcomes}["beta"]
        state = store.source_states()["beta"]
    assert beta.outcome == "fetch"
    assert "source 'beta'" in (beta.error or "") and "without validators" in (beta.error or "")
    assert state.error_count == 1 and "304" in (state.last_error or "")
    assert state.next_fetch is not None and state.next_fetch > NOW
    assert "if-none-match" not in server.requests_for("/beta.atom")[0].headers


def test_server_ignoring_validators_with_same_body_costs_no_write(
    tmp_path: Path, server: LoopbackServer
) -> None:
    serve_sources(server)
    server.routes["/alpha.xml"].conditional = False
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store)
        before = snapshot(cfg.settings.database)
        report = cycle(cfg, store)
    assert {o.source_id: o.outcome for o in report.outcomes}["alpha"] == "unchanged"
    assert snapshot(cfg.settings.database) == before


def test_an_edited_item_updates_in_place(tmp_path: Path, server: LoopbackServer) -> None:
    serve_sources(server)
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store)
        publish(cfg, store)
        edited = [
            Item("a-3", "OPEC+ meets in Vienna (updated)", "https://alpha.example/opec", NOW,
                 "Oil ministers agreed."),
            *ALPHA[:2],
        ]  # fmt: skip
        server.route("/alpha.xml", rss("Alpha", "https://alpha.example/", edited))
        report = cycle(cfg, store)
        assert {o.source_id: o.updated for o in report.outcomes}["alpha"] == 1
        publish(cfg, store)
    doc = feedparser.parse((cfg.settings.output_dir / "oil.atom").read_bytes())
    titles = [e.title for e in doc.entries]
    # Same place: an edit never jumps to the top.
    assert titles[1:] == ["OPEC+ meets in Vienna (updated)", "Brent crude slips"]


def snapshot(database: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT * FROM entries ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_changed_document_stores_its_new_and_edited_items_once(
    tmp_path: Path, server: LoopbackServer
) -> None:
    """The unchanged items of a changed document are skipped unparsed; nothing
    is lost, duplicated or re-announced, through the worker pool as in-process."""
    serve_sources(server)
    cfg = write_config(tmp_path, server)
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store, parse_in_pool=True)
        assert len(store.known_items("alpha")) == 3
        new = Item("a-4", "Sharara field restarts", "https://alpha.example/sharara", NOW,
                   "Oil flows again.")  # fmt: skip
        edited = Item("a-2", "Olive harvest festival postponed", ALPHA[1].link, day(2))
        server.route("/alpha.xml", rss("Alpha", "https://alpha.example/",
                                       [new, ALPHA[0], edited, ALPHA[2]]))  # fmt: skip
        report = cycle(cfg, store, parse_in_pool=True)
        alpha = {o.source_id: o for o in report.outcomes}["alpha"]
        assert (alpha.new, alpha.updated, alpha.unchanged) == (1, 1, 2)
        assert len(store.known_items("alpha")) == 4
        again = cycle(cfg, store, parse_in_pool=True)  # same bytes: not even parsed
        outcome = {o.source_id: o.outcome for o in again.outcomes}["alpha"]
        assert outcome in ("not-modified", "unchanged")
    rows = snapshot(cfg.settings.database)
    titles = sorted(str(r[7]) for r in rows if r[1] == "alpha")
    assert titles == sorted([
        "Libya oil output hits a decade high", "Olive harvest festival postponed",
        "OPEC+ meets in Vienna", "Sharara field restarts",
    ])  # fmt: skip
