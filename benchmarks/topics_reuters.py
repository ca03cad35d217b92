"""The shipped topics on real wire copy: quality against Reuters' labels, and speed.

    .venv/bin/python -m benchmarks.topics_reuters

Reads ../shared/eval/reuters21578.jsonl.gz (never copied into the project; the
benchmark says so and exits when it is absent). Each story becomes an article
as a feed would carry it: the headline as title, the first paragraph as summary
(the lead), the whole body as content.

Quality: the shipped "Oil and OPEC" topic on the labelled "dev" split, against
the `crude` label, and how many `opec` stories it catches, on all of dev and on
its two fixed halves (even and odd story ids: tune looking at A's errors, judge
on B); then the same at other `min_score` values around the shipped one (how
sensitive the result is); then the best the topic could do at any `min_score`
beside what a classifier trained on the labels reaches (`label_ceiling`).
Speed: every story (both splits) matched against both shipped topics, by the
engine (one folded Document per story, shared by the topics, word sets) and by
a baseline measured in the same run: the same queries evaluated naively, one
regex search per term, and for a topic with `min_score` each matched term's
mentions counted by that regex. Both must select the same stories.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator import config, curate, query
from aggregator.query import Document
from aggregator.query.document import ascii_host
from aggregator.query.score import TITLE_POINTS, saturate
from benchmarks import label_ceiling

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "eval" / "reuters21578.jsonl.gz"
ROUNDS = 3
_ON_TOPIC = re.compile(r"\b(OPEC|CRUDE)\b", re.IGNORECASE)


def load() -> list[dict[str, Any]]:
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def article(story: dict[str, Any]) -> Document:
    body = story.get("body") or ""
    lead = body.split("\n    ", 1)[0]
    return Document(title=story.get("title") or "", summary=lead, content=body,
                    source=("reuters", "Reuters"))  # fmt: skip


class Naive:
    """The baseline: the same query trees, each term a regex over the field's text."""

    def __init__(self, matcher: curate.TopicMatcher) -> None:
        self.rule = None if matcher.query is None else matcher.query.node
        self.excludes = [x.query.node for x in matcher.excludes]
        self.min_score = matcher.topic.min_score
        self.demotes = [d.node for d in matcher.demotes]
        self.patterns: dict[query.Term, re.Pattern[str]] = {}
        for node in [self.rule, *self.excludes, *self.demotes]:
            for term in query.terms(node) if node is not None else ():
                self.patterns[term] = re.compile(_pattern(term))

    def match(self, doc: Document) -> bool:
        if self.rule is not None and not self.eval(self.rule, doc):
            return False
        if any(self.eval(x, doc) for x in self.excludes):
            return False
        if self.min_score is None or self.rule is None:
            return True
        parts = [self.points(t, doc) for t in self.positive(self.rule, doc)]
        for demote in self.demotes:
            parts += [-self.points(t, doc) for t in self.positive(demote, doc)]
        return sum(parts) >= self.min_score

    def positive(self, node: query.Node, doc: Document) -> list[query.Term]:
        """The matched terms outside NOT that made the tree true, each once."""
        found: dict[query.Term, None] = {}

        def walk(n: query.Node) -> None:
            if isinstance(n, query.Term):
                found[n] = None
            elif isinstance(n, query.And | query.Or):
                for item in n.items:
                    if self.eval(item, doc):
                        walk(item)

        if self.eval(node, doc):
            walk(node)
        return list(found)

    def points(self, term: query.Term, doc: Document) -> float:
        field = term.field or query.TEXT
        if field == "domain":
            return term.weight
        pattern = self.patterns[term]
        title = field in (query.TEXT, "title") and pattern.search(doc.text("title")) is not None
        rest = ("summary", "content", "category") if field == query.TEXT else (
            () if field == "title" else (field,))  # fmt: skip
        n = sum(len(pattern.findall(doc.text(f))) for f in rest)
        return term.weight * (TITLE_POINTS * title + saturate(n))

    def eval(self, node: query.Node, doc: Document) -> bool:
        if isinstance(node, query.Term):
            if node.field == "domain":
                host = ascii_host(node.text)
                return doc.host == host or doc.host.endswith("." + host)
            text = doc.text(node.field or query.TEXT)
            return self.patterns[node].search(text) is not None
        if isinstance(node, query.Not):
            return not self.eval(node.item, doc)
        combine = all if isinstance(node, query.And) else any
        return combine(self.eval(i, doc) for i in node.items)


def _pattern(term: query.Term) -> str:
    words = [p for p in term.folded.split() if p.strip("-")]  # "-" alone is a separator
    pieces = [re.escape(p) for p in words]
    last = words[-1]
    if term.prefix:
        pieces[-1] += r"\w*"
    elif not term.exact and re.fullmatch(r"\w+", last):
        pieces[-1] = "(?:" + "|".join(sorted(query.variants(last), key=len, reverse=True)) + ")"
    start = r"(?<!\w)" if re.match(r"\w", term.folded) else ""
    end = r"(?!\w)" if re.search(r"\w$", term.folded) and not term.prefix else ""
    return start + r"[\s\-]+".join(pieces) + end


def timed(
    stories: Sequence[dict[str, Any]], tests: Sequence[Callable[[Document], bool]]
) -> tuple[float, list[int]]:
    """Best of ROUNDS: seconds to fold every story and test it against every topic."""
    best = float("inf")
    hits: list[int] = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        counts = [0] * len(tests)
        for story in stories:
            doc = article(story)  # folding is part of the cost, once per story
            for i, test in enumerate(tests):
                counts[i] += test(doc)
        best = min(best, time.perf_counter() - start)
        hits = counts
    return best, hits


