"""`aggregator check` on topic queries that parse but cannot match as meant."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import aggregator
from tests.integration.test_topics_cli import write_config


def test_check_warns_about_terms_that_cannot_match_as_meant(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    topic = (
        "[topics.oil]\n"
        'query = "oil -palm OR domain:reu*"\n'
        "exclude = ['Tripoli# the capital']\n"
        "[topics.gas]\n"
        'query = "gas OR c#"\n'
    )
    write_config(config, "https://w.example/feed", topic)
    done = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # warnings, not errors
    assert done.stderr.splitlines() == [
        f"warning: {config}: topics.oil.query: '-palm': \"-\" is part of the term, not NOT:"
        " to leave out articles write NOT palm",
        f"warning: {config}: topics.oil.query: 'reu*': a domain is a host name and matches its"
        ' subdomains too (domain:reuters.com): "*", "/" and ":" never match',
        f"warning: {config}: topics.oil.exclude[0]: 'Tripoli#': \"#\" inside a word is part of"
        ' the term: a comment starts with "#" after a space',
    ]
    assert "OK: 1 sources (1 enabled), 2 topics" in done.stdout


def test_check_refuses_a_scored_topic_with_nothing_to_score(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    topic = "[topics.oil]\nquery = 'NOT palm'\nmin_score = 1\n"
    write_config(config, "https://w.example/feed", topic)
    done = aggregator("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {config}: topics.oil.min_score: the query has no term outside NOT:"
        " nothing can score"
    )
