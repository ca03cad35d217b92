"""`aggregator sources ...` as a subprocess: edits keep config.toml's comments and layout."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.feeds import Item, atom, rss
from tests.integration.test_cli import aggregator
from tests.loopback import LoopbackServer
from tests.unit.test_shipped_config import SHIPPED

NOW = datetime.now(UTC).replace(microsecond=0)

HAND_WRITTEN = """\
# My aggregator.   (a comment the tool must keep)
[aggregator]
tick = "60s"   # trailing comment
allow_private_addresses = true  # the test feeds are on 127.0.0.1

# --- sources ---
[sources.alpha]
url = "https://alpha.example/feed"  # the first outlet
tags = ["news"]

# --- topics ---
[topics.oil]
title = "Oil"
any = ["oil"]
sources = ["alpha"]  # hand-picked
"""


def feeds(server: LoopbackServer) -> None:
    server.route(
        "/rss.xml", rss("Beta Daily", "https://beta.example/", [
            Item("1", "Oil rises", "https://beta.example/1", NOW - timedelta(hours=1)),
        ]),
    )  # fmt: skip
    server.route(
        "/atom.xml", atom("Beta Atom", "https://beta.example/", [
            Item("urn:1", "Oil falls", "https://beta.example/2", NOW - timedelta(hours=2)),
        ]),
    )  # fmt: skip
    links = (
        '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
        '<link rel="alternate" type="application/atom+xml" href="atom.xml">'
    )
    server.route("/page", _page(links), headers={"Content-Type": "text/html"})
    one = '<link rel="alternate" type="application/atom+xml" href="/atom.xml">'
    server.route("/one", _page(one), headers={"Content-Type": "text/html"})
    server.route("/plain", _page(""), headers={"Content-Type": "text/html"})


def _page(links: str) -> bytes:
    head = f"<head><title>Beta</title>{links}</head>"
    return f"<!DOCTYPE html><html>{head}<body>hi</body></html>".encode()


def setup(tmp_path: Path, server: LoopbackServer) -> Path:
    feeds(server)
    config = tmp_path / "config.toml"
    config.write_text(HAND_WRITTEN, encoding="utf-8")
    return config


def test_add_a_feed_keeps_comments_and_joins_the_topic(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = setup(tmp_path, server)
    done = aggregator(
        "sources", "add", server.url("/rss.xml"), "--tag", "energy", "--topic", "oil",
        "--config", str(config), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added source beta-daily" in done.stdout and "1 entries" in done.stdout
    text = config.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    assert data["sources"]["beta-daily"] == {"url": server.url("/rss.xml"), "tags": ["energy"]}
    assert data["topics"]["oil"]["sources"] == ["alpha", "beta-daily"]
    # The hand-written file is intact: the only changes are the additions, and the
    # new table sits with the sources, before the comment introducing topics.
    expected = HAND_WRITTEN.replace(
        'tags = ["news"]\n',
        f'tags = ["news"]\n\n[sources.beta-daily]\nurl = "{server.url("/rss.xml")}"\n'
        'tags = ["energy"]\n',
    ).replace('sources = ["alpha"]', 'sources = ["alpha", "beta-daily"]')
    assert text == expected
    assert aggregator("check", "--config", str(config), cwd=tmp_path).returncode == 0


def test_add_an_html_page_offers_its_feeds(tmp_path: Path, server: LoopbackServer) -> None:
    config = setup(tmp_path, server)
    listed = aggregator("sources", "add", server.url("/page"), "--config", str(config),
                        cwd=tmp_path)  # fmt: skip
    assert listed.returncode == 1
    assert listed.stdout.splitlines() == [
        f"1. {server.url('/rss.xml')}",
        f"2. {server.url('/atom.xml')}",
    ]
    assert "--pick" in listed.stderr
    assert config.read_text(encoding="utf-8") == HAND_WRITTEN

    picked = aggregator("sources", "add", server.url("/page"), "--pick", "2", "--id", "b",
                        "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert picked.returncode == 0, picked.stderr
    assert tomllib.loads(config.read_text())["sources"]["b"]["url"] == server.url("/atom.xml")

    # A page advertising a single feed: that feed is added (here: it already is).
    single = aggregator("sources", "add", server.url("/one"), "--id", "c",
                        "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert single.returncode == 2 and "sources.c.url: same URL as sources.b" in single.stderr
    assert "[sources.c]" not in config.read_text(encoding="utf-8")
    fresh = tmp_path / "fresh.toml"
    blocked = aggregator("sources", "add", server.url("/one"), "--config", str(fresh),
                         cwd=tmp_path)  # fmt: skip
    assert blocked.returncode == 1 and "blocked address" in blocked.stderr  # loopback: refused
    single = aggregator("sources", "add", server.url("/one"), "--config", str(fresh),
                        "--allow-private", cwd=tmp_path)  # fmt: skip
    assert single.returncode == 0, single.stderr
    assert tomllib.loads(fresh.read_text())["sources"]["beta-atom"]["allow_private_addresses"]
    assert single.stdout.startswith(f"1. {server.url('/atom.xml')}\nadded source beta-atom")


def test_add_refuses_what_is_not_a_feed_and_taken_ids(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = setup(tmp_path, server)
    for args, code, message in [
        (("add", server.url("/plain")), 1, "links to no feed"),
        (("add", server.url("/missing")), 1, "HTTP 404"),
        (("add", server.url("/rss.xml"), "--id", "alpha"), 2, "sources.alpha: already defined"),
        (("add", server.url("/rss.xml"), "--topic", "nope"), 2, "topics.nope: no such topic"),
        (("add", "ftp://x.example/feed"), 2, "expected an http"),
    ]:
        done = aggregator("sources", *args, "--config", str(config), cwd=tmp_path)
        assert done.returncode == code, (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert config.read_text(encoding="utf-8") == HAND_WRITTEN


def test_add_starts_a_missing_config_file(tmp_path: Path, server: LoopbackServer) -> None:
    feeds(server)
    config = tmp_path / "new.toml"
    done = aggregator("sources", "add", server.url("/atom.xml"), "--config", str(config),
                      "--allow-private", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(config.read_text())["sources"] == {
        "beta-atom": {"url": server.url("/atom.xml"), "allow_private_addresses": True}
    }


def test_remove_keeps_the_rest_and_guards_topics(tmp_path: Path, server: LoopbackServer) -> None:
    config = setup(tmp_path, server)
    refused = aggregator("sources", "remove", "alpha", "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 2
    assert "topics.oil.sources: draws only from 'alpha'" in refused.stderr
    assert config.read_text(encoding="utf-8") == HAND_WRITTEN

    added = aggregator("sources", "add", server.url("/rss.xml"), "--id", "beta", "--topic", "oil",
                       "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    removed = aggregator("sources", "remove", "beta", "--config", str(config), cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    # Adding then removing gives back the hand-written file, byte for byte.
    assert config.read_text(encoding="utf-8") == HAND_WRITTEN
    missing = aggregator("sources", "remove", "nosuch", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 2 and "sources.nosuch: no such source" in missing.stderr


def test_a_config_saved_with_a_byte_order_mark_is_read_and_edited(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    beta = '[sources.beta]\nurl = "https://beta.example/feed"\n\n# --- topics ---'
    text = HAND_WRITTEN.replace("# --- topics ---", beta)
    config.write_bytes(text.encode("utf-8-sig"))  # Notepad's "UTF-8 with BOM"
    checked = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    removed = aggregator("sources", "remove", "beta", "--config", str(config), cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert config.read_text(encoding="utf-8") == HAND_WRITTEN


def test_export_import_round_trip(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[sources.reuters]\nurl = "https://reuters.example/rss"\ntitle = "Reuters & Co"\n'
        'tags = ["wire", "energy"]\n'
        '[sources.bare]\nurl = "https://bare.example/atom"\n'
        '[sources.odd]\nurl = "https://odd.example/feed?a=1&b=2"\ntitle = "<Odd>"\n',
        encoding="utf-8",
    )
    exported = aggregator("sources", "export", "--config", str(config), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    opml = tmp_path / "subs.opml"
    opml.write_text(exported.stdout, encoding="utf-8")

    other = tmp_path / "other.toml"
    other.write_text("# empty for now\n", encoding="utf-8")
    imported = aggregator("sources", "import", str(opml), "--config", str(other), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 3 sources" in imported.stdout
    sources = tomllib.loads(config.read_text())["sources"]
    assert tomllib.loads(other.read_text())["sources"] == sources
    assert other.read_text(encoding="utf-8").startswith("# empty for now\n")
    again = aggregator("sources", "export", "--config", str(other), cwd=tmp_path)
    assert again.stdout == exported.stdout

    # Importing the same list again adds nothing.
    twice = aggregator("sources", "import", str(opml), "--config", str(other), cwd=tmp_path)
    assert "imported 0 sources" in twice.stdout and twice.stdout.count("already configured") == 3

    listed = aggregator("sources", "list", "--config", str(other), cwd=tmp_path)
    rows = [line.split()[:3] for line in listed.stdout.splitlines()]
    assert rows == [["ID", "ENABLED", "TAGS"], ["reuters", "yes", "wire,energy"],
                    ["bare", "yes", "-"], ["odd", "yes", "-"]]  # fmt: skip


def test_import_a_foreign_opml_with_folders(tmp_path: Path) -> None:
    opml = tmp_path / "reader.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>'
        '<outline text="Middle East"><outline text="Libya Herald" type="rss" '
        'xmlUrl="https://libyaherald.example/feed/"/>'
        '<outline text="Bad" xmlUrl="javascript:alert(1)"/></outline>'
        '<outline text="Energy News" xmlUrl="https://energy.example/rss" category="/Energy/Oil"/>'
        '<outline text="Ünïcödé Ñews" xmlUrl="https://unicode.example/rss"/>'
        '<outline xmlUrl="file:///etc/passwd"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    config = tmp_path / "config.toml"
    done = aggregator("sources", "import", str(opml), "--tag", "imported",
                      "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "skipped 'Bad': not an http:// or https:// URL: javascript:alert(1)",
        "skipped an untitled outline: not an http:// or https:// URL: file:///etc/passwd",
        f"imported 3 sources into {config}",
    ]
    assert tomllib.loads(config.read_text())["sources"] == {
        "libya-herald": {"url": "https://libyaherald.example/feed/", "title": "Libya Herald",
                         "tags": ["middle-east", "imported"]},
        "energy-news": {"url": "https://energy.example/rss", "title": "Energy News",
                        "tags": ["energy", "oil", "imported"]},
        "unicode-news": {"url": "https://unicode.example/rss", "title": "Ünïcödé Ñews",
                         "tags": ["imported"]},
    }  # fmt: skip

    hostile = tmp_path / "bomb.opml"
    hostile.write_text(
        '<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>',
        encoding="utf-8",
    )
    refused = aggregator("sources", "import", str(hostile), "--config", str(config), cwd=tmp_path)
    assert refused.returncode == 2 and "entity declarations" in refused.stderr


def shipped_copy(tmp_path: Path, extra: str = "") -> tuple[Path, str]:
    """The shipped config.toml (plus `extra` at the bottom) in tmp_path, and its text."""
    text = SHIPPED.read_text(encoding="utf-8") + extra
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return config, text


def without(text: str, start: str, end: str) -> str:
    """`text` less the part from `start` up to (not including) `end`."""
    return text[: text.index(start)] + text[text.index(end) :]


def test_remove_keeps_the_comments_that_head_what_follows(tmp_path: Path) -> None:
    config, text = shipped_copy(tmp_path)
    done = aggregator("sources", "remove", "libya-observer", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Its blank line and its own comments go; "# World and regional desks" stays.
    expected = without(text, "[sources.libya-observer]", "# World and regional desks")
    assert config.read_text(encoding="utf-8") == expected


def test_edits_sources_split_by_other_tables(tmp_path: Path) -> None:
    # A source added by hand at the bottom, after the topics.
    mine = '\n[sources.mine]\nurl = "https://mine.example/feed"\n'
    config, text = shipped_copy(tmp_path, mine)
    removed = aggregator("sources", "remove", "libya-herald", "--config", str(config),
                         cwd=tmp_path)  # fmt: skip
    assert removed.returncode == 0, removed.stderr
    text = without(text, "[sources.libya-herald]", "[sources.libya-review]")
    assert config.read_text(encoding="utf-8") == text

    opml = tmp_path / "one.opml"
    opml.write_text(
        '<opml><body><outline text="New" xmlUrl="https://new.example/rss"/></body></opml>',
        encoding="utf-8",
    )
    imported = aggregator("sources", "import", str(opml), "--config", str(config), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    # After the last source in the file.
    added = '\n[sources.new]\nurl = "https://new.example/rss"\ntitle = "New"\n'
    assert config.read_text(encoding="utf-8") == text + added

    again = aggregator("sources", "import", str(opml), "--config", str(config), cwd=tmp_path)
    assert "already configured" in again.stdout
    for sid in ("new", "mine"):
        gone = aggregator("sources", "remove", sid, "--config", str(config), cwd=tmp_path)
        assert gone.returncode == 0, gone.stderr
    assert config.read_text(encoding="utf-8") == text.removesuffix(mine)


def test_add_to_a_topic_that_selects_by_tags(tmp_path: Path, server: LoopbackServer) -> None:
    config = setup(tmp_path, server)
    by_tag = HAND_WRITTEN.replace('sources = ["alpha"]  # hand-picked', 'tags = ["news"]')
    config.write_text(by_tag, encoding="utf-8")
    done = aggregator("sources", "add", server.url("/rss.xml"), "--topic", "oil",
                      "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # `sources` and `tags` add up: the topic draws from alpha (by tag) and the new source.
    assert tomllib.loads(config.read_text())["topics"]["oil"] == {
        "title": "Oil", "any": ["oil"], "tags": ["news"], "sources": ["beta-daily"],
    }  # fmt: skip


def test_edits_keep_crlf_newlines(tmp_path: Path, server: LoopbackServer) -> None:
    config = setup(tmp_path, server)
    original = HAND_WRITTEN.replace("\n", "\r\n").encode()
    config.write_bytes(original)
    added = aggregator("sources", "add", server.url("/rss.xml"), "--id", "beta",
                       "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    data = config.read_bytes()
    assert b"[sources.beta]\r\n" in data and data.count(b"\n") == data.count(b"\r\n")
    removed = aggregator("sources", "remove", "beta", "--config", str(config), cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert config.read_bytes() == original