def _score_if_matched(matcher: curate.TopicMatcher, doc: Document) -> float | None:
    """The topic's score for a document its query takes and no exclude blocks."""
    if matcher.query is None or not matcher.query.test(doc) or matcher.excluded_by(doc):
        return None
    found = matcher.score(doc)
    return float("inf") if found is None else found.total


@dataclass
class Quality:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    opec: int = 0
    opec_caught: int = 0
    fp_on_topic: int = 0
    scored: list[tuple[float | None, bool]] = field(default_factory=list)  # score if taken

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0


def _quality(stories: Sequence[dict[str, Any]], oil: curate.TopicMatcher) -> Quality:
    q = Quality()
    for story in stories:
        doc = article(story)
        hit = oil.match_document(doc) is not None
        crude = "crude" in (story.get("topics") or [])
        q.scored.append((_score_if_matched(oil, doc), crude))
        q.tp += hit and crude
        q.fp += hit and not crude
        # Reuters' labels are not the topic: unlabelled stories whose own headline is
        # about OPEC or crude ("OPEC PRESIDENT SAYS OIL MARKET BEING MANIPULATED").
        q.fp_on_topic += hit and not crude and bool(_ON_TOPIC.search(story["title"]))
        q.fn += crude and not hit
        if "opec" in (story.get("orgs") or []):
            q.opec += 1
            q.opec_caught += hit
    return q


def _sensitivity(shipped: float | None, scored: list[tuple[float | None, bool]]) -> None:
    """Precision and recall if min_score were set differently (same query, same demotes)."""
    if shipped is None:
        return
    crude = sum(c for _, c in scored)
    print(f"{'min_score':<34}{'precision':>10}{'recall':>10}{'selected':>10}")
    steps = (None, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0)
    for step in steps:
        bar = -float("inf") if step is None else shipped + step
        if bar <= 0 and step is not None:
            continue
        chosen = [c for s, c in scored if s is not None and s >= bar]
        tp = sum(chosen)
        name = "none (the query alone)" if step is None else f"{bar:g}"
        name += " (shipped)" if step == 0.0 else ""
        precision = tp / len(chosen) if chosen else 0.0
        print(f"{name:<34}{precision:>10.3f}{tp / crude:>10.3f}{len(chosen):>10}")
    print()


def main() -> int:
    if not DATA.is_file():
        print(f"skipped: {DATA} is not present (it is never copied into the project)")
        return 0
    stories = load()
    dev = [s for s in stories if s.get("split") == "dev"]
    cfg = config.load(ROOT / "config.toml")
    matchers = [curate.compile_topic(t, cfg.sources) for t in cfg.topics.values()]
    oil = next(m for m in matchers if m.topic.slug == "oil-and-opec")

    total = _quality(dev, oil)
    halves = [
        ("half A (even ids)", _quality([s for s in dev if s["newid"] % 2 == 0], oil)),
        ("half B (odd ids)", _quality([s for s in dev if s["newid"] % 2 == 1], oil)),
    ]
    print(f'Shipped "{oil.topic.title}" topic on Reuters-21578 dev ({len(dev):,} stories)')
    print(f"{'measure':<34}{'value':>10}{'goal':>10}")
    print(f"{'precision against crude':<34}{total.precision:>10.3f}{'>= 0.90':>10}")
    print(f"{'recall against crude':<34}{total.recall:>10.3f}{'>= 0.85':>10}")
    print(f"{'selected / crude stories':<34}{f'{total.tp + total.fp} / {total.tp + total.fn}':>10}")
    print(f"{'opec stories caught':<34}{f'{total.opec_caught} / {total.opec}':>10}")
    print(f"{'false positives headlined OPEC/crude':<34}{f'{total.fp_on_topic} / {total.fp}':>10}")
    on_topic = (total.tp + total.fp_on_topic) / (total.tp + total.fp)
    print(f"{'precision counting those as right':<34}{on_topic:>10.3f}")
    print()
    # Two fixed halves: change the query or the scoring looking at A's errors only,
    # then judge the change on B, which was not looked at.
    print(f"{'split':<34}{'precision':>10}{'recall':>10}{'opec':>10}")
    for name, q in (*halves, ("all of dev", total)):
        print(f"{name:<34}{q.precision:>10.3f}{q.recall:>10.3f}{f'{q.opec_caught}/{q.opec}':>10}")
    print()
    scored = total.scored
    _sensitivity(oil.topic.min_score, scored)
    topic_row = label_ceiling.ceiling(
        "shipped topic, min_score swept", [c for _, c in scored], [s for s, _ in scored]
    )
    label_ceiling.report(dev, topic_row)

    engine_tests = [lambda d, m=m: m.match_document(d) is not None for m in matchers]
    naive_tests = [Naive(m).match for m in matchers]
    engine_s, engine_hits = timed(stories, engine_tests)
    naive_s, naive_hits = timed(stories, naive_tests)
    if engine_hits != naive_hits:
        print(f"MISMATCH: engine selected {engine_hits}, naive regex {naive_hits}")
        return 1
    slugs = ", ".join(m.topic.slug for m in matchers)
    print(f"Matching {len(stories):,} stories against both topics ({slugs}), best of {ROUNDS}")
    print(f"{'matcher':<34}{'seconds':>10}{'entries/s':>12}{'speed-up':>10}")
    for name, seconds in (("naive: one regex per term", naive_s), ("engine", engine_s)):
        print(f"{name:<34}{seconds:>10.2f}{len(stories) / seconds:>12,.0f}"
              f"{naive_s / seconds:>9.1f}x")  # fmt: skip
    print(f"selected: {dict(zip([m.topic.slug for m in matchers], engine_hits, strict=True))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
