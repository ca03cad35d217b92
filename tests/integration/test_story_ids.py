"""The published-id contract, against a real HTTP server: a reader subscribed to
a topic sees no duplicate as more outlets carry a story, as the first outlet
edits it, or as it changes its guid scheme; only a genuinely new story is a new
item."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser

from aggregator import config
from aggregator.fetch import Fetcher
from aggregator.pipeline import Pipeline, publish_all
from aggregator.store import Store
from tests.feeds import Item, atom, rss
from tests.loopback import LoopbackServer

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LEAD = (
    "OPEC and its allies agreed on Thursday to extend voluntary oil output cuts of 2.2 million "
    "barrels per day until the end of March, the group said after an online meeting, as weak "
    "Chinese demand and rising U.S. supply weighed on prices."
)
ALPHA = [
    Item("http://alpha.example/1", "OPEC+ agrees to extend output cuts to end of March",
         "http://alpha.example/1", NOW - timedelta(hours=5), LEAD),
    Item("http://alpha.example/2", "Brent slips as Libyan output recovers",
         "http://alpha.example/2", NOW - timedelta(hours=8), "Brent fell 1.2 percent."),
]  # fmt: skip
BETA = [
    # The same wire copy under its own headline and URL.
    Item("tag:beta,2026:7", "Oil producers keep cuts in place as Chinese demand falters",
         "https://beta.example/cuts", NOW - timedelta(hours=4), "VIENNA (Wire) - " + LEAD),
    # Alpha's Brent story, linked with tracking parameters.
    Item("tag:beta,2026:8", "Brent down on Libya", "http://alpha.example/2?utm_source=beta",
         NOW - timedelta(hours=7), "Prices fell."),
    Item("tag:beta,2026:9", "Tanker seized in Gulf of Oman", "https://beta.example/tanker",
         NOW - timedelta(hours=1), "Oil tanker boarded by armed men."),
]  # fmt: skip


def configure(
    tmp_path: Path, server: LoopbackServer, sources: list[str], *, settings: str = "",
    topic: str = "",
) -> config.Config:  # fmt: skip
    text = '[aggregator]\nbase_url = "https://feeds.example/"\nallow_private_addresses = true\n'
    text += settings
    for name in sources:
        text += f'[sources.{name}]\nurl = "{server.url(f"/{name}")}"\ntitle = "{name.title()}"\n'
    text += '[topics.oil]\ntitle = "Oil"\nany = ["oil", "OPEC", "Brent"]\n' + topic
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def cycle(cfg: config.Config, store: Store, when: datetime) -> dict[str, tuple[int, int]]:
    async def go() -> dict[str, tuple[int, int]]:
        async with Fetcher(user_agent="aggregator-test/1", timeout=5, max_body_size=1 << 20,
                           max_concurrency=4, allow_private=True) as fetcher:  # fmt: skip
            report = await Pipeline(cfg, store, fetcher, clock=lambda: when).update(everything=True)
        return {o.source_id: (o.new, o.updated) for o in report.outcomes}

    outcome = asyncio.run(go())
    publish_all(cfg, store, when)
    return outcome


def published(cfg: config.Config) -> list[dict[str, Any]]:
    doc = feedparser.parse((cfg.settings.output_dir / "oil.atom").read_bytes())
    assert not doc.bozo, doc.bozo_exception
    return [
        {"id": e.id, "title": e.title, "updated": e.updated, "content": e.content[0]["value"]}
        for e in doc.entries
    ]


def test_ids_hold_as_sources_join_edit_and_move(tmp_path: Path, server: LoopbackServer) -> None:
    server.route("/alpha", rss("Alpha", "https://alpha.example/", ALPHA))
    server.route("/beta", atom("Beta", "https://beta.example/", BETA))
    cfg = configure(tmp_path, server, ["alpha"])
    with Store.open(cfg.settings.database) as store:
        assert cycle(cfg, store, NOW)["alpha"] == (2, 0)
        first = published(cfg)
        assert [e["title"] for e in first] == [i.title for i in ALPHA]

        # Beta joins, carrying both stories and one of its own.
        cfg = configure(tmp_path, server, ["alpha", "beta"])
        assert cycle(cfg, store, NOW + timedelta(minutes=30))["beta"] == (3, 0)
        second = published(cfg)
        assert [e["id"] for e in second] == [
            second[0]["id"], first[0]["id"], first[1]["id"]
        ]  # fmt: skip
        assert second[0]["title"] == "Tanker seized in Gulf of Oman"
        assert [e["title"] for e in second[1:]] == [e["title"] for e in first]
        for entry in second[1:]:
            assert (
                'Also reported by: <a href="' in entry["content"]
                and ">Beta</a>" in entry["content"]
            )

        # Alpha edits its OPEC story and moves to https at the same time.
        moved = [
            Item("https://alpha.example/1", ALPHA[0].title, "https://alpha.example/1",
                 ALPHA[0].published, LEAD + " Saudi Arabia will keep its extra cut."),
            Item("https://alpha.example/2", ALPHA[1].title, "https://alpha.example/2",
                 ALPHA[1].published, ALPHA[1].summary),
        ]  # fmt: skip
        server.route("/alpha", rss("Alpha", "https://alpha.example/", moved))
        assert cycle(cfg, store, NOW + timedelta(hours=1))["alpha"] == (0, 2)
        third = published(cfg)
        assert [e["id"] for e in third] == [e["id"] for e in second]
        assert "Saudi Arabia will keep its extra cut." in third[1]["content"]


def test_copies_linking_http_or_a_mobile_host_are_no_new_item(
    tmp_path: Path, server: LoopbackServer
) -> None:
    server.route("/alpha", rss("Alpha", "https://alpha.example/", ALPHA))
    copies = [
        Item("tag:beta,2026:1", "Cuts extended", "https://m.alpha.example/1",
             NOW - timedelta(hours=4), "Producers keep cuts."),
        Item("tag:beta,2026:2", "Brent lower", "https://alpha.example/2",
             NOW - timedelta(hours=7), "Prices fell."),
    ]  # fmt: skip
    server.route("/beta", rss("Beta", "https://beta.example/", copies))
    cfg = configure(tmp_path, server, ["alpha", "beta"])
    with Store.open(cfg.settings.database) as store:
        assert cycle(cfg, store, NOW) == {"alpha": (2, 0), "beta": (2, 0)}
        assert [e["title"] for e in published(cfg)] == [i.title for i in ALPHA]


def test_a_new_issue_at_a_fixed_url_is_a_new_item(tmp_path: Path, server: LoopbackServer) -> None:
    report = "https://agency.example/weekly-oil-report"
    week_48 = Item("w-2026-48", "Weekly oil market report", report, NOW - timedelta(days=7),
                   "Week 48: Brent averaged 81.20 dollars.")  # fmt: skip
    server.route("/alpha", rss("Alpha", "https://alpha.example/", [week_48]))
    cfg = configure(tmp_path, server, ["alpha"])
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store, NOW)
        (before,) = published(cfg)
        week_49 = Item("w-2026-49", week_48.title, report, NOW, "Week 49: Brent averaged 77.90.")
        server.route("/alpha", rss("Alpha", "https://alpha.example/", [week_49]))
        assert cycle(cfg, store, NOW + timedelta(minutes=5)) == {"alpha": (1, 0)}
        after = published(cfg)
    assert [e["id"] for e in after[1:]] == [before["id"]]
    assert after[0]["id"] != before["id"]
    assert [e["content"].split("<p>Via:")[0] for e in after] == [week_49.summary, week_48.summary]


def _every_item(cfg: config.Config) -> list[str]:
    """The titles of the topic's current document and all its archives."""
    out = cfg.settings.output_dir
    documents = [out / "oil.json", *sorted((out / "oil" / "archive").glob("*.json"))]
    return [i["title"] for d in documents for i in json.loads(d.read_bytes())["items"]]


