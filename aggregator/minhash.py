"""Word shingles, MinHash signatures and LSH band keys. Pure, deterministic.

Everything here must give the same numbers in every process and every
release (band keys are stored), so nothing uses Python's salted hash():
shingles are hashed with CRC-32 and bands with BLAKE2b.
"""

from __future__ import annotations

import hashlib
import random
import re
import sys
import zlib
from collections.abc import Iterable, Sequence

SHINGLE = 3  # words per shingle
BANDS = 20
ROWS = 2  # MinHash values per band: a pair at Jaccard 0.3 shares a band with p = 0.85
PERMUTATIONS = BANDS * ROWS
_PRIME = (1 << 61) - 1
# A fixed seed: the permutations are part of the stored format.
_rng = random.Random(0x5EED_D0C5)
_PERMS = tuple((_rng.randrange(1, _PRIME), _rng.randrange(0, _PRIME)) for _ in range(PERMUTATIONS))
del _rng

_WORD = re.compile(r"\w+")
# Words that carry no story: dropping them keeps "the company said it" from
# making every business story a candidate for every other.
STOPWORDS = frozenset(
    """a an and are as at be been but by for from had has have he her his i in into is it its
    of on or our she that the their them they this to was we were which who will with would
    said says say told also after over about up out more than s""".split()  # noqa: SIM905
)


def words(text: str) -> list[str]:
    """Content words of already folded (lower-case, accent-free) text."""
    return [w for w in _WORD.findall(text) if w not in STOPWORDS]


def shingles(tokens: Sequence[str], size: int = SHINGLE) -> frozenset[str]:
    if len(tokens) < size:
        return frozenset({" ".join(tokens)}) if tokens else frozenset()
    return frozenset(" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


def signature(items: Iterable[str]) -> tuple[int, ...]:
    """The MinHash signature: per permutation, the smallest permuted hash,
    min((a * h + b) % _PRIME for h in hashes) for each (a, b) in _PERMS.

    Computed for all permutations at once, with one big int as a vector of fixed-width
    lanes, a lane per permutation: each +, *, & and >> is then one loop in C instead of
    40 steps of bytecode (about 3x faster than the formula above; numpy would be no
    faster for ~25 shingles and costs ~14 MB per worker process). The result is the
    formula's, exactly: tests/unit/test_minhash.py checks it against the formula.
    """
    return signature_of_hashes([hash_of(s) for s in items])


def hash_of(text: str) -> int:
    """The stable 32-bit hash of a shingle (or a word): CRC-32 of its UTF-8."""
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def signature_of_hashes(hashes: list[int]) -> tuple[int, ...]:
    """signature() of these 32-bit shingle hashes."""
    if not hashes:
        return ()
    if len(hashes) % 2:
        hashes = [*hashes, hashes[0]]  # a repeat changes no minimum
    rows = []
    for h1, h2 in zip(hashes[::2], hashes[1::2], strict=True):
        # Two shingles' values, each lane congruent to a * h + b: the first shingle's
        # in the even 64-bit lanes, the second's in the odd ones.
        rows.append(_below_prime(_fold(_A * h1 + _B) | (_fold(_A * h2 + _B) << 64)))
    while len(rows) > 1:
        pairs = [_lane_min(x, y) for x, y in zip(rows[::2], rows[1::2], strict=False)]
        rows = [*pairs, rows[-1]] if len(rows) % 2 else pairs
    least = _lane_min(rows[0] & _EVEN, (rows[0] >> 64) & _EVEN)
    return tuple(memoryview(least.to_bytes(16 * PERMUTATIONS, sys.byteorder)).cast("Q")[::2])


# signature()'s lanes. (a * h + b) < 2**94 needs 128-bit lanes; once reduced mod
# _PRIME (2**61 - 1) a value fits 64 bits, with bit 63 free for _lane_min's borrow.
def _lanes(values: Sequence[int], width: int) -> int:
    return sum(v << (width * i) for i, v in enumerate(values))


_A = _lanes([a for a, _ in _PERMS], 128)
_B = _lanes([b for _, b in _PERMS], 128)
_LOW61 = _lanes([_PRIME] * PERMUTATIONS, 128)
_LOW33 = _lanes([(1 << 33) - 1] * PERMUTATIONS, 128)
_EVEN = _lanes([(1 << 64) - 1] * PERMUTATIONS, 128)
_ONES = _lanes([1] * 2 * PERMUTATIONS, 64)
_TOP = _ONES << 63


def _fold(x: int) -> int:
    """128-bit lanes of x < 2**94, each folded to less than _PRIME + 2**33 and
    congruent mod _PRIME (2**61 = 1 mod _PRIME, so x = (x >> 61) + (x & _PRIME))."""
    return (x & _LOW61) + ((x >> 61) & _LOW33)


def _below_prime(x: int) -> int:
    """64-bit lanes of x, each below _PRIME + 2**33, reduced mod _PRIME."""
    over = ((x + _ONES) >> 61) & _ONES  # 1 in the lanes holding _PRIME or more
    return x - (over << 61) + over


def _lane_min(x: int, y: int) -> int:
    """The lane-wise minimum of two ints of 64-bit lanes, each lane below 2**63."""
    # Per lane x + 2**63 - y >= 0: no borrow crosses lanes, and bit 63 stays set
    # exactly where x >= y; it is widened into a mask of those lanes.
    x_ge_y = (((x | _TOP) - y) & _TOP) >> 63
    return x ^ ((x ^ y) & ((x_ge_y << 64) - x_ge_y))


def band_keys(sig: Sequence[int]) -> tuple[int, ...]:
    """One signed 64-bit key per band (SQLite's INTEGER); the band number is
    hashed in, so equal values in different bands do not collide."""
    if len(sig) != PERMUTATIONS:
        return ()
    keys = []
    for band in range(BANDS):
        rows = sig[band * ROWS : (band + 1) * ROWS]
        keys.append(key_of(f"{band}:{','.join(map(str, rows))}"))
    return tuple(keys)


def key_of(text: str) -> int:
    """A signed 64-bit key for a whole text, stored beside the band keys."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
