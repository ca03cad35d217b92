"""minhash.signature against the formula it computes: signatures are stored (band keys
in SQLite), so the fast lane-wise version must give exactly the same numbers."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable

import pytest

from aggregator import dedup, minhash
from aggregator.errors import ParseError
from aggregator.parse import parse_feed
from benchmarks import synth
from tests.conftest import shared_dir
from tests.integration.test_corpus_parse import corpus_files

_PRIME = (1 << 61) - 1


def reference(items: Iterable[str]) -> tuple[int, ...]:
    """The definition (and the implementation until the lane-wise version)."""
    hashes = [zlib.crc32(s.encode("utf-8", "surrogatepass")) for s in items]
    if not hashes:
        return ()
    return tuple(min((a * h + b) % _PRIME for h in hashes) for a, b in minhash._PERMS)


def reference_of_hashes(hashes: list[int]) -> tuple[int, ...]:
    if not hashes:
        return ()
    return tuple(min((a * h + b) % _PRIME for h in hashes) for a, b in minhash._PERMS)


def test_signatures_and_band_keys_are_the_stored_ones() -> None:
    # Recorded with the release before the lane-wise version: stored band keys
    # must keep matching new entries.
    assert minhash._PERMS[0] == (1_471_002_074_426_579_430, 776_684_893_919_046_602)
    sig = minhash.signature(["a b c", "b c d"])
    assert sig[:3] == (243_308_735_012_861_631, 675_585_533_575_728_951, 683_901_879_135_354_293)
    assert minhash.band_keys(sig)[:2] == (-5_637_530_702_213_304_358, -4_941_982_199_617_062_042)


@pytest.mark.parametrize(
    "items",
    [
        [],
        [""],
        ["one"],
        ["a b c"],
        ["a b c", "a b c"],
        ["a b c", "b c d"],
        ["a b c", "b c d", "c d e"],
        ["été à paris", "北京 上海 广州", "🙂 emoji shingle", "\ud800 lone surrogate"],
        [f"w{i} w{i + 1} w{i + 2}" for i in range(25)],
        [f"w{i} w{i + 1} w{i + 2}" for i in range(500)],
    ],
)
def test_examples_match_the_formula(items: list[str]) -> None:
    assert minhash.signature(items) == reference(items)
    assert minhash.signature(iter(items)) == reference(items)


def test_random_shingle_sets_match_the_formula() -> None:
    rng = random.Random(8)
    alphabet = "abcdefghij éüßж中文🙂"
    for _ in range(2_000):
        items = {
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 20)))
            for _ in range(rng.randrange(0, 70))
        }
        assert minhash.signature(items) == reference(items), items


def test_random_and_extreme_hashes_match_the_formula() -> None:
    rng = random.Random(61)
    top = (1 << 32) - 1
    for hashes in ([0], [top], [0, top], [top, top, 0], [1, 2, 3], list(range(64))):
        assert minhash.signature_of_hashes(hashes) == reference_of_hashes(hashes)
    for _ in range(2_000):
        hashes = [rng.randrange(top + 1) for _ in range(rng.randrange(1, 80))]
        assert minhash.signature_of_hashes(hashes) == reference_of_hashes(hashes)


def test_reduction_below_the_prime_at_the_edges() -> None:
    # Lanes of exactly _PRIME or up to 2**33 above it come out of a fold about once in
    # 2**28 values: too rare to meet at random, so checked on chosen lanes.
    values = [0, 1, _PRIME - 1, _PRIME, _PRIME + 1, _PRIME + (1 << 33) - 1, 12345]
    values += [0] * (2 * minhash.PERMUTATIONS - len(values))
    packed = minhash._lanes(values, 64)
    reduced = minhash._below_prime(packed)
    assert [(reduced >> (64 * i)) & ((1 << 64) - 1) for i in range(len(values))] == [
        v % _PRIME for v in values
    ]


def test_lane_minimum() -> None:
    rng = random.Random(3)
    for _ in range(200):
        xs = [rng.choice([0, _PRIME - 1, rng.randrange(_PRIME)]) for _ in range(80)]
        ys = [rng.choice([0, _PRIME - 1, rng.randrange(_PRIME)]) for _ in range(80)]
        least = minhash._lane_min(minhash._lanes(xs, 64), minhash._lanes(ys, 64))
        assert [(least >> (64 * i)) & ((1 << 64) - 1) for i in range(80)] == list(map(min, xs, ys))


def _story_shingles(entries: Iterable[object]) -> list[frozenset[str]]:
    texts = [dedup.story_words(e) for e in entries]  # type: ignore[arg-type]
    return [minhash.shingles(minhash.words(" ".join(t.all))) for t in texts]


def test_benchmark_feeds_match_the_formula() -> None:
    pool = synth.text_pool()
    checked = 0
    for n in range(0, 60, 3):
        feed = parse_feed(synth.feed_document(n, pool), source_id="s", url=f"https://s{n}.example/")
        for shingles in _story_shingles(feed.entries):
            assert minhash.signature(shingles) == reference(shingles)
            checked += 1
    assert checked > 500


def test_corpus_matches_the_formula() -> None:
    corpus = shared_dir() / "corpus"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus is not present")
    checked = 0
    for path in corpus_files(corpus):
        try:
            feed = parse_feed(path.read_bytes(), source_id="c", url="https://corpus.example/")
        except ParseError:  # not a feed: the corpus has some on purpose
            continue
        for shingles in _story_shingles(feed.entries):
            assert minhash.signature(shingles) == reference(shingles), path
            checked += 1
    assert checked > 1_000
