"""Word shingles, MinHash signatures and LSH band keys. Pure, deterministic.

Everything here must give the same numbers in every process and every
release (band keys are stored), so nothing uses Python's salted hash():
shingles are hashed with CRC-32 and bands with BLAKE2b.
"""

from __future__ import annotations

import hashlib
import random
import re
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
    """The MinHash signature: per permutation, the smallest permuted hash."""
    hashes = [zlib.crc32(s.encode("utf-8", "surrogatepass")) for s in items]
    if not hashes:
        return ()
    return tuple(min((a * h + b) % _PRIME for h in hashes) for a, b in _PERMS)


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


def containment(a: frozenset[str], b: frozenset[str]) -> float:
    """How much of the smaller set is in the larger: a trimmed copy scores high."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def key_of(text: str) -> int:
    """A signed 64-bit key for a whole text, stored beside the band keys."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
