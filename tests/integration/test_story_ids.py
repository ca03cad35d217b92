"""The published-id contract, against a real HTTP server: a reader subscribed to
a topic sees no duplicate as more outlets carry a story, as the first outlet
edits it, or as it changes its guid scheme; only a genuinely new story is a new
item."""

from __future__ import annotations

import asyncio
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


def configure(tmp_path: Path, server: LoopbackServer, sources: list[str]) -> config.Config:
    text = '[aggregator]\nbase_url = "https://feeds.example/"\nallow_private_addresses = true\n'
    for name in sources:
        text += f'[sources.{name}]\nurl = "{server.url(f"/{name}")}"\ntitle = "{name.title()}"\n'
    text += '[topics.oil]\ntitle = "Oil"\nany = ["oil", "OPEC", "Brent"]\n'
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
