"""Relevance scoring: `^weights` in the query language, the points table,
`min_score`/`demote` in config, curate and explanations."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator import config, curate, query, verdicts
from aggregator.config import TopicConfig, TopicExample
from aggregator.errors import ConfigError
from aggregator.query import Document, QuerySyntaxError, Term
from aggregator.query.score import saturate, term_points
from tests.factories import T0, stored


def weights(text: str) -> list[tuple[str, float]]:
    return [(t.label, t.weight) for t in query.terms(query.parse(text))]


def test_weights_on_terms_phrases_and_groups() -> None:
    assert weights('oil^2 "crude oil"^1.5 price*^0.5') == [
        ("oil", 2.0), ("crude oil", 1.5), ("price*", 0.5),
    ]  # fmt: skip
    # A group's weight multiplies its terms' own weights.
    assert weights("(OPEC OR Brent^2)^3 OR title:oil^2") == [
        ("OPEC", 3.0), ("Brent", 6.0), ("oil", 2.0),
    ]  # fmt: skip
    assert query.render(query.parse("(a OR b^2)^3 c")) == "((a^3 OR b^6) AND c)"
    # A weight never changes what matches.
    doc = Document(title="Oil output rises")
    assert query.compile_query("oil^5 AND output^0.1").test(doc)
    assert not query.compile_query("gas^5").test(doc)


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("oil ^2", 5, '"^" weighs the term, "phrase" or ")" right before it'),
        ("^2 oil", 1, '"^" weighs the term'),
        ("oil OR^2 gas", 7, '"^" weighs the term'),
        ("oil^2^3", 6, '"^" weighs the term'),
        ("oil^", 5, 'expected a weight after "^" (a number above 0, at most 100), found nothing'),
        ("oil^x", 5, "found 'x'"),
        ("oil^0", 5, "found '0'"),
        ("oil^-1", 5, "found '-1'"),
        ("oil^101", 5, "found '101'"),
        ('"crude oil"^ gas', 13, "found nothing"),
    ],
)
def test_weight_errors_name_the_column(text: str, column: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        query.parse(text)
    assert f"column {column}: " in str(info.value)
    assert message in info.value.message


def points(term: str, **fields: str) -> float:
    node = query.parse(term)
    assert isinstance(node, Term)
    return round(term_points(node, Document(title=fields.pop("title", ""), **fields)), 2)


def test_saturation_curve() -> None:
    assert [round(saturate(n), 2) for n in (0, 1, 2, 3, 10, 1000)] == [
        0.0, 1.0, 1.38, 1.57, 1.96, 2.2,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("term", "fields", "expected"),
    [
        ("oil", {"title": "Oil output rises"}, 3.0),  # the headline: 3
        ("oil", {"summary": "oil"}, 1.0),  # one mention in the text: 1
        ("oil", {"summary": "oil and more oil", "content": "oil"}, 1.57),  # three: saturating
        ("oil", {"title": "Oil", "content": "oil, oils"}, 4.38),  # headline plus two
        ("oil^2", {"title": "Oil"}, 6.0),
        ("oil", {"title": "Turmoil and toil"}, 0.0),  # word boundaries, as in matching
        ("embassy", {"content": "two embassies and an embassy"}, 1.38),  # plural tolerance
        ("=embassy", {"content": "two embassies and an embassy"}, 1.0),
        ("price*", {"title": "Prices", "content": "priced, pricing"}, 4.0),  # not "pricing"
        ('"crude oil"', {"title": "Crude-oil stocks", "content": "crude oil, crude"}, 4.0),
        ("title:oil", {"title": "Oil", "content": "oil oil"}, 3.0),  # the title only
        ("summary:oil", {"title": "Oil", "summary": "oil"}, 1.0),  # not the title
    ],
)
def test_points_table(term: str, fields: dict[str, str], expected: float) -> None:
    assert points(term, **fields) == expected


def test_points_in_list_fields_and_domains() -> None:
    doc = Document(title="x", categories=("Energy", "Oil"), link="https://www.reuters.com/a")
    for text, expected in (("category:energy", 1.0), ("oil", 1.0), ("domain:reuters.com^2", 2.0)):
        node = query.parse(text)
        assert isinstance(node, Term)
        assert term_points(node, doc) == expected, text


def test_score_counts_the_terms_that_made_the_match_and_subtracts_demotes() -> None:
    q = query.compile_query("(OPEC^3 OR oil) AND NOT Olympics OR (gas AND opera)")
    doc = Document(title="OPEC weighs oil output", summary="Oil ministers meet; oil prices.")
    found = query.score(q, doc)
    # OPEC: 3 x 3 in the headline; oil: 3 + saturate(2); nothing under NOT; gas not found.
    assert [(p.label, round(p.points, 2)) for p in found.parts] == [("OPEC", 9.0), ("oil", 4.38)]
    assert round(found.total, 2) == 13.38
    demoted = query.score(
        q, doc, [query.compile_query("prices OR dividend"), query.compile_query("x")]
    )
    assert [(p.label, round(p.points, 2)) for p in demoted.parts][-1] == ("prices", -1.0)
    assert round(demoted.total, 2) == 12.38
    assert demoted.describe() == "12.4 = OPEC 9.0 + oil 4.4 - prices 1.0"
    assert query.score(q, Document(title="Gas prices")).total == 0.0  # the query fails


def topic(**kwargs: object) -> TopicConfig:
    return TopicConfig(slug="oil", title="Oil", **kwargs)  # type: ignore[arg-type]


def test_min_score_decides_after_the_query_and_the_excludes() -> None:
    matcher = curate.compile_topic(
        topic(query="OPEC^3 OR oil", min_score=4, demote=("dividend* OR notes",),
              exclude=("Olympics",)),
        {},
    )  # fmt: skip
    assert matcher.match_document(Document(title="OPEC meets")) == ("OPEC",)
    assert matcher.match_document(Document(title="Oil", summary="oil output")) == ("oil",)
    assert matcher.match_document(Document(title="Oil company", summary="and a tanker")) is None
    assert matcher.match_document(Document(title="x", summary="oil oil oil oil")) is None
    # Demoted: 3 + 1 for oil, minus 3 for "notes" in the headline.
    assert matcher.match_document(Document(title="Oil sells notes", summary="oil")) is None
    assert matcher.match_document(Document(title="OPEC and Olympics")) is None
    assert matcher.score(Document(title="OPEC")) is not None
    plain = curate.compile_topic(topic(query="oil"), {})
    assert plain.score(Document(title="oil")) is None  # no min_score: no scoring
    assert plain.match_document(Document(title="x", summary="oil")) == ("oil",)


def test_rule_digest_changes_with_min_score_and_demote_only() -> None:
    base = curate.rule_digest(curate.compile_topic(topic(query="oil"), {}))
    scored = curate.rule_digest(curate.compile_topic(topic(query="oil", min_score=4), {}))
    higher = curate.rule_digest(curate.compile_topic(topic(query="oil", min_score=5), {}))
    demoted = curate.rule_digest(
        curate.compile_topic(topic(query="oil", min_score=4, demote=("x",)), {})
    )
    assert len({base, scored, higher, demoted}) == 4
    # A topic without min_score keeps the digest it had before scoring existed, so
    # upgrading does not force a full re-curation.
    assert base == curate.rule_digest(curate.compile_topic(topic(query="oil"), {}))


def test_explain_and_examples_report_the_score() -> None:
    matcher = curate.compile_topic(
        topic(query="OPEC^3 OR oil", min_score=4, demote=("notes",), examples=(
            TopicExample("OPEC cuts output"), TopicExample("Oil firm sells notes", match=False),
        )),
        {},
    )  # fmt: skip
    report = verdicts.run_examples(matcher)
    assert [r.passed for r in report.results] == [True, True]
    low = report.results[1]
    assert not low.matched and low.score is not None and low.score.total == 0.0
    assert verdicts.render_score(low.score, 4) == "score 0.0 = oil 3.0 - notes 3.0 (min_score 4)"

    entry = stored(1, title="Oil firm sells notes")
    [verdict] = verdicts.explain_story([matcher], [entry], entry=entry, now=T0, sources={})
    assert verdict.outcome == verdicts.LOW_SCORE
    lines = verdicts.render_verdict(verdict)
    assert lines[0] == "oil (Oil): SCORE TOO LOW - matched: oil"
    assert "  score 0.0 = oil 3.0 - notes 3.0 (min_score 4)" in lines


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_min_score_and_demote_load(tmp_path: Path) -> None:
    cfg = config.load(write(tmp_path, '[topics.t]\nquery = "oil^2"\nmin_score = 4\n'
                                      'demote = ["dividend*"]\n'))  # fmt: skip
    assert cfg.topics["t"].min_score == 4.0 and cfg.topics["t"].demote == ("dividend*",)
    cfg = config.load(write(tmp_path, '[topics.t]\nquery = "oil"\nmin_score = 2.5\n'))
    assert cfg.topics["t"].min_score == 2.5 and cfg.topics["t"].demote == ()
    assert config.load(write(tmp_path, '[topics.t]\nquery = "oil"\n')).topics["t"].min_score is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('query = "oil"\nmin_score = 0', "topics.t.min_score: expected a number above 0"),
        ('query = "oil"\nmin_score = -1', "topics.t.min_score: expected a number above 0"),
        ('query = "oil"\nmin_score = "4"', "topics.t.min_score: expected a number above 0"),
        ('query = "oil"\nmin_score = true', "topics.t.min_score: expected a number above 0"),
        ("min_score = 4", "topics.t.min_score: needs a query (or any/all terms) to score"),
        ('query = "oil"\ndemote = ["x"]', "topics.t.demote: has no effect without min_score"),
        ('query = "oil"\nmin_score = 4\ndemote = ["(a"]',
         'topics.t.demote[0]: column 3: expected ")"'),
        ('query = "oil^0"', "topics.t.query: column 5: expected a weight"),
    ],
)  # fmt: skip
def test_bad_scoring_keys_are_named(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, f"[topics.t]\n{text}\n"))
    assert expected in str(info.value)
