"""What comparing two story texts needs, computed once per entry and stored.

A profile is built where the entry is parsed (a worker process) and stored
with it as a few hundred bytes, so that re-scoring a similar-text candidate
reads numbers instead of re-folding, re-splitting and re-hashing its words on
the store's single thread. Every value is a CRC-32 or BLAKE2b digest, never
Python's salted hash(): profiles cross processes and releases.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator import minhash

# A title that says something did not happen is a different story from one
# that says it did, however many words they share.
_NEGATIVE = frozenset(
    """not no never fail fails failed failing reject rejects rejected deny denies denied
    cancel cancels cancelled canceled postpone postpones postponed suspend suspends suspended
    halt halts halted collapse collapses collapsed without refuse refuses refused""".split()  # noqa: SIM905
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_BITS = {day: 1 << i for i, day in enumerate(_WEEKDAYS)}
_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve second third fourth fifth
    sixth seventh eighth ninth tenth""".split()  # noqa: SIM905
)
_HAS_DIGIT = re.compile(r"\d")
STEM = 5  # letters compared of a title word ("Libya" is in "Libyan", "storm" in "stormed")

_VERSION = 1
# version, negative, weekday bits, title word count, title key, then how many
# shingles, stems, title stems, lead figures and other figures follow.
_HEADER = struct.Struct("<BBBxIq5H")
_BIG_ENDIAN = sys.byteorder == "big"
# 32-bit unsigned numbers: "I" is 4 bytes on every platform CPython supports,
# "L" on the rest.
_U32 = "I" if array("I").itemsize == 4 else "L"


@dataclass(frozen=True, slots=True)
class Profile:
    """Hash sets as sorted arrays of distinct numbers: a stored profile is read
    for every candidate and mostly looked at once, so building sets of its
    ~130 numbers would cost more than the comparisons (`in` on an array of
    60 is a short loop in C; the matcher builds a set of its own entry's)."""

    title_words: int
    title_key: int  # equal for word-for-word equal titles
    shingles: array[int]
    negative: bool
    days: int  # a bit per weekday named in the text
    lead_figures: frozenset[int]
    all_figures: frozenset[int]
    stems: array[int]
    title_stems: array[int]  # of the title's content words


def shingle_hashes(title: tuple[str, ...], lead: tuple[str, ...]) -> list[int]:
    """The 32-bit hashes MinHash signs (one per distinct shingle)."""
    shingles = minhash.shingles(minhash.words(" ".join(title + lead)))
    return [minhash.hash_of(s) for s in shingles]


def profile(
    title: tuple[str, ...], lead: tuple[str, ...], hashes: list[int] | None = None
) -> Profile:
    """The profile of folded title and lead words (`hashes`: their shingle_hashes)."""
    words = title + lead
    lead_figures = _figures(lead)
    return Profile(
        title_words=len(title),
        title_key=minhash.key_of("title:" + " ".join(title)),
        shingles=_numbers(shingle_hashes(title, lead) if hashes is None else hashes),
        negative=not _NEGATIVE.isdisjoint(title),
        days=sum(_WEEKDAY_BITS[day] for day in _WEEKDAY_BITS.keys() & set(words)),
        lead_figures=lead_figures,
        all_figures=lead_figures | _figures(title),
        stems=_stems(words),
        title_stems=_stems(minhash.words(" ".join(title))),
    )


def encode(p: Profile) -> bytes:
    title_figures = p.all_figures - p.lead_figures
    parts = (p.shingles, p.stems, p.title_stems, _numbers(p.lead_figures), _numbers(title_figures))
    numbers = array(_U32, [n for part in parts for n in part])
    if _BIG_ENDIAN:
        numbers.byteswap()
    header = _HEADER.pack(
        _VERSION, p.negative, p.days, p.title_words, p.title_key, *(len(x) for x in parts)
    )
    return header + numbers.tobytes()


def decode(data: bytes) -> Profile | None:
    """The profile encode() stored; None for anything else (another version, damage)."""
    try:
        version, negative, days, title_words, title_key, *counts = _HEADER.unpack_from(data)
    except struct.error:
        return None
    body = memoryview(data)[_HEADER.size :]
    if version != _VERSION or len(body) != 4 * sum(counts):
        return None
    numbers = array(_U32)
    numbers.frombytes(body)
    if _BIG_ENDIAN:
        numbers.byteswap()
    parts, at = [], 0
    for count in counts:
        parts.append(numbers[at : at + count])
        at += count
    shingles, stems, title_stems, lead_figures, title_figures = parts
    figures = frozenset(lead_figures)
    return Profile(
        title_words, title_key, shingles, bool(negative), days,
        figures, figures.union(title_figures), stems, title_stems,
    )  # fmt: skip


def _figures(words: Iterable[str]) -> frozenset[int]:
    return frozenset(
        minhash.hash_of(w) for w in words if w in _NUMBER_WORDS or _HAS_DIGIT.search(w) is not None
    )


def _stems(words: Iterable[str]) -> array[int]:
    return _numbers({minhash.hash_of(w[:STEM]) for w in words})


def _numbers(values: Iterable[int]) -> array[int]:
    """Distinct values, sorted: the stored form, and equal whenever the sets are."""
    return array(_U32, sorted(set(values)))
