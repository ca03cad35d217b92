"""What a classifier trained on Reuters' own `crude` labels reaches: the goal's ceiling.

Part of `benchmarks.topics_reuters`; the trained model needs scikit-learn
(`pip install -e '.[bench]'`) and is skipped without it. A hand-written topic must
not be fitted to this data set, so the fair reference for what a topic could reach
is a model that *is* fitted to it, judged on stories it was not trained on: a linear
SVM over TF-IDF words and word pairs (the standard strong baseline on Reuters-21578),
5-fold cross-validated over dev, and trained on each fixed half and judged on the
other. Its threshold is then chosen on the judged stories themselves, which flatters
it: the numbers are an upper bound for that model, not what it would do in service.
The topic's row is measured the same way, over every `min_score`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

FOLDS = 5
SEED = 0
GOAL_PRECISION = 0.90
GOAL_RECALL = 0.85


@dataclass(frozen=True)
class Ceiling:
    name: str
    precision_at_recall: float  # best precision with recall >= GOAL_RECALL
    recall_at_precision: float  # best recall with precision >= GOAL_PRECISION
    best_f1: float


def available() -> bool:
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def text(story: dict[str, Any]) -> str:
    return f"{story.get('title') or ''}\n{story.get('body') or ''}"


def _vectoriser() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(sublinear_tf=True, min_df=2, ngram_range=(1, 2))


def _scores(train: Sequence[str], labels: Sequence[bool], judged: Sequence[str]) -> list[float]:
    from sklearn.svm import LinearSVC

    vectoriser = _vectoriser()
    model = LinearSVC(C=1.0).fit(vectoriser.fit_transform(train), list(labels))
    return [float(s) for s in model.decision_function(vectoriser.transform(judged))]


def ceiling(name: str, labels: Sequence[bool], scores: Sequence[float | None]) -> Ceiling:
    """The best operating points over every threshold (None: never selected)."""
    ranked = sorted((s, y) for s, y in zip(scores, labels, strict=True) if s is not None)
    positives = sum(labels)
    points: list[tuple[float, float]] = []
    tp = chosen = 0
    while ranked:  # from the highest score down, taking tied scores together
        top = ranked[-1][0]
        while ranked and ranked[-1][0] == top:
            tp += ranked.pop()[1]
            chosen += 1
        points.append((tp / chosen, tp / positives))
    return Ceiling(
        name,
        max((p for p, r in points if r >= GOAL_RECALL), default=0.0),
        max((r for p, r in points if p >= GOAL_PRECISION), default=0.0),
        max((2 * p * r / (p + r) for p, r in points if p + r), default=0.0),
    )


def measure(dev: Sequence[dict[str, Any]]) -> list[Ceiling]:
    from sklearn.model_selection import StratifiedKFold

    texts = [text(s) for s in dev]
    labels = ["crude" in (s.get("topics") or []) for s in dev]
    folded = [0.0] * len(dev)
    for train, judged in StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(
        texts, labels
    ):
        scores = _scores([texts[i] for i in train], [labels[i] for i in train],
                         [texts[i] for i in judged])  # fmt: skip
        for i, score in zip(judged, scores, strict=True):
            folded[i] = score
    found = [ceiling(f"{FOLDS}-fold over dev", labels, folded)]
    even = [i for i, s in enumerate(dev) if s["newid"] % 2 == 0]
    odd = [i for i, s in enumerate(dev) if s["newid"] % 2 == 1]
    for name, train_ids, judged_ids in (("trained on A, judged on B", even, odd),
                                        ("trained on B, judged on A", odd, even)):  # fmt: skip
        judged_labels = [labels[i] for i in judged_ids]
        scores = _scores([texts[i] for i in train_ids], [labels[i] for i in train_ids],
                         [texts[i] for i in judged_ids])  # fmt: skip
        found.append(ceiling(name, judged_labels, scores))
    return found


def report(dev: Sequence[dict[str, Any]], topic: Ceiling) -> None:
    """The topic's best operating points (min_score swept) beside the trained model's."""
    print("Best operating points, each threshold chosen on the judged stories: the shipped")
    print("topic with min_score swept, and a linear SVM trained on the crude labels, judged")
    print("on stories it was not trained on: what a model fitted to these labels reaches,")
    print("which a query written without them should not be expected to beat")
    print(f"{'selector':<34}{'P at R>=.85':>12}{'R at P>=.90':>12}{'best F1':>10}")
    rows = [topic]
    if available():
        rows += measure(dev)
    for c in rows:
        print(f"{c.name:<34}{c.precision_at_recall:>12.3f}{c.recall_at_precision:>12.3f}"
              f"{c.best_f1:>10.3f}")  # fmt: skip
    if not available():
        print("(no trained model: scikit-learn is not installed; pip install -e '.[bench]')")
    print()
