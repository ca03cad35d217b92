"""Why a topic took an article or not, and how topics score on their examples.

Pure, like curate: `aggregator explain` and `aggregator topics test` render
what these functions return; nothing here reads the store or the clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aggregator import curate, query
from aggregator.config import Config, TopicExample
from aggregator.curate import SourceInfo, TopicMatcher, compile_topic, document, example_document
from aggregator.models import StoredEntry
from aggregator.query import Document, Explained, Score

MATCHED = "matched"
NO_MATCH = "no match"
EXCLUDED = "excluded"
LOW_SCORE = "score too low"
OUT_OF_SCOPE = "out of scope"
TOO_OLD = "too old"
TOO_NEW = "too new"
_SHOWN_MISSES = 8  # unmatched alternatives listed by name under an OR


@dataclass(frozen=True, slots=True)
class Verdict:
    """One topic's decision about one story (or one example)."""

    slug: str
    title: str
    outcome: str
    entry: StoredEntry | None = None  # the member the details are about
    matched: tuple[str, ...] = ()
    query: Explained | None = None  # None: the topic has no condition
    blocked_by: tuple[tuple[str, Explained], ...] = ()  # excludes that matched
    note: str = ""
    score: Score | None = None  # for a topic with min_score whose query matched

    min_score: float | None = None
    # A topic with cluster = false publishes the entry's exact duplicates apart
    # from the rest of its story, under this id (None: the story's id applies).
    uid: str | None = None

    @property
    def selected(self) -> bool:
        return self.outcome == MATCHED


Judgement = tuple[Explained | None, list[tuple[str, Explained]]]


def _judge(matcher: TopicMatcher, doc: Document) -> Judgement:
    tree = None if matcher.query is None else matcher.query.explain(doc)
    blocked = [(x.key, t) for x in matcher.excludes if (t := x.query.explain(doc)).matched]
    return tree, blocked


def explain_story(
    matchers: Sequence[TopicMatcher],
    members: Sequence[StoredEntry],
    *,
    entry: StoredEntry,
    now: datetime,
    sources: Mapping[str, SourceInfo],
) -> list[Verdict]:
    """For every topic: did it take `entry`'s story (`members`, first seen first),
    through which member and terms, or what kept it out. Mirrors curate.select,
    which publishes the first in-scope member that matches; a topic with cluster
    = false judges only the entry's exact duplicates, as publishing groups them."""
    docs = {m.id: document(m, sources.get(m.source_id)) for m in members}
    exact = curate.exact_group(members, entry)
    verdicts: list[Verdict] = []
    for matcher in matchers:
        if matcher.topic.cluster:
            verdicts.append(_judge_group(matcher, members, docs, now))
        else:
            verdict = _judge_group(matcher, exact, docs, now)
            verdicts.append(dataclasses.replace(verdict, uid=curate.story_uid(exact[0])))
    return verdicts


def _judge_group(
    matcher: TopicMatcher, group: Sequence[StoredEntry], docs: Mapping[int, Document],
    now: datetime,
) -> Verdict:  # fmt: skip
    """One topic's verdict on one story as the topic groups it (`group`, founder first)."""
    topic = matcher.topic
    founder = group[0]
    in_scope = [m for m in group if matcher.in_scope(m.source_id)]
    if not in_scope:
        scope = ", ".join(sorted(matcher.scope or ())) or "none"
        return Verdict(topic.slug, topic.title, OUT_OF_SCOPE, note=f"sources in scope: {scope}")
    first: Verdict | None = None
    chosen: Verdict | None = None
    for member in in_scope:
        doc = docs[member.id]
        tree, blocked = _judge(matcher, doc)
        hit = tree is None or tree.matched
        score = matcher.score(doc) if hit else None
        outcome = _outcome(matcher, hit, blocked, score)
        terms = matcher.query.matched(doc) if matcher.query and hit else ()
        verdict = Verdict(
            topic.slug, topic.title, outcome, member, terms, tree, tuple(blocked),
            score=score, min_score=topic.min_score,
        )  # fmt: skip
        first = first or verdict
        if outcome == MATCHED:
            chosen = verdict
            break
        if outcome != NO_MATCH and first.outcome == NO_MATCH:
            first = verdict
    assert first is not None  # in_scope is not empty
    verdict = chosen or first
    if verdict.selected and topic.max_age and founder.sort_date < now - topic.max_age:
        return _replace(verdict, TOO_OLD, f"first seen before max_age ({topic.max_age})")
    if verdict.selected and curate.matures(topic, founder, now) is not None:
        return _replace(verdict, TOO_NEW, f"younger than min_age ({topic.min_age})")
    return verdict


def _outcome(
    matcher: TopicMatcher, hit: bool, blocked: list[tuple[str, Explained]], score: Score | None
) -> str:
    """Mirrors TopicMatcher.match_document: the query, then excludes, then min_score."""
    if not hit:
        return NO_MATCH
    if blocked:
        return EXCLUDED
    if score is not None and score.total < (matcher.topic.min_score or 0.0):
        return LOW_SCORE
    return MATCHED


def _replace(v: Verdict, outcome: str, note: str) -> Verdict:
    return dataclasses.replace(v, outcome=outcome, note=note)


