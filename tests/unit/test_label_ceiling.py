"""The operating-point sweep the Reuters benchmark reports for the topic and the model."""

from __future__ import annotations

import pytest

from benchmarks.label_ceiling import ceiling


def test_a_perfect_ranking_reaches_both_goals() -> None:
    found = ceiling("perfect", [True, True, False, False], [4.0, 3.0, 2.0, 1.0])
    assert (found.precision_at_recall, found.recall_at_precision, found.best_f1) == (1, 1, 1)


def test_tied_scores_are_taken_together() -> None:
    # One threshold cannot split the tie at 5: both stories come in, or neither.
    found = ceiling("tied", [True, False, True], [5.0, 5.0, 1.0])
    assert found.recall_at_precision == 0.0  # precision 0.5 at the tie, then 2/3
    assert found.precision_at_recall == pytest.approx(2 / 3)
    assert found.best_f1 == pytest.approx(0.8)  # P 2/3, R 1


def test_unselected_stories_never_count_as_chosen() -> None:
    # None: the query never took the story, so no min_score can select it.
    found = ceiling("query", [True, True, False], [3.0, None, 2.0])
    assert found.precision_at_recall == 0.0  # recall stops at 1/2
    assert found.recall_at_precision == 0.5
    assert found.best_f1 == pytest.approx(2 / 3)
