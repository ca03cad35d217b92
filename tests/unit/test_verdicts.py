"""Explanations and example runs: what `explain` and `topics test` print comes from here."""

from __future__ import annotations

from datetime import timedelta

from aggregator import curate, verdicts
from aggregator.config import SourceConfig, TopicConfig, TopicExample
from aggregator.models import StoredEntry
from tests.factories import T0, stored, topic

SOURCES = {
    "a": SourceConfig(id="a", url="https://a.example/f"),
    "b": SourceConfig(id="b", url="https://b.example/f"),
}
INFOS = {"a": curate.SourceInfo("Alpha", None), "b": curate.SourceInfo("Beta", None)}


def explain(*topics_: TopicConfig, members: list[StoredEntry]) -> dict[str, verdicts.Verdict]:
    matchers = [curate.compile_topic(t, SOURCES) for t in topics_]
    found = verdicts.explain_story(matchers, members, entry=members[0], now=T0, sources=INFOS)
    return {v.slug: v for v in found}


def test_every_topic_gets_a_verdict_with_its_reason() -> None:
    story = [stored(1, title="Libya oil exports", source_id="a")]
    found = explain(
        topic("oil", query="oil OR gas"),
        topic("cooking", query="oil", exclude=("exports",)),
        topic("sport", query="football"),
        topic("only-b", sources=("b",), query="oil"),
        topic("old", query="oil", max_age=timedelta(hours=1)),
        topic("everything"),
        members=story,
    )
    assert found["oil"].outcome == verdicts.MATCHED and found["oil"].matched == ("oil",)
    assert found["cooking"].outcome == verdicts.EXCLUDED
    assert [k for k, _ in found["cooking"].blocked_by] == ["exclude[0]"]
    assert found["sport"].outcome == verdicts.NO_MATCH
    assert found["only-b"].outcome == verdicts.OUT_OF_SCOPE
    assert found["everything"].outcome == verdicts.MATCHED
    assert found["everything"].query is None
    old = [stored(2, title="oil", age_hours=5)]
    assert explain(topic("old", query="oil", max_age=timedelta(hours=1)), members=old)[
        "old"
    ].outcome == verdicts.TOO_OLD  # fmt: skip


def test_the_member_that_matches_is_the_one_explained() -> None:
    members = [
        stored(1, title="Football in Tripoli", source_id="a"),
        stored(2, story_id=1, title="Oil in Tripoli", source_id="b"),
    ]
    v = explain(topic("oil", query="oil"), members=members)["oil"]
    assert v.outcome == verdicts.MATCHED and v.entry is not None and v.entry.id == 2


def test_rendered_tree_marks_clauses_and_folds_unfound_alternatives() -> None:
    v = explain(
        topic("t", query="(oil OR a1 OR a2 OR a3 OR a4 OR a5 OR a6 OR a7 OR a8 OR a9) AND NOT gas"),
        members=[stored(1, title="oil")],
    )["t"]
    lines = verdicts.render_verdict(v)
    assert lines[0] == "t (T): MATCHED - matched: oil"
    text = "\n".join(lines)
    assert "[x] ALL OF" in text and "[x] ANY OF" in text and "[x] oil" in text
    assert "[ ] not found: a1, a2, a3, a4, a5, a6, a7, a8 and 1 more" in text
    assert "[x] NOT\n" in text and "[ ] gas" in text


def test_examples_score_precision_and_recall() -> None:
    examples = (
        TopicExample("Oil output rises", match=True),
        TopicExample("Crude exports", text="oil tankers", match=True),
        TopicExample("Gas prices", match=True),  # missed: a false negative
        TopicExample("Cooking oil shortage", match=False),
        TopicExample("Turmoil in Peru", match=False),
        TopicExample("Olive oil harvest", match=False),  # taken: a false positive
    )
    t = topic(query="oil", exclude=('"cooking oil"',), examples=examples)
    report = verdicts.run_examples(curate.compile_topic(t, SOURCES))
    assert [r.passed for r in report.results] == [True, True, False, True, True, False]
    assert report.results[3].blocked_by == ("exclude[0]",)
    assert report.results[1].terms == ("oil",)
    assert report.precision == 2 / 3 and report.recall == 2 / 3
    empty = verdicts.run_examples(curate.compile_topic(topic(), SOURCES))
    assert empty.results == () and empty.precision is None and empty.recall is None
