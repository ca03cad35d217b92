"""Topics through the real command line: views over the archive, preview, explain,
topics test and check, run as `python -m aggregator` on a stored archive."""

from __future__ import annotations

import json
import re
from pathlib import Path

import feedparser

from tests.feeds import Item, rss
from tests.integration.test_cli import HOUR, NOW, aggregator
from tests.loopback import LoopbackServer

ITEMS = [
    Item("1", "NOC Says Libya Cannot Abide By OPEC Oil Production Cuts", "https://w.example/1",
         NOW - HOUR),
    Item("2", "Greece Plans to Reopen Embassy in Tripoli", "https://w.example/2", NOW - 2 * HOUR),
    Item("3", "Cooking oil prices soar", "https://w.example/3", NOW - 3 * HOUR),
    Item("4", "Turmoil in Peru", "https://w.example/4", NOW - 26 * HOUR,
         summary="Protests spread as oil workers join the strike."),
    Item("5", "Tripoli SC win the Lebanese derby", "https://w.example/5", NOW - 50 * HOUR),
]  # fmt: skip


def write_config(path: Path, feed_url: str, topic: str) -> None:
    path.write_text(
        "[aggregator]\nallow_private_addresses = true\n"
        f'[sources.wire]\nurl = "{feed_url}"\ntitle = "Wire"\ntags = ["news"]\n\n{topic}',
        encoding="utf-8",
    )