def render_score(score: Score, min_score: float | None) -> str:
    """'score 10.4 = OPEC 9.0 + oil 1.4 (min_score 4)'."""
    return f"score {score.describe()} (min_score {min_score or 0:g})"


def render_verdict(verdict: Verdict) -> list[str]:
    """Indented lines: the outcome, then the query tree and any exclude that matched."""
    head = f"{verdict.slug} ({verdict.title}): {verdict.outcome.upper()}"
    if verdict.matched:
        head += f" - matched: {', '.join(verdict.matched)}"
    lines = [head]
    if verdict.note:
        lines.append(f"  {verdict.note}")
    if verdict.uid is not None:
        lines.append(f"  cluster = false: exact duplicates only, published as {verdict.uid}")
    if verdict.entry is not None:
        lines.append(f"  judged on entry {verdict.entry.id} ({verdict.entry.source_id})")
        if verdict.score is not None:
            lines.append(f"  {render_score(verdict.score, verdict.min_score)}")
        if verdict.query is None:
            lines.append("  query: none (every article in scope)")
        else:
            lines.append("  query:")
            lines += render_tree(verdict.query, depth=2)
    for key, tree in verdict.blocked_by:
        lines.append(f"  blocked by {key}:")
        lines += render_tree(tree, depth=2)
    return lines


def render_tree(tree: Explained, *, depth: int = 0) -> list[str]:
    """[x] for a clause that held, [ ] for one that did not."""
    pad = "  " * depth
    mark = "[x]" if tree.matched else "[ ]"
    node = tree.node
    if isinstance(node, query.Term):
        return [f"{pad}{mark} {query.render(node)}"]
    if isinstance(node, query.Not):
        return [f"{pad}{mark} NOT", *render_tree(tree.children[0], depth=depth + 1)]
    lines = [f"{pad}{mark} {'ALL OF' if isinstance(node, query.And) else 'ANY OF'}"]
    misses: list[str] = []
    for child in tree.children:
        # Under an OR, the alternatives that were not found are listed on one line.
        if isinstance(node, query.Or) and not child.matched and isinstance(child.node, query.Term):
            misses.append(query.render(child.node))
        else:
            lines += render_tree(child, depth=depth + 1)
    if misses:
        shown = ", ".join(misses[:_SHOWN_MISSES])
        more = f" and {len(misses) - _SHOWN_MISSES} more" if len(misses) > _SHOWN_MISSES else ""
        lines.append(f"{pad}  [ ] not found: {shown}{more}")
    return lines


@dataclass(frozen=True, slots=True)
class ExampleResult:
    index: int
    example: TopicExample
    matched: bool
    terms: tuple[str, ...]
    blocked_by: tuple[str, ...]
    score: Score | None = None  # for a topic with min_score whose query matched

    @property
    def passed(self) -> bool:
        return self.matched == self.example.match


@dataclass(frozen=True, slots=True)
class ExampleReport:
    slug: str
    results: tuple[ExampleResult, ...]

    @property
    def failed(self) -> tuple[ExampleResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def _count(self, matched: bool, expected: bool) -> int:
        return sum(r.matched == matched and r.example.match == expected for r in self.results)

    @property
    def precision(self) -> float | None:
        """Of the examples the topic takes, the share it should; None if it takes none."""
        tp, fp = self._count(True, True), self._count(True, False)
        return tp / (tp + fp) if tp + fp else None

    @property
    def recall(self) -> float | None:
        """Of the examples it should take, the share it does; None if none should match."""
        tp, fn = self._count(True, True), self._count(False, True)
        return tp / (tp + fn) if tp + fn else None


def run_examples(matcher: TopicMatcher) -> ExampleReport:
    """The topic's query and excludes against its labelled examples (scope and
    age do not apply: an example has no source and no date)."""
    results: list[ExampleResult] = []
    for i, example in enumerate(matcher.topic.examples):
        doc = example_document(example)
        tree, blocked = _judge(matcher, doc)
        found = tree is None or tree.matched
        score = matcher.score(doc) if found else None
        hit = _outcome(matcher, found, blocked, score) == MATCHED
        terms = matcher.query.matched(doc) if matcher.query and hit else ()
        blocked_by = tuple(k for k, _ in blocked)
        results.append(ExampleResult(i, example, hit, terms, blocked_by, score))
    return ExampleReport(matcher.topic.slug, tuple(results))


def example_reports(cfg: Config) -> list[ExampleReport]:
    """Every topic's examples, in the configuration's order."""
    return [run_examples(compile_topic(t, cfg.sources)) for t in cfg.topics.values()]


def example_problems(cfg: Config) -> list[str]:
    """The examples a topic gets wrong, as `aggregator check` reports them: a
    configuration with any is invalid (the daemon does not reload it)."""
    return [
        f"{cfg.path}: topics.{report.slug}.examples[{r.index}]: {_expectation(r)}"
        for report in example_reports(cfg)
        for r in report.failed
    ]


def _expectation(result: ExampleResult) -> str:
    title = result.example.title
    if result.example.match:
        return f"should match but does not: {title!r}"
    terms = ", ".join(result.terms) or "no terms"
    return f"should not match but does (matched: {terms}): {title!r}"
