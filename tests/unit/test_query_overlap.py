"""Terms of one scored query that would count the same words twice."""

from __future__ import annotations

import pytest

from aggregator import query
from aggregator.query import Document
from aggregator.query.overlap import overlapping
from aggregator.query.score import score


def pairs(text: str) -> list[tuple[str, str]]:
    return [(a.label, b.label) for a, b in overlapping(query.parse(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("refinery OR refiner*", [("refinery", "refiner*")]),  # prefix covers the word
        ("soybean* OR soy*", [("soybean*", "soy*")]),  # one prefix covers the other
        ("barrel OR barrels", [("barrel", "barrels")]),  # plural tolerance: same forms
        ("=oil OR oils", [("oil", "oils")]),  # exact "oil" is one of "oils"' forms
        ("embassy OR embassies", [("embassy", "embassies")]),
        ("crude OR crude^2", [("crude", "crude")]),  # same word, two weights
        ("title:oil OR oil", [("oil", "oil")]),  # the default field includes the title
        ("price* OR (oil AND prices)", [("price*", "prices")]),  # anywhere in the tree
        ("oil OR oilfield*", []),  # "oilfield" words never equal "oil"
        ("=oil OR =oils", []),  # exact: no shared form
        ("title:oil OR source:oil", []),  # different fields
        ("title:oil OR summary:oil", []),
        ('"crude oil" OR oil OR crude', []),  # a phrase bonus is deliberate
        ("crude^2 OR (oil AND crude^2)", []),  # the same term twice scores once
        ("refin* OR NOT refinery", []),  # a term under NOT never scores
        ("refin* OR (refinery AND NOT refiners)", [("refin*", "refinery")]),
    ],
)
def test_overlapping_terms(text: str, expected: list[tuple[str, str]]) -> None:
    assert pairs(text) == expected


def test_what_the_warning_is_about_one_mention_scores_for_both() -> None:
    doc = Document(title="Fire at refinery", summary="The refinery was shut.")
    both = score(query.compile_query("refinery OR refiner*"), doc)
    one = score(query.compile_query("refinery"), doc)
    assert [p.label for p in both.parts] == ["refinery", "refiner*"]
    assert both.total == pytest.approx(2 * one.total)


def brute_force(node: query.Node) -> list[tuple[str, str]]:
    """Every pair tried, as overlapping did before it indexed the terms."""
    single = list(dict.fromkeys(t for t in query.terms(node) if len(t.words) == 1))
    found = []
    for i, a in enumerate(single):
        for b in single[i + 1 :]:
            if any(pair == (a, b) for pair in overlapping(query.Or((a, b)))):
                found.append((a.label, b.label))
    return found


def test_the_index_finds_what_trying_every_pair_finds() -> None:
    text = (
        "oil OR oils OR oilfield* OR oilf* OR =oil OR title:oilfield OR source:oil OR soy* "
        "OR soybean OR soybeans OR so* OR refin* OR refinery OR refineries OR =refiner OR gas "
        "OR gases OR ga* OR tax OR taxes OR tax* OR title:tax*"
    )
    node = query.parse(text)
    assert pairs(text) == brute_force(node)


@pytest.mark.timeout(10)
def test_thousands_of_terms_are_checked_without_trying_every_pair() -> None:
    words = ["".join(chr(97 + i // 26**k % 26) for k in range(4)) for i in range(20_000)]
    assert pairs(" OR ".join([*words, "baaa*", "caaas"])) == [
        ("baaa", "baaa*"),
        ("caaa", "caaas"),
    ]