def archive(tmp_path: Path, server: LoopbackServer, topic: str) -> Path:
    server.route("/wire.xml", rss("Wire", "https://w.example/", ITEMS))
    config = tmp_path / "config.toml"
    write_config(config, server.url("/wire.xml"), topic)
    done = aggregator("update", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wire: new (5 new, 0 updated)" in done.stdout
    return config


def titles(tmp_path: Path, slug: str) -> list[str]:
    doc = feedparser.parse((tmp_path / "feeds" / f"{slug}.atom").read_bytes())
    return [e.title for e in doc.entries]


def test_editing_a_topic_recurates_the_archive_without_refetching(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = archive(tmp_path, server, '[topics.t]\nquery = "oil"\n')
    assert titles(tmp_path, "t") == [ITEMS[0].title, ITEMS[2].title, ITEMS[3].title]
    fetches = len(server.requests_for("/wire.xml"))

    write_config(
        config,
        server.url("/wire.xml"),
        '[topics.t]\nquery = "oil OR embassy"\nexclude = [\'"cooking oil"\', "Peru"]\n'
        '[topics.new]\nquery = "Tripoli NOT Lebanese"\n',
    )
    done = aggregator("publish", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Newly matching (embassies, by plural tolerance) in; newly excluded out.
    assert titles(tmp_path, "t") == [ITEMS[0].title, ITEMS[1].title]
    assert titles(tmp_path, "new") == [ITEMS[1].title]
    assert len(server.requests_for("/wire.xml")) == fetches
    doc = feedparser.parse((tmp_path / "feeds" / "t.atom").read_bytes())
    assert [c.term for c in doc.entries[1].tags] == ["embassy"]


def test_preview_counts_per_day_and_lists_the_newest(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = archive(tmp_path, server, '[topics.t]\nquery = "oil"\nmax_items = 2\n')
    done = aggregator("topics", "preview", "t", "--config", str(config), "--weeks", "1",
                      cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "t: 3 stories in the last 1 weeks; the feed would publish 2 (max_items 2)" in out
    counts, newest_part = out.split("newest:\n", 1)
    days = re.findall(r"^  (\d{4}-\d\d-\d\d)\s+(\d+)", counts, re.M)
    assert len(days) == 7
    per_day: dict[str, int] = {}
    for item in ITEMS[0], ITEMS[2], ITEMS[3]:
        day = item.published.date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    assert {d: int(n) for d, n in days if int(n)} == per_day
    newest = newest_part.splitlines()
    assert [line.split("Wire: ", 1)[1] for line in newest] == [
        f"{ITEMS[0].title}  [oil]", f"{ITEMS[2].title}  [oil]", f"{ITEMS[3].title}  [oil]",
    ]  # fmt: skip

    adhoc = aggregator("topics", "preview", "--query", "Tripoli", "--exclude", "Lebanese",
                       "--config", str(config), cwd=tmp_path)  # fmt: skip
    assert adhoc.returncode == 0, adhoc.stderr
    assert "preview: 1 stories" in adhoc.stdout and ITEMS[1].title in adhoc.stdout
    bad = aggregator("topics", "preview", "--query", "oil AND", "--config", str(config),
                     cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2
    assert "--query: column 8: expected a term" in bad.stderr


def test_preview_publishes_nothing(tmp_path: Path, server: LoopbackServer) -> None:
    config = archive(tmp_path, server, '[topics.t]\nquery = "oil"\n')
    feed = tmp_path / "feeds" / "t.atom"
    before = feed.read_bytes()
    write_config(config, server.url("/wire.xml"), '[topics.t]\nquery = "Tripoli"\n')
    done = aggregator("topics", "preview", "t", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0 and "t: 2 stories" in done.stdout, done.stderr
    assert feed.read_bytes() == before


def test_explain_by_link_id_and_published_id(tmp_path: Path, server: LoopbackServer) -> None:
    config = archive(
        tmp_path,
        server,
        '[topics.oil]\nquery = "oil OR OPEC"\nexclude = [\'"cooking oil"\']\n'
        '[topics.libya]\nquery = "Libya OR Tripoli"\n'
        '[topics.other]\nsources = []\ntags = ["news"]\nquery = "Peru"\n',
    )
    done = aggregator("explain", "https://w.example/3", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("== Entry ==\ntitle: Cooking oil prices soar\n")
    assert "== Topics ==" in out
    assert "oil (oil): EXCLUDED" in out
    assert '  blocked by exclude[0]:\n    [x] "cooking oil"' in out
    assert "libya (libya): NO MATCH" in out and "[ ] not found: Libya, Tripoli" in out
    assert "other (other): NO MATCH" in out

    uid = re.search(r"published id: (urn:uuid:\S+)", out)
    entry_id = re.search(r"entry (\d+): Wire \(wire\)", out)
    assert uid and entry_id
    for ref in (uid.group(1), entry_id.group(1), "HTTPS://W.EXAMPLE/3/?utm_source=x"):
        again = aggregator("explain", ref, "--config", str(config), cwd=tmp_path)
        assert again.stdout == out, ref

    first = aggregator("explain", "https://w.example/1", "--config", str(config), cwd=tmp_path)
    assert "oil (oil): MATCHED - matched: oil, OPEC" in first.stdout
    assert "libya (libya): MATCHED - matched: Libya" in first.stdout

    missing = aggregator("explain", "https://nowhere.example/", "--config", str(config),
                         cwd=tmp_path)  # fmt: skip
    assert missing.returncode == 1
    assert "no stored entry has the id, link or published id" in missing.stderr


def test_min_score_through_publish_preview_explain_and_topics_test(
    tmp_path: Path, server: LoopbackServer
) -> None:
    scored = (
        '[topics.t]\nquery = "OPEC^2 OR oil"\nmin_score = 4\n'
        '[[topics.t.examples]]\ntitle = "Cooking oil prices soar"\nmatch = false\n'
    )
    config = archive(tmp_path, server, scored)
    # OPEC 2 x 3 + oil 3 in the headline; a lone "oil" in a headline (3) or a summary (1)
    # is not enough.
    assert titles(tmp_path, "t") == [ITEMS[0].title]

    preview = aggregator("topics", "preview", "t", "--config", str(config), cwd=tmp_path)
    assert preview.returncode == 0, preview.stderr
    assert "t: 1 stories" in preview.stdout
    assert f"{ITEMS[0].title}  [OPEC, oil]  score 9.0" in preview.stdout
    lower = aggregator("topics", "preview", "t", "--min-score", "1", "--config", str(config),
                       cwd=tmp_path)  # fmt: skip
    assert "t: 3 stories" in lower.stdout
    assert f"{ITEMS[3].title}  [oil]  score 1.0" in lower.stdout
    bad = aggregator("topics", "preview", "t", "--min-score", "0", "--config", str(config),
                     cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "--min-score" in bad.stderr

    done = aggregator("explain", "https://w.example/3", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "t (t): SCORE TOO LOW - matched: oil" in done.stdout
    assert "  score 3.0 = oil 3.0 (min_score 4)" in done.stdout
    first = aggregator("explain", "https://w.example/1", "--config", str(config), cwd=tmp_path)
    assert "t (t): MATCHED - matched: OPEC, oil" in first.stdout
    assert "  score 9.0 = OPEC 6.0 + oil 3.0 (min_score 4)" in first.stdout

    tested = aggregator("topics", "test", "--config", str(config), cwd=tmp_path)
    assert tested.returncode == 0, tested.stderr
    assert (
        "  pass  [0] want no match, not matched (score 3.0 = oil 3.0 (min_score 4)): "
        "Cooking oil prices soar"
    ) in tested.stdout


EXAMPLES = """
[topics.oil]
query = "oil NOT cooking"
[[topics.oil.examples]]
title = "Oil output rises"
match = true
[[topics.oil.examples]]
title = "Cooking oil shortage"
match = false
[[topics.oil.examples]]
title = "Turmoil in Peru"
match = false
"""


def test_topics_test_and_check_run_the_examples(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write_config(config, "https://w.example/feed", EXAMPLES)
    done = aggregator("topics", "test", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "oil (oil): 3/3 passed",
        "  pass  [0] want match, matched: oil: Oil output rises",
        "  pass  [1] want no match, not matched: Cooking oil shortage",
        "  pass  [2] want no match, not matched: Turmoil in Peru",
        "  precision 1.00  recall 1.00",
    ]
    check = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 0 and "3 topic examples pass" in check.stdout

    write_config(config, "https://w.example/feed", EXAMPLES.replace("oil NOT cooking", "oil"))
    failing = aggregator("topics", "test", "--config", str(config), cwd=tmp_path)
    assert failing.returncode == 1
    assert "  FAIL  [1] want no match, matched: oil: Cooking oil shortage" in failing.stdout
    assert "precision 0.50  recall 1.00" in failing.stdout
    assert "1 examples failed" in failing.stderr
    check = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert check.returncode == 2
    assert check.stderr.strip() == (
        f"error: {config}: topics.oil.examples[1]: should not match but does "
        "(matched: oil): 'Cooking oil shortage'"
    )


def test_status_refuses_a_config_whose_examples_fail_as_check_does(tmp_path: Path) -> None:
    """The daemon does not reload such a file, so status must not approve it."""
    config = tmp_path / "config.toml"
    write_config(config, "https://w.example/feed", EXAMPLES.replace("oil NOT cooking", "oil"))
    check = aggregator("check", "--config", str(config), cwd=tmp_path)
    status = aggregator("status", "--json", "--config", str(config), cwd=tmp_path)
    assert (check.returncode, status.returncode) == (2, 2)
    problem = check.stderr.strip().removeprefix("error: ")
    assert json.loads(status.stdout)["config"] == {
        "path": str(config), "stale": True, "error": problem,
    }  # fmt: skip
    assert f"error: {problem}" in status.stderr


def test_check_names_topic_key_and_column_of_a_syntax_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write_config(config, "https://w.example/feed", '[topics.oil]\nquery = "(oil OR gas"\n')
    done = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f'error: {config}: topics.oil.query: column 12: expected ")" to close the "(" at '
        "column 1, found the end of the query"
    )


def test_check_warns_about_terms_of_a_scored_query_that_count_the_same_words(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    topic = (
        "[topics.oil]\n"
        "query = 'refinery OR refiner* OR oil'\n"
        "min_score = 2\n"
        "demote = ['dividend', 'soybean* OR soy* OR palm']\n"
    )
    write_config(config, "https://w.example/feed", topic)
    done = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # a warning, not an error
    assert done.stderr.splitlines() == [
        f"warning: {config}: topics.oil.query: 'refinery' and 'refiner*' match the same"
        " words, so one mention scores for both; drop one unless meant",
        f"warning: {config}: topics.oil.demote[1]: 'soybean*' and 'soy*' match the same"
        " words, so one mention scores for both; drop one unless meant",
    ]
    assert "OK: 1 sources" in done.stdout

    # Without min_score nothing is scored, so nothing counts twice.
    write_config(config, "https://w.example/feed", "[topics.oil]\nquery = 'refinery OR refiner*'\n")
    quiet = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert quiet.returncode == 0 and quiet.stderr == ""


# One wire story from three sources: s5 has s3's URL (an exact duplicate), s4 a
# longer headline and one more word (joined by similar text only).
LEAD = (
    "Libya's National Oil Corporation said on Monday that production at the country's "
    "largest oilfield{} had resumed after a two-week shutdown caused by protesters who "
    "blocked the pipeline valves near the southern town of Ubari, adding that output was "
    "expected to reach normal levels within days, while engineers inspected the damaged "
    "equipment and security forces guarded the site against new protests."
)
HEADLINE = "Libya's largest oilfield restarts after shutdown"
COPIES = {
    "s3": Item("c1", HEADLINE, "https://s3.example/c1", NOW - HOUR, LEAD.format("")),
    "s4": Item("d1", HEADLINE + ", NOC says", "https://s4.example/d1", NOW - HOUR,
               LEAD.format(", Sharara,")),
    "s5": Item("e1", HEADLINE, "https://s3.example/c1", NOW - HOUR, LEAD.format("")),
}  # fmt: skip
# The same two queries clustering and not.
SPLIT_TOPICS = {
    "field": ("oilfield", False),
    "sharara": ("Sharara", False),
    "field-c": ("oilfield", True),
    "sharara-c": ("Sharara", True),
}


def published_ids(tmp_path: Path, slug: str) -> list[str]:
    doc = feedparser.parse((tmp_path / "feeds" / f"{slug}.atom").read_bytes())
    return [e.id for e in doc.entries]


def explained(out: str) -> dict[str, tuple[str, str]]:
    """`explain` output -> {topic: (outcome, the id it publishes the story under)}."""
    story_uid = re.search(r"^published id: (urn:uuid:\S+)", out, re.M)
    assert story_uid, out
    topics = out.split("== Topics ==\n", 1)[1].split("== Story ==", 1)[0]
    found: dict[str, tuple[str, str]] = {}
    for block in re.split(r"\n(?=\S)", topics.strip()):
        head = re.match(r"(\S+) \(.*?\): ([A-Z ]+?)(?: - |$)", block, re.M)
        apart = re.search(r"published as (urn:uuid:\S+)", block)
        assert head, block
        found[head[1]] = (head[2], apart[1] if apart else story_uid[1])
    return found


def split_story(tmp_path: Path, server: LoopbackServer, topics_: str) -> Path:
    """COPIES stored and published for `topics_` (TOML); the config's path."""
    config = tmp_path / "config.toml"
    text = "[aggregator]\nallow_private_addresses = true\n"
    for sid, item in COPIES.items():
        server.route(f"/{sid}.xml", rss(sid, f"https://{sid}.example/", [item]))
        text += f'[sources.{sid}]\nurl = "{server.url(f"/{sid}.xml")}"\n'
    config.write_text(text + topics_, encoding="utf-8")
    done = aggregator("update", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return config


def test_preview_and_explain_agree_with_publishing_whether_topics_cluster_or_not(
    tmp_path: Path, server: LoopbackServer
) -> None:
    config = split_story(tmp_path, server, "".join(
        f'[topics.{slug}]\nquery = "{text}"\ncluster = {str(cluster).lower()}\n'
        for slug, (text, cluster) in SPLIT_TOPICS.items()
    ))  # fmt: skip
    feeds = {slug: published_ids(tmp_path, slug) for slug in SPLIT_TOPICS}
    # The setup: one story, published apart as two items where the topic does not cluster.
    assert {slug: len(ids) for slug, ids in feeds.items()} == {
        "field": 2, "sharara": 1, "field-c": 1, "sharara-c": 1
    }  # fmt: skip

    for slug, ids in feeds.items():
        preview = aggregator("topics", "preview", slug, "--config", str(config), cwd=tmp_path)
        assert preview.returncode == 0, preview.stderr
        n = len(ids)
        assert f"{slug}: {n} stories in the last 4 weeks; the feed would publish {n} " in (
            preview.stdout
        )

    # Every copy, by its link, and every published id: a topic takes the story
    # exactly when the feed holds the id explain gives for it.
    refs = [item.link for item in COPIES.values()] + [uid for ids in feeds.values() for uid in ids]
    for ref in refs:
        run = aggregator("explain", ref, "--config", str(config), cwd=tmp_path)
        assert run.returncode == 0, (ref, run.stderr)
        for slug, (outcome, uid) in explained(run.stdout).items():
            assert (outcome == "MATCHED") == (uid in feeds[slug]), (ref, slug, run.stdout)
            if ref in feeds[slug]:
                assert (outcome, uid) == ("MATCHED", ref), (ref, slug, run.stdout)
    out = aggregator("explain", COPIES["s3"].link, "--config", str(config), cwd=tmp_path).stdout
    assert explained(out)["sharara"][0] == "NO MATCH"
    # Clustering, s4's copy carries the story; not, s3's own group is judged and fails.
    tree = r"  judged on entry \d+ \({}\)\n  query:\n    \[{}\] Sharara$"
    assert re.search(r"^sharara-c \(sharara-c\): MATCHED - matched: Sharara\n"
                     + tree.format("s4", "x"), out, re.M)  # fmt: skip
    apart = r"  cluster = false: exact duplicates only, published as urn:uuid:\S+\n"
    assert re.search(r"^sharara \(sharara\): NO MATCH\n" + apart + tree.format("s[35]", " "),
                     out, re.M)  # fmt: skip


def test_an_archive_page_of_a_topic_that_does_not_cluster_is_rewritten_alike(
    tmp_path: Path, server: LoopbackServer
) -> None:
    # max_items 1: the older of the topic's two items (s3's, crediting s5) is archived.
    topic_ = '[topics.t]\nquery = "oilfield"\ncluster = false\nmax_items = 1\n'
    config = split_story(tmp_path, server, topic_)
    page = tmp_path / "feeds" / "t" / "archive" / "1.atom"
    original = page.read_bytes()
    assert original.count(b"<entry>") == 1 and b"s5" in original
    page.unlink()
    done = aggregator("publish", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert page.read_bytes() == original
