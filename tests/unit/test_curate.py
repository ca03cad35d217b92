from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator import curate
from aggregator.config import SourceConfig
from tests.factories import T0, stored, topic

SOURCES = {
    "a": SourceConfig(id="a", url="https://a.example/f", tags=("libya",)),
    "b": SourceConfig(id="b", url="https://b.example/f", tags=("energy",)),
}
INFOS = {
    "a": curate.SourceInfo("Alpha", "https://a.example/"),
    "b": curate.SourceInfo("Beta", None),
}


@pytest.mark.parametrize(
    ("term", "text", "matches"),
    [
        ("oil", "Oil prices rise", True),
        ("oil", "the oil-rich region", True),
        ("oil", "OIL", True),
        ("oil", "turmoil in the capital", False),
        ("oil", "toil and trouble", False),
        ("oil", "boiling point", False),
        ("OPEC", "OPEC+ agrees to cut", True),
        ("OPEC", "Opec meeting", True),
        ("OPEC+", "OPEC+ agrees", True),
        ("OPEC+", "OPEC agrees", False),
        ("NOC", "Libya's NOC says", True),
        ("NOC", "a knock at the door", False),
        ("Tripoli", "clashes in TRIPOLI.", True),
        ("Benghazi", "Bengházi port", True),
        ("Dbeibah", "Prime Minister Dbeibah's office", True),
        ("cooking oil", "Cooking   oil prices", True),
        ("cooking oil", "cooking with oil", False),
        ("Libya", "<p>News from <b>Libya</b></p>", True),
        ("Libya", "Libyan", False),
        ("AT&T", "AT&amp;T reports", True),
    ],
)
def test_word_boundary_matching(term: str, text: str, matches: bool) -> None:
    matcher = curate.compile_topic(topic(any=(term,)), SOURCES)
    assert (matcher.match(stored(1, title=text)) is not None) is matches


def test_any_all_none_combine_and_report_terms() -> None:
    matcher = curate.compile_topic(
        topic(any=("oil", "crude"), all=("Libya",), none=("cooking oil",)), SOURCES
    )
    assert matcher.match(stored(1, title="Libya crude exports resume")) == ("Libya", "crude")
    assert matcher.match(stored(2, title="Oil output in Libya", summary="crude too")) == (
        "Libya", "oil", "crude",
    )  # fmt: skip
    assert matcher.match(stored(3, title="Crude oil prices")) is None  # misses "all"
    assert matcher.match(stored(4, title="Libya cooking oil shortage")) is None  # "none" wins
    assert matcher.match(stored(5, title="Libya elections")) is None  # misses "any"


def test_categories_and_content_are_searched() -> None:
    matcher = curate.compile_topic(topic(any=("opec",)), SOURCES)
    assert matcher.match(stored(1, title="x", categories=("OPEC",))) == ("opec",)
    assert matcher.match(stored(2, title="x", content="<p>the Opec meeting</p>")) == ("opec",)


def test_scope_by_sources_and_tags() -> None:
    by_tag = curate.compile_topic(topic(tags=("energy",)), SOURCES)
    assert by_tag.in_scope("b") and not by_tag.in_scope("a")
    by_source = curate.compile_topic(topic(sources=("a",)), SOURCES)
    assert by_source.in_scope("a") and not by_source.in_scope("b")
    everything = curate.compile_topic(topic(), SOURCES)
    assert everything.in_scope("a") and everything.in_scope("zzz")


def test_select_one_entry_per_story_crediting_the_others() -> None:
    rows = [
        stored(3, title="Oil news", age_hours=1),
        stored(1, story_id=1, title="Libya oil deal", age_hours=5),
        stored(2, story_id=1, source_id="b", title="Libya oil deal", age_hours=4),
    ]
    stories = curate.select(
        curate.compile_topic(topic(any=("oil",)), SOURCES), rows, now=T0, sources=INFOS
    )
    assert [s.entry.id for s in stories] == [3, 1]
    deal = stories[1]
    assert deal.source_title == "Alpha" and deal.source_link == "https://a.example/"
    assert [(c.source_id, c.source_title) for c in deal.also] == [("b", "Beta")]
    assert deal.matched == ("oil",)


