"""Entry identity and canonical URLs. Pure: data in, data out.

An entry's key within its source is its raw guid when it has one that no
other item of its document has (never the guid feedparser resolved against the
feed URL, so a moved feed re-announces nothing), else its canonical link, else
a fingerprint of its text.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator import minhash, story_profile
from aggregator.models import Candidate, NewEntry, ParsedEntry, Similar
from aggregator.story_profile import Profile
from aggregator.textfold import fold

# Query parameters that identify a click, not a document.
_TRACKING_PREFIXES = (
    "utm_", "mtm_", "pk_", "hsa_", "vero_", "ns_", "itm_", "stm_", "wt_", "oly_", "cm_mmc", "__hs",
)  # fmt: skip
_TRACKING_NAMES = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "ncid", "cmpid", "sr_share",
        "ref_src", "ref_url", "at_medium", "at_campaign", "spm",
        # Publishers' own campaign and share tags, and AMP caches' markers.
        "ocid", "icid", "cmp", "smid", "emc", "partner", "xtor", "guccounter", "guce_referrer",
        "guce_referrer_sig", "soc_src", "soc_trk", "fb_action_ids", "fb_action_types",
        "fb_source", "fb_ref", "action_object_map", "action_type_map", "action_ref_map",
        "__twitter_impression", "trk", "trkcampaign", "sc_campaign", "sc_channel", "usqp",
        "amp", "_amp", "amp_js_v", "amp_gsa", "outputtype", "wt.mc_id", "wt.mc_ev", "sref",
        "taid", "mbid", "cid_source",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]*>")


def canonical_url(url: str | None) -> str | None:
    """The form two links to the same article share; None for a non-http(s) URL.

    Lower-cased scheme and host, no `www.`, no default port, no fragment, no
    tracking parameters, remaining parameters sorted, no trailing slash on a
    path, and the page rather than its AMP version (amp. hosts, /amp path
    segments, .amp.html, ?amp, Google's AMP cache).
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if host.endswith(_AMP_CACHE) and (cached := _from_amp_cache(parts.path)) is not None:
        return canonical_url(cached)
    if host.startswith(("amp.", "www.")) and host.count(".") >= 2:
        host = host[4:]
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" if port in (None, _DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    path = _without_amp(parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


_MOBILE_HOSTS = ("m.", "mobile.")


def join_url(canonical: str | None) -> str | None:
    """The form the URL join of stories compares: the canonical URL without its
    scheme, and the desktop host for a mobile one (m., mobile.), so that outlets
    linking http or https, desktop or mobile, share a story. Not a key: keys and
    stored rows keep canonical_url (migration 14 derives this form from it in SQL,
    the same way)."""
    if canonical is None:
        return None
    rest = canonical.split("://", 1)[-1]
    host, slash, path = rest.partition("/")
    if host.startswith(_MOBILE_HOSTS) and host.count(".") >= 2:
        host = host.partition(".")[2]
    return host + slash + path


_AMP_CACHE = ".cdn.ampproject.org"
_AMP_SUFFIX = re.compile(r"\.amp(?=\.html?$)|\.amp$", re.IGNORECASE)


def _from_amp_cache(path: str) -> str | None:
    """Google's AMP cache serves https://example.com/a as
    https://example-com.cdn.ampproject.org/c/s/example.com/a."""
    parts = path.split("/", 4)  # "", "c", "s", host, rest
    if len(parts) < 4 or parts[1] not in ("c", "v", "i"):
        return None
    if parts[2] == "s":
        rest = "/".join(parts[3:])
        return f"https://{rest}"
    return "http://" + "/".join(parts[2:])


def _without_amp(path: str) -> str:
    """/amp/a, /a/amp, /a/amp/ and /a.amp.html all name the page /a(.html)."""
    segments = path.split("/")
    kept = [s for s in segments if s.lower() != "amp"]
    if len(kept) != len(segments):
        path = "/".join(kept) if len(kept) > 1 else "/"
    return _AMP_SUFFIX.sub("", path)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


def content_hash(entry: ParsedEntry) -> str:
    """Changes when anything a reader would see changes; used to detect edits."""
    h = hashlib.sha256()
    for part in (
        entry.title,
        entry.link or "",
        entry.summary,
        entry.content,
        "\x1f".join(entry.authors),
        "\x1f".join(entry.categories),
        "\x1f".join(f"{e.url} {e.type} {e.length}" for e in entry.enclosures),
        entry.updated.isoformat() if entry.updated else "",
        entry.published.isoformat() if entry.published else "",
    ):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def text_fingerprint(entry: ParsedEntry) -> str:
    """Identity of an entry that has neither guid nor link: its visible text."""
    text = " ".join((entry.title, _TAG.sub(" ", entry.summary or entry.content)))
    normal = _SPACE.sub(" ", text).strip().casefold()
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def entry_key(entry: ParsedEntry) -> str:
    return _key(entry, canonical_url(entry.link), guid_of(entry))


def key_entries(entries: Iterable[ParsedEntry], *, home: str | None = None) -> list[NewEntry]:
    """Keys for one document's entries, unique within it, in document order.

    A guid that several texts of one document carry (a feed that gives every
    item its home page, or a constant) is not an identity: every item carrying
    it is keyed by its link, else its text, whatever its position; an exact
    repeat is dropped. A link that several entries share, or the feed's home
    page `home`, does not identify an article: it is neither a key nor a reason
    to join a story.
    """
    entries = list(entries)
    canonicals = [canonical_url(e.link) for e in entries]
    links = Counter(canonicals)
    shared = {url for url, n in links.items() if n > 1}
    if (home_url := canonical_url(home)) is not None:
        shared.add(home_url)
    fingerprints = [text_fingerprint(e) for e in entries]
    repeated = _repeated_guids(entries, fingerprints)
    out: list[NewEntry] = []
    seen: set[tuple[str, str]] = set()
    for entry, canonical, fingerprint in zip(entries, canonicals, fingerprints, strict=True):
        if canonical in shared:
            canonical = None
        guid = guid_of(entry)
        identity = None if guid in repeated else guid
        key = _key(entry, canonical, identity)
        if (key, fingerprint) in seen:
            continue
        seen.add((key, fingerprint))
        earlier: tuple[str, ...] = ()
        bare = None
        if guid is not None and identity is None:
            earlier, bare = _earlier_keys(guid, fingerprint)
        lead = story_words(entry)
        hashes = story_profile.shingle_hashes(lead.title, lead.lead)
        out.append(
            NewEntry(
                key=key,
                canonical_url=canonical,
                join_url=join_url(canonical),
                content_hash=content_hash(entry),
                entry=entry,
                aliases=aliases(entry, canonical, guid=identity),
                fingerprint=story_fingerprint(lead),
                bands=story_bands(lead, hashes),
                profile=story_profile.encode(story_profile.profile(lead.title, lead.lead, hashes)),
                earlier_keys=earlier,
                bare_guid_key=bare,
            )
        )
    return out


def guid_of(entry: ParsedEntry) -> str | None:
    return (entry.guid or "").strip() or None


def _repeated_guids(entries: Sequence[ParsedEntry], fingerprints: Sequence[str]) -> set[str]:
    """Guids that items with different texts carry (one item repeated is not two)."""
    texts: dict[str, set[str]] = {}
    for entry, fingerprint in zip(entries, fingerprints, strict=True):
        if (guid := guid_of(entry)) is not None:
            texts.setdefault(guid, set()).add(fingerprint)
    return {guid for guid, found in texts.items() if len(found) > 1}


def _earlier_keys(guid: str, fingerprint: str) -> tuple[tuple[str, ...], str]:
    """Where earlier releases stored an item of a repeated guid: each item after
    the first in the document under the guid and its text's fingerprint (a name of
    this item whatever its position), the first under the bare guid."""
    return (f"guid:{guid}#{fingerprint[:16]}",), f"guid:{guid}"


def _key(entry: ParsedEntry, canonical: str | None, guid: str | None) -> str:
    if guid:
        return "guid:" + guid
    if canonical:
        return "link:" + canonical
    return "text:" + text_fingerprint(entry)


# -- identity across guid scheme changes and moved feeds ---------------------

_MIN_ALIAS_WORDS = 3


def aliases(entry: ParsedEntry, canonical: str | None, *, guid: str | None) -> tuple[str, ...]:
    """Names under which an earlier copy of this entry may be stored in the same source.

    `canonical` and `guid` are the entry's link and guid when they identify it in
    its document (None when shared with other items).

    Each is specific enough on its own to name one entry of one source:
    - `gid:` the guid as a URL without scheme or `www.` (http -> https);
    - `gpath:` the guid's path or tag-URI specific part, with the title
      (host renamed, absolute <-> relative guid: the title vouches for it);
    - `link:` the article's canonical link without scheme, with the title
      (a new guid scheme on the same permalinks);
    - `text:` a fingerprint of the whole text (a re-sent copy under a new guid).
    """
    title = fold(entry.title)
    out: list[str] = []
    if guid:
        host, path = _guid_parts(guid)
        if host is not None and path:
            out.append(f"gid:{host}/{path}")
        if path and title:
            out.append(f"gpath:{path}\x1f{title}")
    if canonical and title:
        out.append("link:" + canonical.split("://", 1)[-1] + "\x1f" + title)
    if len(_WORD.findall(fold(entry.title + " " + _body(entry)))) >= _MIN_ALIAS_WORDS:
        out.append("text:" + text_fingerprint(entry))
    return tuple(out)


def _guid_parts(guid: str) -> tuple[str | None, str]:
    """(host without www., path?query without leading slash) of a URL-like guid;
    host is None for a relative guid. A tag: URI gives its specific part."""
    if guid.lower().startswith("tag:"):
        _, _, specific = guid[4:].partition(":")
        return None, specific.strip("/")
    try:
        parts = urlsplit(guid)
    except ValueError:
        return None, ""
    scheme = parts.scheme.lower()
    if scheme in _DEFAULT_PORTS and parts.hostname:
        host = parts.hostname.rstrip(".").removeprefix("www.")
    elif not scheme and not parts.netloc:
        host = None
    else:
        return None, ""  # urn:, mailto: and the like: the key already says it all
    path = parts.path.strip("/")
    if parts.query:
        path += "?" + parts.query
    return host, path


# -- stories across sources -------------------------------------------------

LEAD_WORDS = 60  # how much of the text, after the title, says what the story is
_MIN_FINGERPRINT_WORDS = 8
_MIN_SHINGLES = 8
_WORD = re.compile(r"\w+")


def _body(entry: ParsedEntry) -> str:
    return entry.summary or entry.content


@dataclass(frozen=True, slots=True)
class StoryText:
    """What identifies a story in an entry: title words and the lead's first words."""

    title: tuple[str, ...]
    lead: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.title + self.lead


def story_words(entry: ParsedEntry | Candidate) -> StoryText:
    if isinstance(entry, Candidate) and entry.story is not None:
        return read_story_line(entry.story)
    body = entry.summary or entry.content
    return StoryText(
        tuple(_WORD.findall(fold(entry.title))),
        tuple(_WORD.findall(fold(body)))[:LEAD_WORDS],
    )


def story_line(text: StoryText) -> str:
    """The form releases with schema 7-10 stored a StoryText in (`story_words`;
    words are \\w+: no spaces, no separators). Entries are stored with a profile
    now; read_story_line reads the older ones."""
    return " ".join(text.title) + "\x1f" + " ".join(text.lead)


def read_story_line(line: str) -> StoryText:
    title, _, lead = line.partition("\x1f")
    return StoryText(tuple(title.split()), tuple(lead.split()))


def story_fingerprint(text: StoryText) -> str | None:
    """Equal for the same title and opening, whatever the markup, case or accents."""
    if len(text.all) < _MIN_FINGERPRINT_WORDS:
        return None
    normal = " ".join(text.title) + "\x1f" + " ".join(text.lead)
    return hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def story_bands(text: StoryText, hashes: list[int] | None = None) -> tuple[int, ...]:
    """LSH band keys, plus one for a long headline (outlets that write their
    own text under the wire's headline); () for a text too short to compare.
    `hashes`: the text's story_profile.shingle_hashes, when already computed."""
    if hashes is None:
        hashes = story_profile.shingle_hashes(text.title, text.lead)
    keys: tuple[int, ...] = ()
    if len(hashes) >= _MIN_SHINGLES:
        keys = minhash.band_keys(minhash.signature_of_hashes(hashes))
    if len(text.title) >= TITLE_WORDS:
        keys += (minhash.key_of("title:" + " ".join(text.title)),)
    return keys


# -- near duplicates ----------------------------------------------------------

DEFAULT_THRESHOLD = 0.6
# Short formulaic items (dividend notices, rate changes, price tables) differ
# only in a name or a figure: similarity alone never joins texts sharing fewer
# shingles than this (an identical text still joins by fingerprint).
MIN_SHARED_SHINGLES = 12
# Below this many shingles a text is formulaic enough that a word in each
# title missing from the other text (another company, fund, bank or hour)
# means another story.
SHORT_TEXT_SHINGLES = 30
_MIN_SHARED_FIGURES = 0.8
# A headline this long, word for word the same, names one story (within the
# window, and unless the texts contradict each other).
TITLE_WORDS = 10


def similarity(shared: int, a: Collection[int], b: Collection[int]) -> float:
    """How much of the shorter text's shingles (`shared` of them in common) the
    other has (containment): a trimmed or extended copy of wire text scores
    high, a re-titled one too."""
    if not a or not b:
        return 0.0
    return shared / min(len(a), len(b))


# A popular story is a candidate for every later copy of it: the profile of an
# entry stored before profiles were is looked up, not rebuilt, each time.
@functools.lru_cache(maxsize=4_096)
def _profile_of_line(line: str) -> Profile:
    return _profile(read_story_line(line))


def _profile(text: StoryText) -> Profile:
    return story_profile.profile(text.title, text.lead)


def _candidate_profile(candidate: Candidate) -> Profile:
    if candidate.profile is not None and (found := story_profile.decode(candidate.profile)):
        return found
    if candidate.story is not None:
        return _profile_of_line(candidate.story)
    return _profile(story_words(candidate))


def contradicts(a: StoryText, b: StoryText) -> bool:
    """Two texts that cannot report the same event, whatever their overlap:
    one title negates what the other reports, they name different days, or
    they give mostly different figures (a quarter's results, another toll)."""
    return _contradicts(_profile(a), _profile(b))


def _contradicts(a: Profile, b: Profile) -> bool:
    if a.negative != b.negative:
        return True
    if a.days and b.days and not a.days & b.days:
        return True
    # Leads first: a re-titled copy rephrases the figures of its title, not of its text.
    figures_a, figures_b = a.lead_figures, b.lead_figures
    if not figures_a or not figures_b:
        figures_a, figures_b = a.all_figures, b.all_figures
    if not figures_a or not figures_b:
        return False
    return len(figures_a & figures_b) / min(len(figures_a), len(figures_b)) < _MIN_SHARED_FIGURES


def _titles_diverge(a: Profile, b: Profile) -> bool:
    """Each title has a word the other text does not have at all (compared by
    their first five letters, so "Libya" is in "Libyan", "storm" in "stormed")."""
    return any(w not in b.stems for w in a.title_stems) and any(
        w not in a.stems for w in b.title_stems
    )


@dataclass(frozen=True, slots=True)
class StoryMatcher:
    """Decides which LSH candidate, if any, a new entry's story is.

    Candidates are re-scored exactly (LSH only finds them); the best one at or
    above the threshold wins, the earliest stored on a tie.
    """

    threshold: float = DEFAULT_THRESHOLD

    def __call__(self, item: NewEntry, candidates: Sequence[Candidate]) -> Similar | None:
        mine = story_profile.decode(item.profile) if item.profile else None
        if mine is None:
            mine = _profile(story_words(item.entry))
        shingles = frozenset(mine.shingles)
        best: Similar | None = None
        for candidate in sorted(candidates, key=lambda c: c.entry_id):
            theirs = _candidate_profile(candidate)
            if _contradicts(mine, theirs):
                continue
            shared = len(shingles.intersection(theirs.shingles))
            score = similarity(shared, mine.shingles, theirs.shingles)
            if mine.title_words >= TITLE_WORDS and mine.title_key == theirs.title_key:
                found = Similar(candidate, score, "title")
            elif self._alike(mine, theirs, score, shared):
                found = Similar(candidate, score)
            else:
                continue
            if best is None or found.score > best.score:
                best = found
        return best

    def _alike(self, mine: Profile, theirs: Profile, score: float, shared: int) -> bool:
        if score < self.threshold or shared < MIN_SHARED_SHINGLES:
            return False
        short = min(len(mine.shingles), len(theirs.shingles)) < SHORT_TEXT_SHINGLES
        return not (short and _titles_diverge(mine, theirs))
