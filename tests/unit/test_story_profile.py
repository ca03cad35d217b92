"""Story profiles: what is stored is what was computed, and comparisons made
through stored profiles decide as comparisons of the texts do."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from aggregator import dedup, story_profile
from aggregator.models import Candidate, ParsedEntry

_T = datetime(2026, 11, 1, tzinfo=UTC)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


TEXT = (
    ("opec", "fails", "to", "agree", "output", "cut", "on", "monday"),
    _words(
        "ministers met in vienna on monday and 12 of 13 members backed a 15 million barrel "
        "cut but saudi arabia said two more days were needed"
    ),
)  # fmt: skip


def test_a_profile_round_trips_through_its_stored_bytes() -> None:
    p = story_profile.profile(*TEXT)
    data = story_profile.encode(p)
    assert story_profile.decode(data) == p
    # A few hundred bytes, not the text: 4 bytes a number plus a header.
    count = len(p.shingles) + len(p.stems) + len(p.title_stems) + len(p.all_figures)
    assert len(data) == struct.calcsize("<BBBxIq5H") + 4 * count


def test_a_profile_holds_what_comparisons_need() -> None:
    p = story_profile.profile(*TEXT)
    assert p.negative  # "fails" in the title
    assert p.days == 1  # Monday only
    assert p.title_words == 8
    assert len(p.lead_figures) == 4  # 12, 13, 15 and "two", a number word
    assert p.lead_figures <= p.all_figures
    assert list(p.shingles) == sorted(set(story_profile.shingle_hashes(*TEXT)))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x01", b"\x02" + bytes(23), story_profile.encode(story_profile.profile(*TEXT))[:-1]],
    ids=["empty", "short", "other-version", "truncated"],
)
def test_anything_but_a_stored_profile_decodes_to_none(data: bytes) -> None:
    assert story_profile.decode(data) is None


def test_equal_long_titles_share_a_title_key_and_others_do_not() -> None:
    title = _words("libya s national oil corporation lifts force majeure at sharara")
    a = story_profile.profile(title, ("x",))
    b = story_profile.profile(title, ("y", "z"))
    c = story_profile.profile(title[:-1], ("x",))
    assert a.title_key == b.title_key != c.title_key


def test_the_matcher_decides_the_same_from_stored_profiles_and_from_text() -> None:
    wire = "Libya's crude oil production rose to 1.42 million barrels per day in October, the highest in a decade, the National Oil Corporation said on Sunday."  # noqa: E501
    first, second = dedup.key_entries(
        [
            ParsedEntry(guid="a", link=None, title="Libya oil output hits 11-year high",
                        summary=wire),
            ParsedEntry(guid="b", link=None, title="Libyan crude production at decade high",
                        summary="TRIPOLI - " + wire),
        ]
    )  # fmt: skip
    assert first.profile and second.profile
    stored = Candidate(1, 1, "a", "", "", "", _T, profile=first.profile)
    from_text = Candidate(1, 1, "a", first.entry.title, first.entry.summary, "", _T)
    matcher = dedup.StoryMatcher()
    a, b = matcher(second, [stored]), matcher(second, [from_text])
    assert a is not None and b is not None
    assert (a.score, a.reason) == (b.score, b.reason)