def test_story_uid_is_fixed_by_the_founder_even_when_another_member_is_published() -> None:
    founder = stored(1, title="Sports in Tripoli", source_id="a")
    joiner = stored(2, story_id=1, source_id="b", title="Oil in Tripoli")
    only_b = curate.compile_topic(topic(sources=("b",), any=("oil",)), SOURCES)
    (story,) = curate.select(only_b, [founder, joiner], now=T0, sources=INFOS)
    assert story.entry.id == 2
    assert story.uid == curate.story_uid(founder)
    assert story.uid != curate.story_uid(joiner)
    assert story.uid.startswith("urn:uuid:")


def test_max_items_and_max_age() -> None:
    rows = [stored(i, title="oil", age_hours=i * 24) for i in range(1, 10)]
    capped = curate.select(
        curate.compile_topic(topic(any=("oil",), max_items=3), SOURCES), rows, now=T0,
        sources=INFOS,
    )  # fmt: skip
    assert [s.entry.id for s in capped] == [1, 2, 3]
    recent = curate.select(
        curate.compile_topic(topic(any=("oil",), max_age=timedelta(days=4, hours=1)), SOURCES),
        rows, now=T0, sources=INFOS,
    )  # fmt: skip
    assert [s.entry.id for s in recent] == [1, 2, 3, 4]


def test_unknown_source_falls_back_to_its_id() -> None:
    (story,) = curate.select(
        curate.compile_topic(topic(), SOURCES), [stored(1, source_id="gone")], now=T0, sources={}
    )
    assert story.source_title == "gone"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ṭarābulus", "tarabulus"),
        ("ÉCOLE  Niño", "ecole nino"),
        ("طرابلس", "طرابلس"),  # other scripts are kept, only marks go
        ("a&amp;b", "a&b"),  # markup: tests/unit/test_textfold.py
        ("ﬁne", "fine"),  # compatibility forms fold too
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert curate.fold(text) == folded


def test_query_and_sugar_combine_and_excludes_win() -> None:
    t = topic(query="oil OR gas", all=("Libya",), exclude=('"cooking oil"',), none=("palm",))
    matcher = curate.compile_topic(t, SOURCES)
    assert matcher.match(stored(1, title="Libya gas deal")) == ("gas", "Libya")
    assert matcher.match(stored(2, title="Gas deal")) is None  # misses `all`
    assert matcher.match(stored(3, title="Libya cooking oil")) is None  # exclude[0]
    assert matcher.match(stored(4, title="Libya palm oil")) is None  # none
    assert [x.key for x in matcher.excludes] == ["exclude[0]", "none"]


def test_tag_and_source_fields_see_the_source() -> None:
    matcher = curate.compile_topic(topic(query="oil AND NOT tag:libya"), SOURCES)
    infos = {
        "a": curate.SourceInfo("Alpha", None, ("libya",)),
        "b": curate.SourceInfo("Beta", None, ("energy",)),
    }
    rows = [stored(2, title="oil", source_id="b"), stored(1, title="oil", source_id="a")]
    assert [s.entry.id for s in curate.select(matcher, rows, now=T0, sources=infos)] == [2]


def test_min_age_holds_back_the_newest() -> None:
    rows = [stored(i, title="oil", age_hours=i) for i in range(1, 6)]
    t = topic(any=("oil",), min_age=timedelta(hours=2, minutes=30))
    stories = curate.select(curate.compile_topic(t, SOURCES), rows, now=T0, sources=INFOS)
    assert [s.entry.id for s in stories] == [3, 4, 5]


def test_select_all_equals_select_per_topic() -> None:
    rows = [
        stored(i, title=("oil " if i % 2 else "") + ("Libya" if i % 3 else ""), age_hours=i)
        for i in range(1, 30)
    ]  # fmt: skip
    topics = [
        topic("oil", any=("oil",), max_items=4),
        topic("libya", query="Libya NOT oil", max_age=timedelta(hours=20)),
        topic("all"),
    ]
    matchers = [curate.compile_topic(t, SOURCES) for t in topics]
    together = curate.select_all(matchers, rows, now=T0, sources=INFOS)
    for m in matchers:
        alone = curate.select(m, rows, now=T0, sources=INFOS)
        assert together[m.topic.slug] == alone, m.topic.slug
    assert len(together["oil"]) == 4 and len(together["all"]) == 29
    assert [s.entry.id for s in together["libya"]] == [2, 4, 8, 10, 14, 16, 20]