def test_a_late_copy_of_a_pruned_story_is_not_published_again(
    tmp_path: Path, server: LoopbackServer
) -> None:
    stories = [
        Item(f"g{n}", f"Oil terminal {n} reopens", f"https://news.example/story-{n}",
             NOW - timedelta(days=n), f"Loadings at oil terminal {n} resumed.")
        for n in range(1, 5)
    ]  # fmt: skip
    server.route("/alpha", rss("Alpha", "https://alpha.example/", stories))
    server.route("/beta", rss("Beta", "https://beta.example/", []))
    cfg = configure(tmp_path, server, ["alpha", "beta"], settings="retention_max_count = 1\n",
                    topic="max_items = 1\narchive_page_size = 1\n")  # fmt: skip
    with Store.open(cfg.settings.database) as store:
        cycle(cfg, store, NOW)
        before = _every_item(cfg)
        assert sorted(before) == sorted(i.title for i in stories)
        assert store.entry_count() == 1  # the other three were archived, then pruned
        oldest = stories[-1]
        copy = Item("b-4", oldest.title, oldest.link.replace("https:", "http:"), NOW, "Copy.")
        server.route("/beta", rss("Beta", "https://beta.example/", [copy]))
        assert cycle(cfg, store, NOW + timedelta(minutes=5))["beta"] == (0, 0)
        assert _every_item(cfg) == before
